"""Block candidates on a network where every share is a block (regtest with the operator's
minimum share difficulty set below the network's ~4.7e-10, so the start difficulty is the
network's): the pool answers every share at once, submits one block per tip at a time and
drops the stale siblings instead of flooding the node."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from hashforge.pool.config import PoolConfig

from .harness import MINER_ADDR, Client, grind, pool_config, running_pool, submit_params, template

USER = MINER_ADDR + ".rig1"
REGTEST_BITS = 0x207FFFFF


def _every_share_a_block(tmp: Path) -> PoolConfig:
    cfg = pool_config(tmp)
    return replace(cfg, vardiff=replace(cfg.vardiff, min_difficulty=1e-10, start_difficulty=1.0))


class SlowNode:
    """submitblock that waits for `gate`, answering `results` in turn (then None: accepted)."""

    def __init__(self, results: list[Any] | None = None) -> None:
        self.gate = asyncio.Event()
        self.results = list(results or [])
        self.blocks: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def submit_block(self, block_hex: str) -> Any:
        self.blocks.append(block_hex)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self.gate.wait()
        finally:
            self.in_flight -= 1
        return self.results.pop(0) if self.results else None


async def _flood(c: Client, n: int, first: int = 1) -> list[dict[str, Any]]:
    """Sends `n` block shares back to back, then reads the `n` replies."""
    assert c.job is not None
    lines = []
    for i in range(n):
        en2 = (first + i).to_bytes(8, "big")
        ntime, nonce = grind(c.job, c.en1, en2, c.difficulty)
        lines.append(json.dumps({"id": 1000 + i, "method": "mining.submit",
                                 "params": submit_params(USER, c.job, en2, ntime, nonce)}).encode() + b"\n")
    await c.send_raw(b"".join(lines))
    replies = []
    while len(replies) < n:
        msg = await c.read()
        if "method" not in msg:
            replies.append(msg)
    return replies


async def _until(cond: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_one_submitblock_per_tip_and_shares_answered_meanwhile(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_pool(tmp_path, _every_share_a_block(tmp_path), template(bits=REGTEST_BITS)) as h:
            node = SlowNode()
            h.stratifier.submitter = node
            c = await Client.connect(h.port)
            await c.login()
            assert c.difficulty < 1e-9  # started at the network's: every share is a block
            t0 = time.monotonic()
            replies = await _flood(c, 20)
            # every share answered while the first submitblock is still in flight
            assert all(r["result"] is True for r in replies), replies
            assert time.monotonic() - t0 < 3.0
            assert len(node.blocks) == 1 and node.in_flight == 1
            node.gate.set()
            await _until(lambda: len(h.found) == 1)
            await asyncio.sleep(0.1)
            assert len(node.blocks) == 1 and node.max_in_flight == 1
            assert h.found[0].accepted
            assert h.stratifier.blocks_dropped == 19
            # later candidates on the solved tip never reach the node
            replies = await _flood(c, 3, first=100)
            assert all(r["result"] is True for r in replies), replies
            await asyncio.sleep(0.1)
            assert len(node.blocks) == 1 and h.stratifier.blocks_dropped == 22
            assert h.share_count() == 23
            c.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_rejected_block_lets_the_next_candidate_go(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_pool(tmp_path, _every_share_a_block(tmp_path), template(bits=REGTEST_BITS)) as h:
            node = SlowNode(["bad-cb-amount"])
            h.stratifier.submitter = node
            c = await Client.connect(h.port)
            await c.login()
            await _flood(c, 3)
            node.gate.set()
            await _until(lambda: len(h.found) == 2)
            assert [f.submit_result for f in h.found] == ["bad-cb-amount", None]
            assert len(node.blocks) == 2 and node.max_in_flight == 1
            assert h.stratifier.blocks_dropped == 1
            c.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_new_tip_drops_the_waiting_candidates(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_pool(tmp_path, _every_share_a_block(tmp_path), template(bits=REGTEST_BITS)) as h:
            node = SlowNode(["inconclusive"])
            h.stratifier.submitter = node
            c = await Client.connect(h.port)
            await c.login()
            await _flood(c, 5)
            assert len(node.blocks) == 1
            # someone else's block became the tip: the four waiting are stale siblings now
            h.stratifier.set_template(template(height=201, prev=b"\x22" * 32, bits=REGTEST_BITS))
            assert h.stratifier.blocks_dropped == 4
            node.gate.set()
            await _until(lambda: len(h.found) == 1)
            await asyncio.sleep(0.1)
            assert len(node.blocks) == 1
            c.close()

    asyncio.run(asyncio.wait_for(main(), 60))
