"""`hashforge mine --benchmark`: a local job that never changes, for measuring the devices
through the whole miner (scheduler, threads, verification), with no pool."""

from __future__ import annotations

import asyncio
import hashlib

from hashforge.consensus.pow import bits_to_target
from hashforge.stratum import Job, difficulty_to_target

from ..work import Share, ShareResult, Verdict, Work
from .base import PoolStatus, WorkSource

BENCH_BITS = 0x1D00FFFF


class BenchmarkSource(WorkSource):
    kind = "benchmark"

    def __init__(self, index: int = 0, algo: str = "sha256d", difficulty: float = 1.0) -> None:
        super().__init__(index, "benchmark", "benchmark", "")
        self.algo = algo
        self.bench_difficulty = difficulty

    async def run(self) -> None:
        job = Job("bench", hashlib.sha256(b"hashforge benchmark").digest(), b"\x01" * 42, b"\x02" * 60,
                  (), 0x20000000, BENCH_BITS, 1_700_000_000, True)
        self.set_status(PoolStatus.ALIVE)
        self.set_work(Work(self.index, job, b"\x00" * 4, 4, self.bench_difficulty,
                           difficulty_to_target(self.bench_difficulty, scrypt=self.algo == "scrypt"),
                           bits_to_target(BENCH_BITS), version_mask=0x1FFFE000, algo=self.algo))
        await asyncio.Event().wait()

    async def _send_share(self, share: Share) -> ShareResult:
        return ShareResult(Verdict.ACCEPTED)
