"""A pool whose share target is absurdly easy (every few hashes a share, as on regtest where
the share difficulty is capped at the network's ~4.7e-10): the miner submits at most
SUBMIT_RATE shares a second (the best first; the rest count as Discarded), its event loop stays
responsive, and after a clean job no share of the old job goes out."""

from __future__ import annotations

import asyncio
import time

from hashforge.miner.core import SUBMIT_BURST, SUBMIT_RATE, SubmitLimiter

from .helpers import Running, make_miner, run, stratum, until
from .stratum_server import StratumTestServer


def test_limiter_grants_burst_then_rate() -> None:
    lim = SubmitLimiter(rate=100.0, burst=10.0)
    assert lim.take(25) == 10
    assert lim.take(5) == 0
    time.sleep(0.05)
    assert 3 <= lim.take(100) <= 7


def test_share_flood_is_rate_limited_and_the_loop_stays_responsive() -> None:
    async def go() -> None:
        server = await StratumTestServer(difficulty=1e-9).start()  # ~1 hash in 4 is a share
        src = stratum(0, server.url)
        miner = make_miner([src])
        async with Running(miner):
            await until(lambda: len(server.submissions) >= 10, what="shares")
            t0 = time.monotonic()
            n0 = len(server.submissions)
            worst = 0.0
            while time.monotonic() - t0 < 2.0:  # the loop answers within a few ms, flood or not
                t = time.monotonic()
                await asyncio.sleep(0.01)
                worst = max(worst, time.monotonic() - t - 0.01)
            sent = len(server.submissions) - n0
            assert worst < 0.5, worst
            assert src.discarded > 1000  # the CPU found far more than it sent
            assert sent <= SUBMIT_BURST + SUBMIT_RATE * 2.5, sent
            # a clean job: nothing of the old one is submitted afterwards
            old = src.current.job_id if src.current else ""
            job = await server.new_job(clean=True)
            await until(lambda: src.current is not None and src.current.job_id == job.job_id, what="new job")
            await asyncio.sleep(0.05)
            n = len(server.submissions)
            await until(lambda: len(server.submissions) >= n + 20, what="shares of the new job")
        await server.stop()
        assert not any(s.params[1] == old for s in server.submissions[n:])
        assert miner.totals.shares.rejected == 0

    run(go())
