"""The node's settings: node.toml (or its [node] table) < HASHFORGE_NODE_* < flags; bad or unsafe values
are one line and exit 2 before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hashforge.cli import app
from hashforge.node.chain import parse_minimum_chain_work
from hashforge.node.config import NodeConfig, NodeSettings
from hashforge.settings import SettingsError, load


def run_node(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["node", *args])
    return result.exit_code, result.stderr.strip().splitlines()


def test_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "node.toml"
    f.write_text('[node]\nnetwork = "devnet"\nrpc_threads = 4\nrpc_work_queue = 5\ndatadir = "~/x"\n'
                 'connect = ["127.0.0.1:1"]\n[node.extra]\np2p_ping_interval = 2\n')
    cfg = load(NodeSettings, f, table="node").config()
    assert isinstance(cfg, NodeConfig)
    assert (cfg.network, cfg.rpc_threads, cfg.rpc_work_queue, cfg.connect) == ("devnet", 4, 5, ["127.0.0.1:1"])
    assert cfg.datadir == Path.home() / "x" and cfg.extra == {"p2p_ping_interval": 2}
    monkeypatch.setenv("HASHFORGE_NODE_RPC_THREADS", "6")
    monkeypatch.setenv("HASHFORGE_NODE_RPC_WORK_QUEUE", "7")
    cfg = load(NodeSettings, f, {"rpc_work_queue": (8, "--rpcworkqueue")}, table="node").config()
    assert (cfg.network, cfg.rpc_threads, cfg.rpc_work_queue) == ("devnet", 6, 8)
    assert NodeConfig.from_toml(f, rpc_threads=9, rpc_port=None).rpc_threads == 9  # the Python entry point


def test_a_flag_left_at_its_default_overrides_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "node.toml"
    f.write_text('network = "litecoin"\n')  # --network's default (regtest) must not undo the file
    assert run_node("--config", str(f)) == (2, [
        "error: hashforge node is a Bitcoin node; for litecoin run its own node (LTC: litecoind) "
        "and point hashforge pool at its RPC, or let `hashforge up --network litecoin...` run it"])
    monkeypatch.setenv("HASHFORGE_NODE_NETWORK", "dogecoin")
    assert "for dogecoin run its own node" in run_node("--config", str(f))[1][0]
    # a flag given wins over both: the next bad value is what stops it
    assert run_node("--config", str(f), "--network", "regtest", "--rpcthreads", "0") == (
        2, ["error: --rpcthreads must be 1 or more, not 0"])


@pytest.mark.parametrize(("toml", "env", "line"), [
    ('rpc_threads = "many"\n', {}, "bad configuration: {f}:rpc_threads: Input should be a valid integer, "
     "unable to parse string as an integer (got 'many')"),
    ("[node]\nlisten = 3\n", {}, "bad configuration: {f}:listen: Input should be a valid boolean, unable to interpret input (got 3)"),
    ("rpcthreads = 4\n", {}, "bad configuration: {f}:rpcthreads: unknown setting"),
    ("", {"HASHFORGE_NODE_DBCACHE_MIB": "lots"}, "bad configuration: HASHFORGE_NODE_DBCACHE_MIB: Input should be "
     "a valid integer, unable to parse string as an integer (got 'lots')"),
    ("", {"HASHFORGE_NODE_MAX_CONNECTIONS": "-1"}, "HASHFORGE_NODE_MAX_CONNECTIONS must be 0 or more, not -1"),
    ("max_mempool_mb = 0\n", {}, "{f}:max_mempool_mb must be 1 or more, not 0"),
    ('rpc_host = "0.0.0.0"\n', {}, "bad configuration: {f}:rpc_host: RPC off loopback ('0.0.0.0') needs a user "
     "and a password of 16+ characters (the cookie is readable only on the node's machine)"),
])
def test_bad_values_in_the_file_or_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str,
                                               env: dict[str, str], line: str) -> None:
    f = tmp_path / "node.toml"
    f.write_text(toml)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert run_node("--config", str(f), "--datadir", str(tmp_path)) == (2, ["error: " + line.format(f=f)])


@pytest.mark.parametrize(("args", "line"), [
    (["--rpc-port", "70000"], "--rpc-port must be 0..65535, not 70000"),
    (["--port", "0"], "--port must be 1..65535, not 0"),
    (["--maxconnections", "-1"], "--maxconnections must be 0 or more, not -1"),
    (["--script-workers", "fibers"], "bad configuration: --script-workers: Input should be 'inline', 'thread' or 'process' "
     "(got 'fibers')"),
    (["--rpc-user", "u"], "bad configuration: --rpc-user: RPC user and password go together (--rpc-user, "
     "--rpc-password)"),
    (["--assumevalid", "00ff"], "bad configuration: --assumevalid: assumevalid must be a 64-digit block hash or 0, "
     "not '00ff'"),
    (["--minimumchainwork", "xyz"], "bad configuration: --minimumchainwork: minimumchainwork must be hex chain "
     "work (up to 64 digits), not 'xyz'"),
    (["--network", "nonet"], "bad configuration: --network: unknown network 'nonet'"),
    # unsafe: an RPC port others can reach, with only the cookie (or a short password) to guard it
    (["--rpc-bind", "0.0.0.0"], "bad configuration: --rpc-bind: RPC off loopback ('0.0.0.0')"),
    (["--rpc-bind", "10.1.2.3", "--rpc-user", "u", "--rpc-password", "short"], "bad configuration: --rpc-bind: "
     "RPC off loopback ('10.1.2.3')"),
])
def test_bad_and_unsafe_flags(tmp_path: Path, args: list[str], line: str) -> None:
    code, lines = run_node("--datadir", str(tmp_path), *args)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: " + line), lines
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_off_loopback_with_a_long_password_is_accepted() -> None:
    s = NodeSettings(rpc_host="0.0.0.0", rpc_user="u", rpc_password="p" * 16)
    assert s.config().rpc_host == "0.0.0.0"
    with pytest.raises(SettingsError):
        load(NodeSettings, None, {"rpc_host": ("0.0.0.0", "--rpc-bind")})


def test_minimum_chain_work_defaults_are_cores() -> None:
    """Core v31.99's nMinimumChainWork per network (`bitcoind -help-debug`); none on regtest."""
    assert parse_minimum_chain_work(None, "mainnet") == 0x1128750F82F4C366153A3A030
    assert parse_minimum_chain_work(None, "signet") == 0xB463EA0A4B8
    assert parse_minimum_chain_work(None, "regtest") == 0
    assert parse_minimum_chain_work("0x1F6", "regtest") == 502
    with pytest.raises(ValueError):
        parse_minimum_chain_work("1" * 65, "mainnet")
