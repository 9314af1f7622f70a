"""The live view (a rendered snapshot), --json-log, config/flags, throttling and telemetry."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from rich.console import Console

from hashforge.miner import ConfigError, build_config
from hashforge.miner.logs import setup_logging
from hashforge.miner.pools import Strategy
from hashforge.miner.sensors import Telemetry, Throttle
from hashforge.miner.tui import DeviceRow, PoolRow, Snapshot, render, snapshot

from .helpers import Running, make_miner, stratum, until
from .stratum_server import StratumTestServer

EXPECTED_VIEW = """\
 hashforge 0.1.0 - sha256d - Failover - uptime 0d 01:02:03 - API 127.0.0.1:4028
 (5s):45.09 MH/s (1m):44.50 MH/s (15m):43.20 MH/s (avg):44.00 MH/s
 A:120 R:2 S:1 HW:0 Best share:1.23K Blocks:0
────────────────────────────────────────────────────────────────────────────────────────────────────
 *Pool 0: stratum+tcp://127.0.0.1:3333 Alive diff 0.0001 A:120 R:2 S:1 user bc1qworker.rig1
    message: maintenance at noon
  Pool 1: stratum+ssl://backup.example:443 Dead diff 0 A:0 R:0 S:0 user bc1qworker.rig1
────────────────────────────────────────────────────────────────────────────────────────────────────

 Device  Status          5s          1m         15m    A/R/S  HW   Best  Temp  Power  Throttle
 ─────────────────────────────────────────────────────────────────────────────────────────────
 CPU0    Alive   45.09 MH/s  44.50 MH/s  43.20 MH/s  120/2/1   0  1.23K   n/a    n/a  ok

