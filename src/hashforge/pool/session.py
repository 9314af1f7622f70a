"""Per-connection state the stratifier keeps, and the extranonce1 allocator.

Extranonce1 is 4 bytes: the instance id (one byte) then a 24-bit counter, so pool processes
with different instance ids never hand two miners the same coinbase (their work is disjoint
even when they share a database and a node). A disconnected session's extranonce1 is held for
`resume_seconds` so a miner reconnecting with mining.subscribe's session id gets it back.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from .template import EXTRANONCE1_SIZE, PoolJob
from .vardiff import Vardiff


@dataclass(frozen=True, slots=True)
class Worker:
    """An authorized `ADDRESS.worker` login."""

    username: str
    address: str
    name: str
    script: bytes


@dataclass(slots=True)
class SessionJob:
    """A job as one session received it: with the difficulty in force when it was sent."""

    pool_job: PoolJob
    difficulty: float


class TokenBucket:
    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.stamp = rate, burst, burst, now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(eq=False)
class Session:
    """One Stratum connection. `send` queues a line in order; `close` ends the connection."""

    id: int
    peer: str
    extranonce1: bytes
    send: Callable[[bytes], None]
    close: Callable[[str], None]
    vardiff: Vardiff
    bucket: TokenBucket
    connected_at: float = field(default_factory=time.time)
    connected_at_mono: float = field(default_factory=time.monotonic)
    subscribed: bool = False
    user_agent: str = ""
    workers: dict[str, Worker] = field(default_factory=dict)
    version_mask: int = 0
    extranonce_subscribed: bool = False
    jobs: OrderedDict[str, SessionJob] = field(default_factory=OrderedDict)
    stale_jobs: dict[str, SessionJob] = field(default_factory=dict)  # the jobs the last new tip dropped
    job_alias: int = 0
    invalid_streak: int = 0
    rate_violations: int = 0
    authorizing: int = 0  # mining.authorize calls whose address check is still running
    suggested_at: float | None = None  # monotonic time of the last honoured suggest_difficulty
    accepted: int = 0
    rejected: int = 0
    closed: bool = False

    @property
    def difficulty(self) -> float:
        return self.vardiff.difficulty

    @property
    def payout_worker(self) -> Worker | None:
        """The first authorized worker: in SOLO mode its address is paid by the coinbase."""
        return next(iter(self.workers.values()), None)


class ExtranonceAllocator:
    def __init__(self, instance_id: int, resume_seconds: float = 600.0) -> None:
        if not 0 <= instance_id <= 255:
            raise ValueError("instance_id must be in 0..255")
        self.prefix = bytes([instance_id])
        self.resume_seconds = resume_seconds
        self._next = 1
        self._in_use: set[bytes] = set()
        self._parked: OrderedDict[bytes, float] = OrderedDict()

    def _expire(self, now: float) -> None:
        while self._parked:
            _en1, at = next(iter(self._parked.items()))
            if now - at < self.resume_seconds:
                break
            self._parked.popitem(last=False)

    def allocate(self, resume: str | None = None, now: float | None = None) -> bytes:
        now = time.monotonic() if now is None else now
        self._expire(now)
        if resume:
            try:
                wanted = bytes.fromhex(resume)
            except ValueError:
                wanted = b""
            if wanted in self._parked:
                del self._parked[wanted]
                self._in_use.add(wanted)
                return wanted
        space = 1 << (8 * (EXTRANONCE1_SIZE - 1))
        for _ in range(space):
            n = self._next
            self._next = self._next % (space - 1) + 1
            en1 = self.prefix + n.to_bytes(EXTRANONCE1_SIZE - 1, "big")
            if en1 not in self._in_use and en1 not in self._parked:
                self._in_use.add(en1)
                return en1
        raise RuntimeError("extranonce1 space exhausted")

    def release(self, en1: bytes, now: float | None = None) -> None:
        if en1 in self._in_use:
            self._in_use.discard(en1)
            self._parked[en1] = time.monotonic() if now is None else now

    def __len__(self) -> int:
        return len(self._in_use)
