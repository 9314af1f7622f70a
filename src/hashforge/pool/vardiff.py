"""Variable difficulty per connection.

Each accepted share adds its difficulty to a window. When the window is `retarget_window`
seconds old, or holds `retarget_shares` shares (so a fast miner ramps up in seconds), the rate
in difficulty units per second is measured and the ideal difficulty is
`rate x target_interval`. If it differs from the current one by more than `variance`
(relative), the difficulty moves there, by at most a factor `max_step`, clamped to
[min_difficulty, min(max_difficulty, network difficulty)]. With no share for
`idle_decay_after` seconds the difficulty halves (repeatedly), so a miner that slowed down,
or a CPU miner that started too high, gets work it can finish. The result is rounded to 4
significant digits so the numbers miners see stay readable.
"""

from __future__ import annotations

from .config import VardiffConfig


def _round(d: float) -> float:
    return float(f"{d:.4g}")


class Vardiff:
    __slots__ = ("_count", "_decayed_at", "_sum", "_window_start", "cfg", "difficulty", "last_share")

    def __init__(self, cfg: VardiffConfig, start: float, now: float) -> None:
        self.cfg = cfg
        self.difficulty = start
        self._window_start = now
        self._sum = 0.0
        self._count = 0
        self.last_share = now
        self._decayed_at = now

    def clamp(self, d: float, network_difficulty: float | None) -> float:
        hi = self.cfg.max_difficulty
        if network_difficulty is not None and network_difficulty > 0:
            hi = min(hi, network_difficulty)
        lo = min(self.cfg.min_difficulty, hi)
        return min(max(d, lo), hi)

    def reset(self, difficulty: float, now: float) -> None:
        self.difficulty = difficulty
        self._window_start = now
        self._sum = 0.0
        self._count = 0

    def on_share(self, difficulty: float, now: float, network_difficulty: float | None) -> float | None:
        """Records an accepted share; returns the new difficulty when it should change."""
        self._sum += difficulty
        self._count += 1
        self.last_share = now
        self._decayed_at = now
        elapsed = now - self._window_start
        if elapsed < self.cfg.retarget_window and self._count < self.cfg.retarget_shares:
            return None
        elapsed = max(elapsed, 1e-3)
        ideal = self._sum / elapsed * self.cfg.target_interval
        current = self.difficulty
        self._window_start, self._sum, self._count = now, 0.0, 0
        ratio = ideal / current
        if abs(ratio - 1.0) <= self.cfg.variance:
            return None
        ratio = min(max(ratio, 1.0 / self.cfg.max_step), self.cfg.max_step)
        new = self.clamp(_round(current * ratio), network_difficulty)
        if new == current:
            return None
        self.reset(new, now)
        return new

    def on_idle(self, now: float, network_difficulty: float | None) -> float | None:
        """Called periodically: halves the difficulty after `idle_decay_after` without shares."""
        if now - self._decayed_at < self.cfg.idle_decay_after:
            return None
        self._decayed_at = now
        new = self.clamp(_round(self.difficulty / 2), network_difficulty)
        if new >= self.difficulty:
            return None
        self.reset(new, now)
        return new
