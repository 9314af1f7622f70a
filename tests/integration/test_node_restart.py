"""Issue 17, items 1 and 3: a node restart (kill -9, new `.cookie`) strands no client and loses no
block, and the logs stay short while the node is away.

Real processes on loopback: `hashforge node` (regtest), `hashforge pool` and `hashforge api`,
and a Stratum client that finds a block while the node is down."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hashforge.kernels import scan_sha256d
from hashforge.rpcclient import AsyncRPCClient, RPCClient, RPCTransportError, read_cookie
from hashforge.stratum import difficulty_to_target
from tests.helpers.nodeproc import NodeProcess, free_port
from tests.pool.harness import MINER_ADDR, Client, submit_params

BURN = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except (OSError, httpx.HTTPError, RPCTransportError):
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeProcess]:
    n = NodeProcess(tmp_path / "node", "regtest").start()
    n.call("generatetoaddress", 5, BURN)
    yield n
    n.stop()


def test_cookie_clients_follow_a_restarted_node(node: NodeProcess) -> None:
    cookie = node.datadir / ".cookie"
    sync = RPCClient(node.url, cookie=cookie, timeout=10)
    fixed = RPCClient(node.url, *read_cookie(cookie), timeout=10)  # user and password given: nothing to re-read

    async def with_async_client() -> list[Any]:
        client = AsyncRPCClient(node.url, cookie=cookie, timeout=10)
        try:
            before = await client.call("getblockcount")
            await asyncio.to_thread(node.kill)
            await asyncio.to_thread(node.start)
            return [before, await client.call("getblockcount"), await client.call_batch([("getblockcount", [])])]
        finally:
            await client.aclose()

    try:
        assert sync.call("getblockcount") == 5
        old = cookie.read_text()
        node.kill()
        with pytest.raises(RPCTransportError):
            sync.call("getblockcount")
        node.start()
        assert cookie.read_text() != old
        assert sync.call("getblockcount") == 5  # 401, cookie read again, retried
        assert sync.call_batch([("getblockcount", []), ("getbestblockhash", [])])[0] == 5
        with pytest.raises(RPCTransportError, match="HTTP 401"):
            fixed.call("getblockcount")
        assert asyncio.run(with_async_client()) == [5, 5, [5]]
    finally:
        sync.close()
        fixed.close()


def _spawn(args: list[str], log: Path, repeat_s: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HASHFORGE_LOG_REPEAT_S": str(repeat_s)}
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "hashforge", *args], stdout=out, stderr=subprocess.STDOUT,
                                env=env)


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


async def _find_block(client: Client, n: int) -> dict[str, Any]:
    """Mines one share on the client's current job (on regtest every share is a block)."""
    job = client.job
    assert job is not None
    en2 = n.to_bytes(client.en2_size, "big")
    prefix = job.header(client.en1, en2, job.time, 0)[:76]
    found = await asyncio.to_thread(scan_sha256d, prefix, difficulty_to_target(client.difficulty), 0, 1 << 20)
    assert found.nonces
    return await client.call("mining.submit", submit_params(MINER_ADDR + ".rig1", job, en2, job.time,
                                                            found.nonces[0]))


