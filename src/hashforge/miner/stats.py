"""Hash-rate meters and share counters, per device and per pool; thread-safe.

Rates are exact windowed averages (hashes done in the last 5 s / 1 min / 15 min, divided by the
window or by the time since start if shorter), kept in one-second buckets.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

WINDOWS = {"5s": 5.0, "1m": 60.0, "5m": 300.0, "15m": 900.0}


class RateMeter:
    def __init__(self, now: float | None = None) -> None:
        self._lock = threading.Lock()
        self._buckets: deque[list[float]] = deque()  # [second, hashes]
        self.started = time.monotonic() if now is None else now
        self.total = 0

    def add(self, hashes: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        sec = float(int(now))
        with self._lock:
            self.total += hashes
            if self._buckets and self._buckets[-1][0] == sec:
                self._buckets[-1][1] += hashes
            else:
                self._buckets.append([sec, float(hashes)])
            horizon = now - max(WINDOWS.values()) - 2
            while self._buckets and self._buckets[0][0] < horizon:
                self._buckets.popleft()

    def rate(self, window: float, now: float | None = None) -> float:
        """Hashes per second over the last `window` seconds."""
        now = time.monotonic() if now is None else now
        since = now - window
        with self._lock:
            done = sum(h for s, h in self._buckets if s + 1 > since)
        span = min(window, max(now - self.started, 1e-9))
        return done / span if span > 0 else 0.0

    def rates(self, now: float | None = None) -> dict[str, float]:
        now = time.monotonic() if now is None else now
        return {name: self.rate(w, now) for name, w in WINDOWS.items()}

    def average(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        return self.total / max(now - self.started, 1e-9)


@dataclass
class ShareCounters:
    """Shares by outcome, with reasons and difficulty sums (cgminer's Difficulty Accepted etc.)."""

    accepted: int = 0
    rejected: int = 0
    stale: int = 0
    blocks: int = 0
    diff_accepted: float = 0.0
    diff_rejected: float = 0.0
    diff_stale: float = 0.0
    best_share: float = 0.0
    last_share_difficulty: float = 0.0
    last_share_time: float = 0.0  # wall clock, 0 if none
    reasons: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def found(self, difficulty: float) -> None:
        with self._lock:
            self.best_share = max(self.best_share, difficulty)

    def record(self, verdict: str, difficulty: float, reason: str = "", block: bool = False) -> None:
        with self._lock:
            self.last_share_difficulty = difficulty
            self.best_share = max(self.best_share, difficulty)
            if verdict == "accepted":
                self.accepted += 1
                self.diff_accepted += difficulty
                self.last_share_time = time.time()
                self.blocks += int(block)
            elif verdict == "stale":
                self.stale += 1
                self.diff_stale += difficulty
                self.reasons[reason or "stale"] += 1
            else:
                self.rejected += 1
                self.diff_rejected += difficulty
                self.reasons[reason or "rejected"] += 1

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "accepted": self.accepted,
                "rejected": self.rejected,
                "stale": self.stale,
                "blocks": self.blocks,
                "best_share": self.best_share,
                "reasons": dict(self.reasons),
            }


@dataclass
class DeviceStats:
    name: str
    meter: RateMeter = field(default_factory=RateMeter)
    shares: ShareCounters = field(default_factory=ShareCounters)
    hardware_errors: int = 0
    started: float = field(default_factory=time.time)  # wall clock
    last_valid_work: float = 0.0
    diff1_work: float = 0.0  # hashes / 2^32: difficulty-1 shares' worth of work done
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add_hashes(self, hashes: int) -> None:
        self.meter.add(hashes)
        with self._lock:
            self.diff1_work += hashes / 4294967296.0
            self.last_valid_work = time.time()

    def hardware_error(self) -> None:
        with self._lock:
            self.hardware_errors += 1

    @property
    def uptime(self) -> float:
        return max(0.0, time.time() - self.started)
