"""How browser mining is wired: `hashforge up` gives the pool a WebSocket port and tells the API
where it is; bad flags are one-line errors; the pool's TOML config takes the WebSocket settings."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hashforge.cli import app
from hashforge.consensus.params import DEVNET
from hashforge.pool.config import load_config
from hashforge.up.operation import DEFAULT_WS_PORT, Operation, Ports
from tests.helpers.nodeproc import free_port
from tests.pool.harness import POOL_ADDR


def test_up_runs_the_pool_with_a_websocket_port_and_tells_the_api(tmp_path: Path) -> None:
    op = Operation(DEVNET, tmp_path, Ports(18500, 3400, 8500, 8501, 4100, 8502), None, True)
    argv = op.pool_part().argv
    assert argv[argv.index("--ws-port") + 1] == "8502"
    assert argv[argv.index("--ws-host") + 1] == "127.0.0.1"
    origins = [argv[i + 1] for i, a in enumerate(argv) if a == "--ws-origin"]
    assert origins == ["http://127.0.0.1:8500", "http://localhost:8500"]  # the dashboard (--api-port), only
    flags = op.component_flags()
    assert flags[flags.index("--pool-api-cookie") + 1] == str(tmp_path / "pool" / "api.cookie")
    assert flags[flags.index("--stratum-ws") + 1] == ":8502"
    assert Ports(1, 2, 3, 4, 5).ws == DEFAULT_WS_PORT == 8422


def test_up_refuses_a_busy_ws_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # the other parts on free ports: only the WebSocket port is busy, whatever else runs here
        others = [arg for flag in ("--rpc-port", "--stratum-port", "--api-port", "--pool-api-port", "--miner-api-port")
                  for arg in (flag, str(free_port()))]
        result = CliRunner().invoke(app, ["up", "--datadir", str(tmp_path / "up"), *others, "--ws-port", str(port)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: port {port} (pool WebSocket) is already in use; "
                                     "choose another with --ws-port")
    assert not (tmp_path / "up").exists()  # nothing started, nothing written


@pytest.mark.parametrize("value", ["0", "70000"])
def test_up_ws_port_range(tmp_path: Path, value: str) -> None:
    result = CliRunner().invoke(app, ["up", "--datadir", str(tmp_path), "--ws-port", value])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: --ws-port must be 1..65535, not {value}"


@pytest.mark.parametrize("value", ["ftp://x:1", "ws://", ":0", ":http", "ws://h:99999"])
def test_api_rejects_a_bad_stratum_ws(tmp_path: Path, value: str) -> None:
    result = CliRunner().invoke(app, ["api", "--datadir", str(tmp_path), "--stratum-ws", value])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: bad configuration: --stratum-ws: "), result.stderr


def test_pool_config_websocket_settings(tmp_path: Path) -> None:
    toml = tmp_path / "pool.toml"
    toml.write_text('[connector]\nws_port = 8422\nws_host = "0.0.0.0"\nws_origins = ["https://dash.example"]\n')
    cfg = load_config(toml, **{"accounting.pool_address": POOL_ADDR})
    assert (cfg.connector.ws_port, cfg.connector.ws_host, cfg.connector.ws_origins) == (
        8422, "0.0.0.0", ("https://dash.example",))
    flags = load_config(toml, **{"accounting.pool_address": POOL_ADDR, "connector.ws_origins": ("*",)})
    assert flags.connector.ws_origins == ("*",)


def test_pool_cli_bad_ws_setting_is_one_line(tmp_path: Path) -> None:
    toml = tmp_path / "pool.toml"
    toml.write_text("[connector]\nws_bogus = 1\n")
    result = CliRunner().invoke(app, ["pool", "--config", str(toml), "--ws-port", "0"])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: bad configuration: {toml}:connector.ws_bogus: unknown setting"


def test_up_passes_the_api_every_link_it_offers(tmp_path: Path) -> None:
    """up's flags are the API CLI's real options (Click refuses an unknown one), with or without a miner."""
    from typer.main import get_command

    options = {opt for p in get_command(app).commands["api"].params for opt in p.opts}  # type: ignore[attr-defined]
    for with_miner in (True, False):
        op = Operation(DEVNET, tmp_path, Ports(18500, 3400, 8500, 8501, 4100, 8502), None, with_miner)
        flags = [f for f in op.component_flags() if f.startswith("--")]
        assert set(flags) <= options, set(flags) - options
        assert ("--miner-api" in flags) is with_miner


def test_up_gives_the_pool_the_operators_pool_toml(tmp_path: Path) -> None:
    op = Operation(DEVNET, tmp_path, Ports(18500, 3400, 8500, 8501, 4100, 8502), None, True, "pplns")
    assert "--config" not in op.pool_part().argv
    (tmp_path / "pool.toml").write_text("[accounting]\npayout_interval = 20\n")
    argv = op.pool_part().argv
    assert argv[argv.index("--config") + 1] == str(tmp_path / "pool.toml")