def test_pool_and_api_survive_a_node_restart_and_the_block_found_meanwhile_reaches_the_chain(
        node: NodeProcess, tmp_path: Path) -> None:
    cookie = node.datadir / ".cookie"
    stratum, pool_api, api = free_port(), free_port(), free_port()
    pool_log, api_log = tmp_path / "pool.log", tmp_path / "api.log"
    pool = _spawn(["pool", "--network", "regtest", "--node-rpc", node.url, "--node-cookie", str(cookie),
                   "--stratum-port", str(stratum), "--stratum-host", "127.0.0.1", "--api-port", str(pool_api),
                   "--scheme", "solo", "--datadir", str(tmp_path / "pool"), "--start-difficulty", "1e-5"], pool_log, 1)
    apip = _spawn(["api", "--network", "regtest", "--node-rpc", node.url, "--node-cookie", str(cookie),
                   "--host", "127.0.0.1", "--port", str(api), "--datadir", str(tmp_path / "api"), "--no-ops"], api_log, 4)
    tip_url = f"http://127.0.0.1:{api}/v1/chain/tip"
    try:
        wait_for("the pool's Stratum port", lambda: "pool listening" in pool_log.read_text())
        assert wait_for("the API", lambda: httpx.get(tip_url, timeout=2).json().get("height")) == 5

        async def scenario() -> dict[str, Any]:
            client = await Client.connect(stratum)
            await client.login()
            down = time.monotonic()
            node.kill()  # kill -9: the node's cookie is stale from now on
            reply = await _find_block(client, 1)  # a block, found while the node is away
            await asyncio.to_thread(wait_for, "the API to see the node gone",
                                    lambda: httpx.get(tip_url, timeout=2).status_code == 503)
            await asyncio.sleep(2.5)  # the node stays away for a few tip polls (counted log lines)
            await asyncio.to_thread(node.start)  # a new cookie
            downtime = time.monotonic() - down
            note = await client.wait_note("mining.notify", timeout=30)  # work on top of the block found
            client.close()
            return {"reply": reply, "note": note, "downtime": downtime}

        got: dict[str, Any] = {}
        got.update(asyncio.run(scenario()))
        assert got["reply"]["result"] is True, got["reply"]
        assert node.call("getblockcount") == 6
        block = node.call("getblock", node.call("getblockhash", 6), 2)
        paid = {o["scriptPubKey"].get("address") for o in block["tx"][0]["vout"]}
        assert MINER_ADDR in paid  # the block found while the node was down is on the chain
        assert got["note"]["params"][8] is True  # clean_jobs: the pool follows the new tip
        assert wait_for("the API's tip after the restart",
                        lambda: httpx.get(tip_url, timeout=2).json().get("height") == 6)  # 503 until it follows
        with sqlite3.connect(tmp_path / "pool" / "pool.sqlite3") as db:
            rows = wait_for("the pool's block row", lambda: db.execute("SELECT hash, status, submit_result FROM blocks").fetchall())
        assert rows == [(block["hash"], "pending", None)]
    finally:
        pool_code, api_code = _stop(pool), _stop(apip)
    assert (pool_code, api_code) == (0, 0)
    text = pool_log.read_text()
    # issue 17 item 3: no per-request httpx lines, no tracebacks (node away, shutdown), counted repeats
    assert "httpx" not in text and "Traceback" not in text and "CancelledError" not in text, text[-3000:]
    # bounded: the old pool wrote an httpx line per 0.25 s poll and a warning per failed one
    pool_lines = [line for line in text.splitlines() if "node unreachable" in line]
    assert 2 <= len(pool_lines) <= 2 + got["downtime"], text
    assert all("(x" in line and "in last" in line for line in pool_lines[1:]), text
    assert len(text) < 12_000, text
    assert "retrying until the node answers" in text
    api_text = api_log.read_text()
    assert "Traceback" not in api_text and "httpx" not in api_text
    # the API asks the node every second: one line, then one counted line per 4 s window
    api_lines = [line for line in api_text.splitlines() if "node unreachable" in line]
    assert 1 <= len(api_lines) <= 2 + got["downtime"] / 4, api_text
    assert all("(x" in line for line in api_lines[1:]), api_text


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_a_block_found_while_the_node_is_away_survives_a_pool_stop(
        node: NodeProcess, tmp_path: Path, stop: signal.Signals) -> None:
    """The pool stops (or is killed) before the node answers a found block: the block waits on disk
    (unsent-blocks/) and the next pool start submits and records it."""
    cookie = node.datadir / ".cookie"
    stratum = free_port()
    pool_dir, pool_log = tmp_path / "pool", tmp_path / "pool.log"
    args = ["pool", "--network", "regtest", "--node-rpc", node.url, "--node-cookie", str(cookie),
            "--stratum-port", str(stratum), "--stratum-host", "127.0.0.1", "--api-port", str(free_port()),
            "--scheme", "solo", "--datadir", str(pool_dir), "--start-difficulty", "1e-5"]
    pool = _spawn(args, pool_log, 1)
    try:
        wait_for("the pool's Stratum port", lambda: "pool listening" in pool_log.read_text())

        async def find_while_away() -> None:
            client = await Client.connect(stratum)
            await client.login()
            node.kill()
            reply = await _find_block(client, 1)
            assert reply["result"] is True, reply
            client.close()

        asyncio.run(find_while_away())
        [unsent] = wait_for("the block kept on disk", lambda: list((pool_dir / "unsent-blocks").glob("*.json")))
        pool.send_signal(stop)
        pool.wait(30)
        assert unsent.exists()  # the node never answered: still there after the stop
        node.start()
        assert node.call("getblockcount") == 5
        pool = _spawn(args, pool_log, 1)
        assert wait_for("the block on the chain", lambda: node.call("getblockcount") == 6)
        block = node.call("getblock", node.call("getblockhash", 6), 2)
        assert block["hash"] == unsent.stem
        assert MINER_ADDR in {o["scriptPubKey"].get("address") for o in block["tx"][0]["vout"]}
        with sqlite3.connect(pool_dir / "pool.sqlite3") as db:
            rows = wait_for("the pool's block row", lambda: db.execute(
                "SELECT hash, status, submit_result FROM blocks").fetchall())
        assert rows == [(block["hash"], "pending", None)]
        wait_for("the unsent file removed", lambda: not unsent.exists())
    finally:
        code = _stop(pool)
    assert code == 0
    text = pool_log.read_text()
    assert "found before the last stop" in text and "Traceback" not in text, text[-3000:]
