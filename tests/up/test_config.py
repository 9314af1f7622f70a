"""`hashforge up` settings: --config TOML < HASHFORGE_UP_* < flags given; a bad value is one line naming
its source, exit 2, and nothing is started or written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hashforge.cli import app
from hashforge.settings import load
from hashforge.up.config import UpSettings
from hashforge.up.litecoin import AttachedNode


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


def test_litecoin_keys_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Litecoin flags are settings too: --aux is `aux`, --node-rpc `node_rpc`, ... in the file and
    HASHFORGE_UP_AUX, HASHFORGE_UP_NODE_RPC, ... in the environment, with the same precedence."""
    cookie = tmp_path / "litecoind.cookie"
    cookie.write_text("u:p\n")
    f = tmp_path / "up.toml"
    f.write_text(f'network = "litecoin-regtest"\naux = "none"\nnode_rpc = "http://127.0.0.1:19443/"\n'
                 f'node-cookie = "{cookie}"\nbin_dir = "~/daemons"\n')
    setup = load(UpSettings, f).litecoin_setup()
    assert setup.aux is None and setup.bin_dir == Path.home() / "daemons"
    assert setup.node == AttachedNode("http://127.0.0.1:19443/", cookie) and setup.aux_node is None
    monkeypatch.setenv("HASHFORGE_UP_AUX", "auto")
    monkeypatch.setenv("HASHFORGE_UP_AUX_RPC_PORT", "20000")
    monkeypatch.setenv("HASHFORGE_UP_AUX_RPC", "http://hf:hf@127.0.0.1:19444/")
    setup = load(UpSettings, f).litecoin_setup()
    assert (setup.aux.name if setup.aux else None, setup.aux_rpc_port) == ("dogecoin-regtest", 20000)
    assert setup.aux_node == AttachedNode("http://hf:hf@127.0.0.1:19444/")
    s = load(UpSettings, f, {"aux_rpc_port": (20001, "--aux-rpc-port"), "aux": ("dogecoin-regtest", "--aux")})
    assert (s.aux, s.litecoin_setup().aux_rpc_port) == ("dogecoin-regtest", 20001)


@pytest.mark.parametrize(("toml", "env", "args", "line"), [
    ('aux_address = "x"\n', {}, [], "bad configuration: {f}:aux_address: --aux-address is for Litecoin networks "
     "(litecoin, litecoin-testnet4, litecoin-regtest), not devnet"),
    ('network = "litecoin-regtest"\naux = "regtest"\n', {}, [], "bad configuration: {f}:aux: regtest is not a "
     "merge-mined (AuxPoW) network"),
    ('network = "litecoin-regtest"\naux_rpc_port = 70000\n', {}, [], "{f}:aux_rpc_port must be 1..65535, not 70000"),
    ('network = "litecoin-regtest"\nreplay-blocks = "missing.hex"\n', {}, [], "bad configuration: "
     "{f}:replay_blocks: --replay-blocks missing.hex: no such file"),
    ('network = "litecoin-regtest"\n', {"HASHFORGE_UP_AUX_RPC": "http://127.0.0.1:1/"}, [], "bad configuration: "
     "HASHFORGE_UP_AUX_RPC: --aux-rpc needs the credentials in the URL"),
    ('network = "litecoin-regtest"\n', {"HASHFORGE_UP_NODE_RPC": "http://u:short@10.0.0.5:19332/"}, [],
     "bad configuration: HASHFORGE_UP_NODE_RPC: RPC off loopback ('10.0.0.5') needs a user and a password of 16+ "
     "characters"),
    ('network = "litecoin-regtest"\naux = "none"\n', {}, ["--aux-rpc", "http://hf:hf@192.168.1.2:22555/"],
     "bad configuration: --aux-rpc: --aux-rpc needs an aux chain (aux is none)"),
    ('network = "litecoin-regtest"\n', {}, ["--aux-rpc", "http://hf:hf@192.168.1.2:22555/"],
     "bad configuration: --aux-rpc: RPC off loopback ('192.168.1.2')"),
])
def test_bad_litecoin_values_name_their_source(tmp_path: Path, toml: str, env: dict[str, str], args: list[str],
                                               line: str) -> None:
    f = tmp_path / "up.toml"
    f.write_text(toml)
    code, lines = run_up(tmp_path, "--config", str(f), *args, env=env)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: " + line.format(f=f)), lines
    assert not (tmp_path / "up").exists()
