"""The pool's settings: pool.toml < HASHFORGE_POOL_* (SECTION__KEY for a table's key) < flags; a bad or
unsafe value is one line naming its source, exit 2, before the pool opens anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hashforge.cli import app
from hashforge.pool.config import Scheme, load_config, load_settings
from hashforge.pool.errors import ConfigError
from hashforge.pool.merged import AuxChainConfig

POOL_TOML = ('network = "devnet"\nnode_url = "http://127.0.0.1:9/"\n[connector]\nport = 4000\nmax-line-bytes = 4096\n'
             '[vardiff]\nstart_difficulty = 0.5\nmin_difficulty = {devnet = 0.01, regtest = 1e-6}\n'
             '[accounting]\nscheme = "prop"\npool_address = "file-addr"\npayout_threshold = 5000\n'
             '[stratifier]\ncoinbase_tag = "/mine/"\n')


def test_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "pool.toml"
    f.write_text(POOL_TOML)
    cfg = load_config(f)
    assert (cfg.network, cfg.node_url, cfg.connector.port, cfg.connector.max_line_bytes) == (
        "devnet", "http://127.0.0.1:9/", 4000, 4096)
    assert (cfg.accounting.scheme, cfg.accounting.payout_threshold, cfg.stratifier.coinbase_tag) == (
        Scheme.PROP, 5000, b"/mine/")
    assert cfg.min_share_difficulty == 0.01
    monkeypatch.setenv("HASHFORGE_POOL_CONNECTOR__PORT", "4001")
    monkeypatch.setenv("HASHFORGE_POOL_ACCOUNTING__POOL_ADDRESS", "env-addr")
    monkeypatch.setenv("HASHFORGE_POOL_NETWORK", "regtest")  # the floor table follows the network
    cfg = load_settings(f, {"connector.port": (4002, "--stratum-port")})
    assert (cfg.connector.port, cfg.accounting.pool_address, cfg.network) == (4002, "env-addr", "regtest")
    assert cfg.min_share_difficulty == 1e-6 and cfg.connector.max_line_bytes == 4096


def run_pool(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["pool", "--datadir", str(tmp_path / "pool"), "--node-rpc",
                                      "http://u:p@127.0.0.1:9/", *args], env=env)
    return result.exit_code, result.stderr.strip().splitlines()


@pytest.mark.parametrize(("toml", "env", "args", "line"), [
    ("[connector]\nport = \"3333x\"\n", {}, [], "bad configuration: {f}:connector.port: Input should be a valid "
     "integer, unable to parse string as an integer (got '3333x')"),
    ("[accounting]\nscheme = \"fpps\"\n", {}, [], "bad configuration: {f}:accounting.scheme: Input should be "
     "'solo', 'pplns', 'pps' or 'prop' (got 'fpps')"),
    ("[vardiff]\nretarget_shares = 0\n", {}, ["--scheme", "solo"], "{f}:vardiff.retarget_shares must be 1 or more, "
     "not 0"),
    ("", {"HASHFORGE_POOL_RECORDER__MAX_BATCH": "many"}, ["--scheme", "solo"], "bad configuration: "
     "HASHFORGE_POOL_RECORDER__MAX_BATCH: Input should be a valid integer, unable to parse string as an integer "
     "(got 'many')"),
    ("", {"HASHFORGE_POOL_CONNECTOR__SUBMIT_RATE": "0"}, ["--scheme", "solo"],
     "HASHFORGE_POOL_CONNECTOR__SUBMIT_RATE must be more than 0, not 0.0"),
    ("", {}, ["--scheme", "solo", "--stratum-port", "65536"], "--stratum-port must be 0..65535, not 65536"),
    ("", {}, ["--scheme", "solo", "--ws-port", "-1"], "--ws-port must be 0..65535, not -1"),
    ("", {}, ["--scheme", "solo", "--fee", "100"], "bad configuration: --fee: fee must be in [0, 100)"),
    ("", {}, ["--scheme", "pplns"], "bad configuration: --scheme: --pool-address is required for the pplns scheme"),
    # the floor: a share cheaper than the operator's minimum is refused wherever it was set
    ("[vardiff]\nstart_difficulty = 1e-7\n", {}, ["--scheme", "solo"], "bad configuration: {f}:vardiff."
     "start_difficulty: vardiff needs 0 < min (1e-05) <= start (1e-07) <= max (2.81475e+14)"),
    ("[vardiff]\nstart_difficulty = 1e-3\n", {"HASHFORGE_POOL_VARDIFF__MIN_DIFFICULTY": "0.01"}, ["--scheme", "solo"],
     "bad configuration: HASHFORGE_POOL_VARDIFF__MIN_DIFFICULTY: vardiff needs 0 < min (0.01) <= start (0.001)"),
    ("", {}, ["--scheme", "solo", "--min-difficulty", "0"], "bad configuration: --min-difficulty: vardiff needs "
     "0 < min (0) <= start (1)"),
    ("[connector]\ntls_port = 3334\n", {}, ["--scheme", "solo"], "bad configuration: {f}:connector.tls_port: a TLS "
     "port needs tls_cert and tls_key"),
    # the node's own rule for its password (hashforge.settings.remote_rpc_refusal)
    ("", {}, ["--scheme", "solo", "--node-rpc", "http://u:only-12chars@10.0.0.5:8332/"], "bad configuration: "
     "--node-rpc: RPC off loopback ('10.0.0.5') needs a user and a password of 16+ characters"),
    ("", {"HASHFORGE_POOL_NODE_USER": "u", "HASHFORGE_POOL_NODE_PASSWORD": "short"},
     ["--scheme", "solo", "--node-rpc", "http://node.example:8332/"], "bad configuration: --node-rpc: RPC off "
     "loopback ('node.example')"),
])
def test_bad_and_unsafe_values_name_their_source(tmp_path: Path, toml: str, env: dict[str, str], args: list[str],
                                                 line: str) -> None:
    f = tmp_path / "pool.toml"
    f.write_text(toml)
    code, lines = run_pool(tmp_path, "--config", str(f), *args, env=env)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: " + line.format(f=f)), lines
    assert not (tmp_path / "pool").exists()  # refused before the database was created


def test_load_config_keeps_its_python_signature(tmp_path: Path) -> None:
    """Python callers name keys as "section.key"; the error names the key's last part as a flag."""
    with pytest.raises(ConfigError, match=r"^--port must be 0\.\.65535, not 70000$"):
        load_config(None, **{"accounting.scheme": "solo", "connector.port": 70000})
    assert load_config(None, **{"accounting.scheme": "solo", "connector.port": None}).connector.port == 3333


