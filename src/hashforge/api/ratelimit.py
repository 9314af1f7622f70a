"""Token buckets, one per API key (or per client address for anonymous callers)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class TokenBuckets:
    """`rate` tokens a second up to `burst`; each request takes one. Not thread-safe: loop thread only."""

    MAX_BUCKETS = 10_000

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, who: str) -> float:
        """0.0 if allowed now; otherwise the seconds to wait (the request is not counted)."""
        now = self._clock()
        tokens, last = self._buckets.get(who, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[who] = (tokens - 1.0, now)
            if len(self._buckets) > self.MAX_BUCKETS:
                self._prune(now)
            return 0.0
        self._buckets[who] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        """Drops buckets that have refilled (they behave exactly like new ones)."""
        full_after = self.burst / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}


def retry_after_header(wait_s: float) -> str:
    return str(max(1, math.ceil(wait_s)))