────────────────────────────────────────────────────────────────────────────────────────────────────
 [12:00:01] CPU0 share accepted (diff 0.00013) pool 0"""


def test_tui_snapshot() -> None:
    snap = Snapshot(
        "sha256d", "Failover", 3723.0, 45.09e6, 44.5e6, 43.2e6, 44.0e6, 120, 2, 1, 0, 1234.5, 0,
        (DeviceRow("CPU0", "Alive", 45.09e6, 44.5e6, 43.2e6, 120, 2, 1, 0, 1234.5, None, None, "ok"),),
        (PoolRow(0, "stratum+tcp://127.0.0.1:3333", "bc1qworker.rig1", "Alive", 0.0001, 120, 2, 1, True, 0,
                 "maintenance at noon"),
         PoolRow(1, "stratum+ssl://backup.example:443", "bc1qworker.rig1", "Dead", 0.0, 0, 0, 0, False, 0, "")),
        ("[12:00:01] CPU0 share accepted (diff 0.00013) pool 0",), "127.0.0.1:4028", "0.1.0",
    )
    console = Console(width=100, record=True, color_system=None, force_terminal=False, file=io.StringIO())
    console.print(render(snap))
    text = "\n".join(line.rstrip() for line in console.export_text().splitlines())
    assert text == EXPECTED_VIEW


def test_tui_snapshot_of_a_running_miner() -> None:
    async def go() -> Snapshot:
        server = await StratumTestServer(difficulty=1e-4).start()
        miner = make_miner([stratum(0, server.url)])
        async with Running(miner):
            await until(lambda: miner.totals.shares.accepted >= 1, what="a share")
            snap = snapshot(miner, ("hello",))
        await server.stop()
        return snap

    snap = asyncio.run(go())
    assert snap.accepted >= 1 and snap.devices[0].name == "CPU0" and snap.pools[0].active
    console = Console(width=120, record=True, color_system=None, file=io.StringIO())
    console.print(render(snap))
    text = console.export_text()
    assert "CPU0" in text and "Pool 0" in text and "hello" in text


def _serve_in_thread(server: StratumTestServer) -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()

    t = threading.Thread(target=main, daemon=True)
    t.start()
    started.wait(10)
    return loop, t


def test_json_log_cli_mines_and_logs_json_lines(tmp_path: Path) -> None:
    server = StratumTestServer(difficulty=1e-4)
    server.on_authorized = asyncio.Event()
    loop, thread = _serve_in_thread(server)
    cfg = tmp_path / "miner.toml"
    cfg.write_text(f'algo = "sha256d"\nthreads = 1\nlog_interval = 0.5\n[[pools]]\nurl = "{server.url}"\nuser = "w1"\n')
    code = "import typer; from hashforge.miner.cli import mine; typer.run(mine)"
    proc = subprocess.run(
        [sys.executable, "-c", code, "--config", str(cfg), "--json-log", "--no-api", "--seconds", "3"],
        capture_output=True, text=True, timeout=60,
    )
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()]
    assert lines and all({"ts", "level", "logger", "msg"} <= set(x) for x in lines)
    shares = [x for x in lines if x.get("event") == "share"]
    stats = [x for x in lines if x.get("event") == "stats"]
    assert shares and shares[0]["result"] == "accepted" and shares[0]["pool"] == 0 and shares[0]["device"] == "CPU0"
    assert stats and stats[-1]["hashrate_5s"] > 0 and stats[-1]["accepted"] >= 1
    assert all(len(s.params) == 6 and s.params[0] == "w1" for s in server.submissions)


def test_json_formatter_in_process() -> None:
    import logging

    buf = io.StringIO()
    handler = setup_logging(json_log=True, stream=buf)
    try:
        logging.getLogger("hashforge.miner.events").info("x %d", 1, extra={"event": "share", "pool": 2})
    finally:
        logging.getLogger("hashforge").removeHandler(handler)
    rec = json.loads(buf.getvalue())
    assert rec["msg"] == "x 1" and rec["event"] == "share" and rec["pool"] == 2 and rec["level"] == "info"


def test_config_file_and_flags(tmp_path: Path) -> None:
    f = tmp_path / "m.toml"
    f.write_text(
        'algo = "scrypt"\nthreads = 3\nstrategy = "load-balance"\nmax-load = 50\napi_allow = ["W:127.0.0.1"]\n'
        '[[pools]]\nurl = "stratum+tcp://a:3333"\nuser = "u"\nquota = 3\n'
        '[[pools]]\nurl = "stratum+ssl://b:443"\n'
    )
    cfg = build_config(f)
    assert cfg.algo == "scrypt" and cfg.threads == 3 and cfg.strategy == Strategy.LOAD_BALANCE
    assert [p.url for p in cfg.pools] == ["stratum+tcp://a:3333", "stratum+ssl://b:443"] and cfg.pools[0].quota == 3
    assert cfg.max_load == 50 and cfg.api_allow == ("W:127.0.0.1",)
    cfg = build_config(f, urls=["stratum+tcp://c:1"], user="me", password="pw", threads=1, algo="sha256d")
    assert [(p.url, p.user, p.password) for p in cfg.pools] == [("stratum+tcp://c:1", "me", "pw")]
    assert cfg.threads == 1 and cfg.algo == "sha256d"
    solo = build_config(None, urls=["http://rpcu:rpcp@127.0.0.1:8332"], address="bcrt1qxyz")
    assert solo.solo is not None and solo.solo.node_rpc == "http://127.0.0.1:8332/"
    assert (solo.solo.rpc_user, solo.solo.rpc_password, solo.pools) == ("rpcu", "rpcp", ())
    solo = build_config(None, solo=True, node_rpc="http://127.0.0.1:1", address="a", rpc_cookie=Path("/c"))
    assert solo.solo is not None and solo.solo.cookie == Path("/c")
    for bad in (dict(urls=["http://h:1"]), dict(solo=True, address="a"), dict(), dict(algo="x11", benchmark=True),
                dict(benchmark=True, max_load=0), dict(urls=["stratum+tcp://h:1"], address="a")):
        with pytest.raises(ConfigError):
            build_config(None, **bad)
    (tmp_path / "bad.toml").write_text("pools = 3\nwhat = 1\n")
    with pytest.raises(ConfigError):
        build_config(tmp_path / "bad.toml")


def test_throttle_duty_cycle_and_temperatures() -> None:
    t = Throttle(max_load=50)
    assert t.duty == 0.5 and t.pause_after(0.1) == pytest.approx(0.1)
    t = Throttle(temp_target=70, temp_cutoff=90)
    t.update(None)  # no sensor: no thermal control, never an invented reading
    assert t.duty == 1.0 and t.state == "ok"
    t.update(80)
    assert t.duty < 1.0 and t.state == "throttled"
    t.update(95)
    assert t.stopped and t.state == "cutoff"
    t.update(80)
    assert t.stopped  # stays off until below the target
    t.update(60)
    assert not t.stopped
    assert Telemetry().temperature is None and Telemetry.fmt(None, "C") == "n/a" and Telemetry.fmt(61.25, "C") == "61.2C"


def test_max_load_halves_the_hash_rate() -> None:
    async def go(load: float) -> float:
        from hashforge.miner import BenchmarkSource, CPUDevice, Miner, MinerConfig

        dev = CPUDevice(0, 0, threads=1, throttle=Throttle(max_load=load))
        miner = Miner(MinerConfig(benchmark=True, api_listen=None), devices=[dev], sources=[BenchmarkSource()])
        await miner.run(duration=1.5)
        return dev.stats.meter.total / 1.5

    full, half = asyncio.run(go(100)), asyncio.run(go(40))
    assert half < 0.85 * full  # 40 % duty cycle (loose: CI machines are noisy)