DOGE = "dogecoin-regtest"
DOGE_ADDRESS = "mmzgVEwgy1P7wBChheYaSWp5uzDvEwUGX5"


def test_merged_mining_keys_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--aux-chain and --aux-wallet-dir are `aux_chains` and `aux_wallet_dirs` (lists, in the flags' format),
    HASHFORGE_POOL_AUX_CHAINS and HASHFORGE_POOL_AUX_WALLET_DIRS (JSON lists) with the same precedence."""
    cookie = tmp_path / "doge.cookie"
    cookie.write_text("u:p\n")
    f = tmp_path / "pool.toml"
    f.write_text(f'network = "litecoin-regtest"\naux_chains = ["{DOGE},http://127.0.0.1:18332/,{DOGE_ADDRESS},{cookie}"]\n'
                 f'aux-wallet-dirs = ["{DOGE}=~/doge-wallet"]\n[accounting]\nscheme = "solo"\n')
    cfg = load_config(f)
    assert cfg.aux_chains == (AuxChainConfig(DOGE, "http://127.0.0.1:18332/", DOGE_ADDRESS, node_cookie=cookie),)
    assert cfg.aux_wallet_dirs == ((DOGE, Path.home() / "doge-wallet"),)
    monkeypatch.setenv("HASHFORGE_POOL_AUX_CHAINS", f'["{DOGE},http://hf:hf@127.0.0.1:18333/,{DOGE_ADDRESS}"]')
    cfg = load_config(f)
    assert [(c.node_url, c.node_user, c.node_cookie) for c in cfg.aux_chains] == [("http://127.0.0.1:18333/", "hf", None)]
    cfg = load_settings(f, {"aux_wallet_dirs": ((f"{DOGE}={tmp_path}",), "--aux-wallet-dir")})
    assert cfg.aux_wallet_dirs == ((DOGE, tmp_path),) and cfg.aux_chains[0].node_url == "http://127.0.0.1:18333/"


@pytest.mark.parametrize(("toml", "env", "args", "line"), [
    ('aux_chains = "dogecoin-regtest"\n', {}, [], "bad configuration: {f}:aux_chains: aux_chains is a list of "
     "NETWORK,RPC_URL,ADDRESS[,COOKIE_FILE] strings"),
    ('aux_chains = ["dogecoin-regtest,http://x/"]\n', {}, [], "bad configuration: {f}:aux_chains: an aux chain is "
     "NETWORK,RPC_URL,ADDRESS[,COOKIE_FILE], not 'dogecoin-regtest,http://x/'"),
    (f'network = "litecoin-regtest"\naux_chains = ["{DOGE},http://u:p@127.0.0.1:1/,{DOGE_ADDRESS}"]\n'
     'aux_wallet_dirs = ["dogecoin"]\n', {}, [], "bad configuration: {f}:aux_wallet_dirs: an aux wallet is NETWORK=DIR, "
     "not 'dogecoin'"),
    (f'aux_chains = ["{DOGE},http://u:p@127.0.0.1:1/,{DOGE_ADDRESS}"]\n', {}, [], "bad configuration: "
     "{f}:aux_chains: merged mining needs a scrypt parent chain"),
    ('network = "litecoin-regtest"\n', {"HASHFORGE_POOL_AUX_CHAINS": f'["{DOGE},http://u:p@10.0.0.5:1/,{DOGE_ADDRESS}"]'},
     [], "bad configuration: HASHFORGE_POOL_AUX_CHAINS: dogecoin-regtest: RPC off loopback ('10.0.0.5') needs a user "
     "and a password of 16+ characters"),
    ('network = "litecoin-regtest"\n', {}, ["--aux-chain", f"{DOGE},http://u:p@127.0.0.1:1/,{DOGE_ADDRESS}",
                                              "--aux-chain", f"{DOGE},http://u:p@127.0.0.1:2/,{DOGE_ADDRESS}"],
     "bad configuration: --aux-chain: two aux chains with the same chain ID (one node per aux chain)"),
])
def test_bad_merged_mining_values_name_their_source(tmp_path: Path, toml: str, env: dict[str, str], args: list[str],
                                                    line: str) -> None:
    f = tmp_path / "pool.toml"
    f.write_text(toml)
    code, lines = run_pool(tmp_path, "--config", str(f), "--scheme", "solo", *args, env=env)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: " + line.format(f=f)), lines
    assert not (tmp_path / "pool").exists()
