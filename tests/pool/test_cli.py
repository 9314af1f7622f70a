"""`hashforge pool` as a process: flags, the REST API port, and client.reconnect on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hashforge.pool.apiguard import COOKIE_FILE, read_cookie
from hashforge.rpcclient import split_rpc_url
from tests.helpers.nodeproc import NodeProcess, free_port
from tests.vectorfiles import REPO_ROOT

from .harness import MINER_ADDR, Client
from .test_end_to_end import node

__all__ = ["node"]


def test_split_rpc_url() -> None:
    assert split_rpc_url("http://u:p%40ss@127.0.0.1:8332") == ("http://127.0.0.1:8332/", "u", "p@ss")
    assert split_rpc_url("127.0.0.1:18443") == ("http://127.0.0.1:18443/", None, None)


def test_pool_command_runs_serves_and_shuts_down(node: NodeProcess, tmp_path: Path) -> None:
    sport, aport = free_port(), free_port()
    cmd = [sys.executable, "-c", "import typer; from hashforge.pool.cli import pool; typer.run(pool)",
           "--node-rpc", node.url, "--node-cookie", str(node.datadir / ".cookie"), "--network", "regtest",
           "--stratum-port", str(sport), "--api-port", str(aport), "--scheme", "solo", "--fee", "0",
           "--datadir", str(tmp_path / "pool"), "--start-difficulty", "0.001"]
    with open(tmp_path / "pool.log", "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "pool.log").read_text()
            try:
                r = httpx.get(f"http://127.0.0.1:{aport}/v1/pool/stats", timeout=2,
                              auth=read_cookie(tmp_path / "pool" / COOKIE_FILE))
                if r.status_code == 200:
                    break
            except (httpx.HTTPError, OSError):  # not listening, or the cookie not written yet
                pass
            assert time.monotonic() < deadline, (tmp_path / "pool.log").read_text()
            time.sleep(0.2)
        stats = r.json()
        assert httpx.get(f"http://127.0.0.1:{aport}/v1/pool/stats", timeout=2).status_code == 401  # no cookie
        assert stats["scheme"] == "solo" and stats["network"] == "regtest" and stats["height"] >= 1

        async def session() -> str:
            c = await Client.connect(sport)
            await c.login(MINER_ADDR + ".cli")
            assert c.difficulty < 0.001  # the start is lowered to the (regtest) network difficulty, then raised to the floor
            proc.send_signal(signal.SIGTERM)
            note = await c.wait_note("client.reconnect", timeout=10)
            c.close()
            return str(note["method"])

        assert asyncio.run(session()) == "client.reconnect"
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("args", [["--node-rpc", "http://127.0.0.1:9/"], ["--node-cookie", "/nonexistent/.cookie"]])
def test_pool_without_node_credentials_is_one_line(args: list[str], tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "hashforge", "pool", *args, "--network", "regtest", "--scheme",
                           "solo", "--datadir", str(tmp_path / "pool")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
