"""What every work source (Stratum pool, solo node, benchmark) offers the pool manager."""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from ..aio import sleep_unless_cancelled
from ..stats import ShareCounters
from ..work import Share, ShareResult, Verdict, Work

log = logging.getLogger("hashforge.miner")


class PoolStatus(StrEnum):
    """cgminer's pool states (its API reports these strings)."""

    ALIVE = "Alive"
    DEAD = "Dead"
    DISABLED = "Disabled"
    REJECTING = "Rejecting"


class WorkSource(ABC):
    kind = "source"  # "stratum", "gbt", "benchmark"

    def __init__(self, index: int, url: str, user: str = "", password: str = "",
                 priority: int | None = None, quota: int = 1) -> None:
        self.index = index
        self.url = url
        self.user = user
        self.password = password
        self.priority = index if priority is None else priority
        self.quota = max(1, quota)
        self.status = PoolStatus.DEAD
        self.enabled = True
        self.current: Work | None = None
        self.epoch = 0
        self.shares = ShareCounters()
        self.on_update: Callable[[WorkSource], None] = lambda _s: None
        self.jobs_received = 0  # cgminer's Getworks
        self.get_failures = 0  # connection attempts that failed
        self.remote_failures = 0  # connections that broke after working
        self.discarded = 0  # shares dropped as stale before submitting
        self.message = ""  # the last client.show_message
        self.consecutive_rejects = 0
        self.rejecting_until = 0.0
        self.difficulty = 0.0
        self.current_height = 0
        self.last_error = ""

    # --- to implement -----------------------------------------------------------------------

    @abstractmethod
    async def run(self) -> None:
        """Connects and keeps connected (reconnecting with backoff) until cancelled."""

    @abstractmethod
    async def _send_share(self, share: Share) -> ShareResult: ...

    def disconnect(self) -> None:  # noqa: B027 - optional hook
        """Drops the connection now (the run loop reconnects, or waits while rejecting)."""

    # --- shared behaviour -------------------------------------------------------------------

    @property
    def has_stratum(self) -> bool:
        return self.kind == "stratum"

    @property
    def has_gbt(self) -> bool:
        return self.kind == "gbt"

    @property
    def version_mask(self) -> int:
        return self.current.version_mask if self.current else 0

    def is_stale(self, work: Work) -> bool:
        """Work from a previous epoch (clean job, new block, new extranonce, reconnect) or a job
        the source no longer accepts."""
        return work.epoch != self.epoch or self.current is None

    async def submit(self, share: Share) -> ShareResult:
        """Submits a share of this source's own work; stale ones are dropped, never sent."""
        if share.work.source != self.index:
            raise ValueError("a share goes only to the source that issued its work")
        if self.is_stale(share.work):
            self.discarded += 1
            return ShareResult(Verdict.STALE, "stale job (dropped before submitting)")
        return await self._send_share(share)

    def set_work(self, work: Work | None) -> None:
        self.current = work
        if work is not None:
            self.difficulty = work.difficulty
        self.on_update(self)

    def set_status(self, status: PoolStatus) -> None:
        if status != self.status:
            log.info("pool %d %s: %s", self.index, self.url, status.value)
            self.status = status
            self.on_update(self)

    def mark_rejecting(self, cooldown: float) -> None:
        self.rejecting_until = time.monotonic() + cooldown
        self.set_status(PoolStatus.REJECTING)
        self.current = None
        self.disconnect()
        self.on_update(self)

    async def wait_out_rejecting(self) -> None:
        left = self.rejecting_until - time.monotonic()
        if left > 0:
            await sleep_unless_cancelled(left)
        self.consecutive_rejects = 0

    def describe(self) -> dict[str, Any]:
        return {"url": self.url, "user": self.user, "kind": self.kind}
