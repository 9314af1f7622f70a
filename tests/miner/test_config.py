"""The miner's settings: miner.toml < HASHFORGE_MINER_* < flags; a bad or unsafe value is one line naming
its source, exit 2, before any device or socket is opened."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hashforge.cli import app
from hashforge.miner.config import build_config
from hashforge.miner.pools import Strategy


def test_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "miner.toml"
    f.write_text('algo = "scrypt"\nthreads = 2\nmax-load = 40\nlog_interval = 7\ndevice = "cpu"\n'
                 'strategy = "rotate"\n[[pools]]\nurl = "stratum+tcp://a:1"\npass = "pw"\n')
    cfg = build_config(f)
    assert (cfg.algo, cfg.threads, cfg.max_load, cfg.log_interval, cfg.devices, cfg.strategy) == (
        "scrypt", 2, 40.0, 7.0, ("cpu",), Strategy.ROUND_ROBIN)
    assert cfg.pools[0].password == "pw"
    monkeypatch.setenv("HASHFORGE_MINER_THREADS", "3")
    monkeypatch.setenv("HASHFORGE_MINER_MAX_LOAD", "50")
    monkeypatch.setenv("HASHFORGE_MINER_API_ALLOW", '["W:127.0.0.1"]')
    cfg = build_config(f, max_load=60.0)
    assert (cfg.algo, cfg.threads, cfg.max_load, cfg.api_allow) == ("scrypt", 3, 60.0, ("W:127.0.0.1",))


def run_mine(*args: str, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["mine", *args], env=env)
    return result.exit_code, result.stderr.strip().splitlines()


@pytest.mark.parametrize(("toml", "env", "args", "line"), [
    ("threads = true\n", {}, [], "bad configuration: {f}:threads: must be a number, not true"),
    ('intensity = "lots"\n', {}, [], "bad configuration: {f}:intensity: Input should be a valid integer, unable to "
     "parse string as an integer (got 'lots')"),
    ("bogus = 1\n", {}, [], "bad configuration: {f}:bogus: unknown setting"),
    ("[[pools]]\nuser = \"u\"\n", {}, [], "bad configuration: {f}:pools: each [[pools]] entry needs a url"),
    ("[solo]\naddress = \"a\"\n", {}, [], "bad configuration: {f}:solo: [solo] needs node_rpc and address"),
    ("", {"HASHFORGE_MINER_LOOKUP_GAP": "2048"}, [], "HASHFORGE_MINER_LOOKUP_GAP must be in 1..1024, not 2048"),
    ("", {"HASHFORGE_MINER_QUIET": "sometimes"}, [], "bad configuration: HASHFORGE_MINER_QUIET: Input should be a "
     "valid boolean, unable to interpret input (got 'sometimes')"),
    ("", {}, ["--threads", "0"], "--threads must be 1 or more, not 0"),
    ("", {}, ["--max-load", "101"], "--max-load must be in 1..100 percent, not 101.0"),
    ("", {}, ["--algo", "x11"], "bad configuration: --algo: unknown algorithm 'x11' (choose from"),
    ("", {}, ["--strategy", "random"], "bad configuration: --strategy: unknown strategy 'random'"),
    # unsafe: the cgminer API has no password, so control from anywhere off this machine is refused
    ("", {}, ["--api-listen", "0.0.0.0:4028", "--api-allow", "W:0/0"], "bad configuration: --api-allow: the miner "
     "API on 0.0.0.0, off loopback, would let 0.0.0.0/0 control the miner with no password"),
    ('api_listen = "0.0.0.0:4028"\napi_allow = "R:0/0,W:8.8.8.0/24"\n', {}, [], "bad configuration: {f}:api_allow: "
     "the miner API on 0.0.0.0, off loopback, would let 8.8.8.0/24 control"),
    # the node's own rule for its password (hashforge.settings.remote_rpc_refusal)
    ("", {}, ["-o", "http://u:short@10.0.0.5:8332", "--address", "bcrt1qxyz"], "RPC off loopback ('10.0.0.5') "
     "needs a user and a password of 16+ characters"),
])
def test_bad_and_unsafe_values_name_their_source(tmp_path: Path, toml: str, env: dict[str, str], args: list[str],
                                                 line: str) -> None:
    f = tmp_path / "miner.toml"
    f.write_text(toml + "benchmark = true\n")
    code, lines = run_mine("--config", str(f), *args, env=env)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: " + line.format(f=f)), lines


def test_reads_from_anywhere_and_control_from_private_networks_are_allowed() -> None:
    cfg = build_config(None, benchmark=True, api_listen="0.0.0.0:4028", api_allow=["R:0/0,W:10.0.0.0/8"])
    assert cfg.api_allow == ("R:0/0", "W:10.0.0.0/8")
