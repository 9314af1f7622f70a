"""Issue 17 item 1 as an operator meets it: `kill -9` the node while `hashforge up` runs. `up`
restarts it (a new cookie); the pool, the API and `up` itself follow the new cookie, blocks keep
reaching the chain, none is recorded as rejected, and the logs hold no per-request lines."""

from __future__ import annotations

import json
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.helpers.nodeproc import free_port

pytestmark = pytest.mark.timeout(400)


class Up:
    def __init__(self, datadir: Path) -> None:
        self.datadir = datadir
        self.api_port = free_port()
        args = ["--datadir", str(datadir), "--threads", "1", "--json", "--api-port", str(self.api_port)]
        for flag in ("--rpc-port", "--stratum-port", "--pool-api-port", "--miner-api-port", "--ws-port"):
            args += [flag, str(free_port())]
        self.proc = subprocess.Popen([sys.executable, "-m", "hashforge", "up", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert self.proc.stdout is not None
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.events: list[dict[str, Any]] = []

    def wait_event(self, kind: str, timeout: float, **match: Any) -> dict[str, Any]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self._sel.select(timeout=0.5):
                line = self.proc.stdout.readline()
                if line.strip():
                    event: dict[str, Any] = json.loads(line)
                    self.events.append(event)
                    if event["event"] == kind and all(event.get(k) == v for k, v in match.items()):
                        return event
        raise AssertionError(f"no {kind} event {match} within {timeout} s: {self.events[-6:]}")

    def node_process(self) -> psutil.Process:
        node_dir = str(self.datadir / "node")
        [p] = [p for p in psutil.process_iter(["cmdline"])
               if node_dir in " ".join(p.info["cmdline"] or []) and "node" in (p.info["cmdline"] or [])]
        return p


def test_up_survives_a_killed_node(tmp_path: Path) -> None:
    up = Up(tmp_path / "up")
    try:
        up.wait_event("ready", 180)
        first = up.wait_event("block", 120)
        cookie = (tmp_path / "up" / "node" / ".cookie").read_text()
        up.node_process().kill()  # SIGKILL
        restart = up.wait_event("restart", 30, part="node")
        assert restart["exit_code"] == -9 and restart["crashes"] == 1
        up.wait_event("restarted", 30, part="node")
        # blocks keep coming on top of what was there: the pool follows the new cookie
        later = up.wait_event("block", 180)
        assert later["height"] > first["height"]
        assert (tmp_path / "up" / "node" / ".cookie").read_text() != cookie
        # the API follows the restarted node too (it may answer 503 for a moment while reconnecting)
        deadline = time.monotonic() + 30
        while True:
            tip = httpx.get(f"http://127.0.0.1:{up.api_port}/v1/chain/tip", timeout=5)
            if tip.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert tip.status_code == 200 and tip.json()["height"] >= later["height"], tip.text
    finally:
        if up.proc.poll() is None:
            up.proc.send_signal(signal.SIGTERM)
        try:
            out, err = up.proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            up.proc.kill()
            out, err = up.proc.communicate()
    assert up.proc.returncode == 0, err.decode()[-2000:]
    stopped = [json.loads(line) for line in out.decode().splitlines() if '"stopped"' in line]
    assert stopped and set(stopped[-1]["exit_codes"].values()) == {0}, stopped
    with sqlite3.connect(tmp_path / "up" / "pool" / "pool.sqlite3") as db:
        statuses = [row[0] for row in db.execute("SELECT status FROM blocks")]
    assert statuses and "rejected" not in statuses
    logs = tmp_path / "up" / "logs"
    for name in ("pool.log", "api.log"):
        text = (logs / name).read_text()
        assert "httpx" not in text and "Traceback" not in text, f"{name}:\n{text[-3000:]}"
