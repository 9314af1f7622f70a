"""Several pools: which one(s) the devices mine for, and the pool commands of the API.

Strategies (cgminer's names in brackets):
- failover [Failover]: the alive pool with the best priority; a better one that comes back wins.
- round-robin [Rotate]: the alive pools take turns, `rotate_interval` seconds each; a dead one is
  skipped at once.
- load-balance [Load Balance]: every alive pool at the same time, hashes shared by `quota`.
All enabled pools stay connected, so failing over costs no reconnect. A pool that rejects
`reject_limit` shares in a row is marked Rejecting, dropped for `reject_cooldown` seconds, and the
miner fails over.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from enum import StrEnum

from .aio import cancel_and_wait
from .scheduler import Scheduler
from .sources.base import PoolStatus, WorkSource
from .work import ShareResult, Verdict

log = logging.getLogger("hashforge.miner")


class Strategy(StrEnum):
    FAILOVER = "failover"
    ROUND_ROBIN = "round-robin"
    LOAD_BALANCE = "load-balance"

    @property
    def cgminer_name(self) -> str:
        return {"failover": "Failover", "round-robin": "Rotate", "load-balance": "Load Balance"}[self.value]


class PoolManager:
    def __init__(
        self,
        pools: list[WorkSource],
        scheduler: Scheduler,
        strategy: Strategy = Strategy.FAILOVER,
        rotate_interval: float = 600.0,
        reject_limit: int = 10,
        reject_cooldown: float = 300.0,
    ) -> None:
        self.pools = list(pools)
        self.scheduler = scheduler
        self.strategy = strategy
        self.rotate_interval = rotate_interval
        self.reject_limit = reject_limit
        self.reject_cooldown = reject_cooldown
        self.active: list[int] = []
        self._rr_index = 0
        self._rr_since = time.monotonic()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self.on_fatal: Callable[[BaseException], None] = lambda _e: None
        self.on_switch: Callable[[list[int]], None] = lambda _a: None
        for p in self.pools:
            p.on_update = self._updated

    # --- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        for p in self.pools:
            if p.enabled:
                self._start(p)
        try:
            while True:
                await asyncio.sleep(min(1.0, self.rotate_interval))
                if self.strategy == Strategy.ROUND_ROBIN and time.monotonic() - self._rr_since >= self.rotate_interval:
                    self._rr_index += 1
                    self._rr_since = time.monotonic()
                    self.refresh()
        finally:
            await self.stop()

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        await cancel_and_wait(tasks)
        self.scheduler.clear()

    def _start(self, p: WorkSource) -> None:
        task = asyncio.create_task(p.run(), name=f"pool-{p.index}")
        self._tasks[p.index] = task
        task.add_done_callback(functools.partial(self._ended, p))

    def _ended(self, p: WorkSource, task: asyncio.Task[None]) -> None:
        if self._tasks.get(p.index) is task:
            del self._tasks[p.index]
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("pool %d stopped: %s", p.index, exc)
            p.set_status(PoolStatus.DEAD)
            self.on_fatal(exc)

    # --- choosing ---------------------------------------------------------------------------

    def _usable(self) -> list[WorkSource]:
        return sorted(
            (p for p in self.pools if p.enabled and p.status == PoolStatus.ALIVE and p.current is not None),
            key=lambda p: (p.priority, p.index),
        )

    def _updated(self, _source: WorkSource) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Recomputes the active pool(s) and gives the scheduler their current work."""
        usable = self._usable()
        if not usable:
            chosen: list[WorkSource] = []
        elif self.strategy == Strategy.LOAD_BALANCE:
            chosen = usable
        elif self.strategy == Strategy.ROUND_ROBIN:
            chosen = [usable[self._rr_index % len(usable)]]
        else:
            chosen = usable[:1]
        active = [p.index for p in chosen]
        if active != self.active:
            if active:
                log.info("mining for pool %s", ", ".join(f"{i} {self.pool(i).url}" for i in active))
            elif any(p.enabled and p.status == PoolStatus.ALIVE for p in self.pools):
                log.debug("waiting for work")
            else:
                log.warning("no pool is alive: devices idle")
            self.active = active
            self.on_switch(active)
        works = {p.index: p.current for p in chosen if p.current is not None}
        self.scheduler.set_work(works, {p.index: p.quota for p in chosen})

    def pool(self, index: int) -> WorkSource:
        for p in self.pools:
            if p.index == index:
                return p
        raise KeyError(index)

    # --- share outcomes ---------------------------------------------------------------------

    def record(self, p: WorkSource, result: ShareResult) -> None:
        if result.verdict == Verdict.ACCEPTED:
            p.consecutive_rejects = 0
        elif result.verdict == Verdict.REJECTED:
            p.consecutive_rejects += 1
            if p.consecutive_rejects >= self.reject_limit and p.status != PoolStatus.REJECTING:
                log.error("pool %d %s rejected %d shares in a row; marking it Rejecting for %g s and failing over",
                          p.index, p.url, p.consecutive_rejects, self.reject_cooldown)
                p.mark_rejecting(self.reject_cooldown)

    # --- commands (the cgminer API's privileged pool commands) ------------------------------

    def switch_pool(self, index: int) -> WorkSource:
        """Gives pool `index` the best priority (and enables it)."""
        p = self.pool(index)
        best = min(q.priority for q in self.pools)
        for q in self.pools:
            if q is not p and q.priority <= best:
                q.priority += 1
        p.priority = best
        if self.strategy == Strategy.ROUND_ROBIN:
            usable = self._usable()
            self._rr_index = next((i for i, q in enumerate(usable) if q is p), self._rr_index)
            self._rr_since = time.monotonic()
        self.enable_pool(index)
        self.refresh()
        return p

    def enable_pool(self, index: int) -> bool:
        """False if it was already enabled."""
        p = self.pool(index)
        if p.enabled and index in self._tasks:
            return False
        p.enabled = True
        p.status = PoolStatus.DEAD
        self._start(p)
        self.refresh()
        return True

    def disable_pool(self, index: int) -> bool:
        p = self.pool(index)
        if not p.enabled:
            return False
        p.enabled = False
        task = self._tasks.pop(index, None)
        if task is not None:
            task.cancel()
        p.status = PoolStatus.DISABLED
        p.current = None
        self.refresh()
        return True

    def add_pool(self, source: WorkSource) -> WorkSource:
        source.on_update = self._updated
        self.pools.append(source)
        self._start(source)
        return source

    def remove_pool(self, index: int) -> WorkSource:
        p = self.pool(index)
        self.disable_pool(index)
        self.pools.remove(p)
        self.refresh()
        return p

    def next_index(self) -> int:
        return max((p.index for p in self.pools), default=-1) + 1
