"""Shared helpers for the miner tests: a quick Miner on explicit sources and bounded waits."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from hashforge.miner import CPUDevice, Miner, MinerConfig, StratumSource, WorkSource
from hashforge.miner.pools import Strategy

FAST_BACKOFF = (0.05, 0.3)


def stratum(index: int, url: str, user: str = "worker", **kw: Any) -> StratumSource:
    kw.setdefault("backoff", FAST_BACKOFF)
    kw.setdefault("response_timeout", 5.0)
    return StratumSource(index, url, user, "x", **kw)


def make_miner(sources: Sequence[WorkSource], *, threads: int = 1, algo: str = "sha256d",
               strategy: Strategy = Strategy.FAILOVER, **cfg: Any) -> Miner:
    cfg.setdefault("api_listen", None)
    cfg.setdefault("reject_limit", 3)
    cfg.setdefault("reject_cooldown", 30.0)
    config = MinerConfig(algo=algo, strategy=strategy, **cfg)
    return Miner(config, devices=[CPUDevice(0, 0, algo, threads)], sources=sources)


async def until(pred: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Running:
    """`async with Running(miner):` mines in the background and stops cleanly."""

    def __init__(self, miner: Miner) -> None:
        self.miner = miner
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Miner:
        self.task = asyncio.create_task(self.miner.run())
        return self.miner

    async def __aexit__(self, *exc: object) -> None:
        self.miner.quit()
        assert self.task is not None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.task, 15)


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]
