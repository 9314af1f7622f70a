"""Authorize and subscribe are bounded (issue 17 item 10): a cap on workers per connection,
connections that never authorize are closed after the handshake timeout, and per-worker state
goes with the worker's last connection."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
import weakref
from dataclasses import replace
from pathlib import Path
from typing import Any

from hashforge.stratum import StratumErrorCode

from .harness import MINER_ADDR, Client, pool_config, running_pool


def run(coro: Any, timeout: float = 120) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout))


async def _until(cond: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_100000_authorizes_on_one_connection_are_capped_and_freed(tmp_path: Path) -> None:
    n = 100_000
    cfg = pool_config(tmp_path)
    cap = cfg.connector.max_workers_per_connection

    async def main() -> None:
        async with running_pool(tmp_path, cfg) as h:
            c = await Client.connect(h.port)
            r = await c.call("mining.subscribe", ["x"])
            assert r["result"]
            results: dict[int, Any] = {}

            async def read() -> None:
                while len(results) < n:
                    line = await c.reader.readline()
                    assert line, "closed"
                    msg = json.loads(line)
                    if "method" not in msg:
                        results[msg["id"]] = msg

            reading = asyncio.get_running_loop().create_task(read())
            for start in range(0, n, 10_000):
                c.writer.write(b"".join(
                    json.dumps({"id": 10 + i, "method": "mining.authorize",
                                "params": [f"{MINER_ADDR}.w{i}", "x"]}).encode() + b"\n"
                    for i in range(start, start + 10_000)))
                await c.writer.drain()
            await asyncio.wait_for(reading, 90)
            ok = [i for i, m in results.items() if m["result"] is True]
            refused = [m["error"] for m in results.values() if m["error"]]
            assert len(ok) == cap and len(refused) == n - cap
            assert all(e[0] == StratumErrorCode.UNAUTHORIZED_WORKER and "too many workers" in e[1] for e in refused)
            # an authorized worker keeps working, and re-authorizing one of them is not a new worker
            r = await c.call("mining.authorize", [f"{MINER_ADDR}.w0", "x"])
            assert r["result"] is True
            (session,) = h.stratifier.sessions
            assert len(session.workers) == cap and len(h.stratifier.workers) == cap
            assert _gauge(h, "hashforge_pool_workers") == cap
            gone = weakref.ref(session)
            del session
            c.close()
            await _until(lambda: not h.stratifier.sessions)
            assert h.stratifier.workers == {} and _gauge(h, "hashforge_pool_workers") == 0
            # nothing holds the connection's state any more, once the loop has run the close callbacks
            # and the handlers of the last queued lines (several iterations on a loaded machine)
            await _until(lambda: gc.collect() >= 0 and gone() is None)

    run(main())


def _gauge(h: Any, name: str) -> float:
    for line in h.stratifier.metrics.render().decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


def test_connections_that_never_authorize_cannot_lock_an_ip_out(tmp_path: Path) -> None:
    """255 sockets that subscribe and never authorize, beside one real miner, fill the per-IP
    limit (256); after the handshake timeout the pool closes them, and new miners get in."""
    cfg = pool_config(tmp_path, handshake_timeout=1.0)
    limit = cfg.connector.max_connections_per_ip
    assert limit == 256

    async def main() -> None:
        async with running_pool(tmp_path, cfg) as h:
            miner = await Client.connect(h.port)
            await miner.login()
            idle = []
            for _ in range(limit - 1):
                c = await Client.connect(h.port)
                r = await c.call("mining.subscribe", ["idle"])
                assert r["result"]
                idle.append(c)
            # the IP is full: the next connection is refused at accept
            extra = await Client.connect(h.port)
            with contextlib.suppress(ConnectionResetError):  # aborted: EOF or a reset
                assert await asyncio.wait_for(extra.reader.read(), 5) == b""
            t0 = time.monotonic()
            closed = await asyncio.gather(*(asyncio.wait_for(c.reader.read(), 10) for c in idle))
            assert all(data == b"" for data in closed)
            assert time.monotonic() - t0 < 5.0
            # the authorized miner stays; a new one gets in
            assert (await miner.call("mining.extranonce.subscribe", []))["result"] is True
            late = await Client.connect(h.port)
            await late.login(MINER_ADDR + ".late")
            assert len(h.connector.protocols) == 2
            for c in [miner, late, extra, *idle]:
                c.close()

    run(main())


def test_a_worker_on_two_connections_is_freed_with_the_last(tmp_path: Path) -> None:
    cfg = pool_config(tmp_path)
    cfg = replace(cfg, connector=replace(cfg.connector, max_workers_per_connection=2))
    user = MINER_ADDR + ".rig"

    async def main() -> None:
        async with running_pool(tmp_path, cfg) as h:
            a, b = await Client.connect(h.port), await Client.connect(h.port)
            await a.login(user)
            await b.login(user)
            assert h.stratifier.workers == {user: 2}
            r = await a.call("mining.authorize", [MINER_ADDR + ".second", "x"])
            assert r["result"] is True
            r = await a.call("mining.authorize", [MINER_ADDR + ".third", "x"])
            assert r["error"][0] == StratumErrorCode.UNAUTHORIZED_WORKER  # the cap of 2
            a.close()
            await _until(lambda: h.stratifier.workers == {user: 1})
            b.close()
            await _until(lambda: h.stratifier.workers == {})

    run(main())
