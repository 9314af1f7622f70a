"""`hashforge up` settings: --config TOML < HASHFORGE_UP_* < flags given; a bad value is one line naming
its source, exit 2, and nothing is started or written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hashforge.cli import app
from hashforge.settings import load
from hashforge.up.config import UpSettings


def run_up(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["up", "--datadir", str(tmp_path / "up"), *args], env=env)
    return result.exit_code, result.stderr.strip().splitlines()


def test_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "up.toml"
    f.write_text('network = "regtest"\nstratum_port = 4000\napi_port = 9000\nminer = false\nscheme = "pplns"\n'
                 'log-max-mb = 1.5\n')
    s = load(UpSettings, f)
    assert (s.network, s.stratum_port, s.api_port, s.miner, s.scheme, s.log_max_mb) == (
        "regtest", 4000, 9000, False, "pplns", 1.5)
    assert s.ports.rpc == 18443  # the network's when not set
    monkeypatch.setenv("HASHFORGE_UP_STRATUM_PORT", "4001")
    monkeypatch.setenv("HASHFORGE_UP_API_PORT", "9001")
    s = load(UpSettings, f, {"api_port": (9002, "--api-port")})
    assert (s.stratum_port, s.api_port, s.scheme) == (4001, 9002, "pplns")


def test_each_source_is_named_and_a_flag_at_its_default_overrides_nothing(tmp_path: Path) -> None:
    f = tmp_path / "up.toml"
    f.write_text("ws_port = 0\n")
    assert run_up(tmp_path, "--config", str(f)) == (2, [f"error: {f}:ws_port must be 1..65535, not 0"])
    env = {"HASHFORGE_UP_WS_PORT": "70000"}
    assert run_up(tmp_path, "--config", str(f), env=env) == (
        2, ["error: HASHFORGE_UP_WS_PORT must be 1..65535, not 70000"])
    # the flag wins over both; the next bad setting (in field order) is what stops the run
    assert run_up(tmp_path, "--config", str(f), "--ws-port", "8999", "--scheme", "fpps", env=env) == (
        2, ["error: --scheme must be solo, pplns, pps or prop, not 'fpps'"])
    # --api-port's default (8420) does not undo the file's api_port
    f.write_text("api_port = 8421\n")
    assert run_up(tmp_path, "--config", str(f)) == (2, [
        f"error: bad configuration: {f}:api_port: api_port and pool_api_port are both port 8421: each part needs "
        "its own"])
    assert not (tmp_path / "up").exists()


@pytest.mark.parametrize(("toml", "env", "args", "line"), [
    ('stratum_port = "x"\n', {}, [], "bad configuration: {f}:stratum_port: Input should be a valid integer, unable "
     "to parse string as an integer (got 'x')"),
    ("miner = 2\n", {}, [], "bad configuration: {f}:miner: Input should be a valid boolean, unable to interpret "
     "input (got 2)"),
    ("restart_max = 0\n", {}, [], "{f}:restart_max must be at least 1"),
    ("miner_port = 1\n", {}, [], "bad configuration: {f}:miner_port: unknown setting"),
    ("", {"HASHFORGE_UP_THREADS": "0"}, [], "HASHFORGE_UP_THREADS must be at least 1"),
    ("", {"HASHFORGE_UP_NETWORK": "moon"}, [], "bad configuration: HASHFORGE_UP_NETWORK: unknown network 'moon'"),
    ("", {}, ["--stratum-port", "4028"], "bad configuration: --stratum-port: stratum_port and miner_api_port are "
     "both port 4028: each part needs its own"),
    ("", {}, ["--restart-window", "0"], "--restart-window must be more than 0 and at most a year (seconds)"),
])
def test_bad_values(tmp_path: Path, toml: str, env: dict[str, str], args: list[str], line: str) -> None:
    f = tmp_path / "up.toml"
    f.write_text(toml)
    code, lines = run_up(tmp_path, "--config", str(f), *args, env=env)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: " + line.format(f=f)), lines
    assert not (tmp_path / "up").exists()


def test_a_port_shared_with_the_miner_is_fine_without_the_miner() -> None:
    assert load(UpSettings, None, {"stratum_port": (4028, "--stratum-port"), "miner": (False, "--no-miner")}).ports
