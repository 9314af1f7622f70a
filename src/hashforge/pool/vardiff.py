"""Variable difficulty per connection.

Each accepted share adds its difficulty to a window. When the window is `retarget_window`
seconds old, or holds `retarget_shares` shares (so a fast miner ramps up in seconds), the rate
in difficulty units per second is measured and the ideal difficulty is
`rate x target_interval` (after only FAST_RAMP_SHARES shares when that is a whole `max_step`
above the current difficulty). If it differs from the current one by more than `variance`
(relative), the difficulty moves there, by at most a factor `max_step`, clamped to
[floor, ceiling]: the floor is the operator's minimum share difficulty, the ceiling
`max_difficulty` and, on real networks, the network difficulty (so no block is withheld; the
floor gives way to it). On test networks the ceiling ignores the network difficulty: where it
is below any useful share difficulty (regtest's ~4.7e-10), a plain miner would otherwise send
a share per hash, all valid, and only a flood guard could stop it. With no share for
`idle_decay_after` seconds the difficulty halves (repeatedly), so a miner that slowed down,
or a CPU miner that started too high, gets work it can finish. The result is rounded to 4
significant digits so the numbers miners see stay readable.
"""

from __future__ import annotations

from .config import VardiffConfig

FAST_RAMP_SHARES = 4  # shares enough to see a rate `max_step` times too fast


def _round(d: float) -> float:
    return float(f"{d:.4g}")


class Vardiff:
    __slots__ = ("_count", "_decayed_at", "_sum", "_window_start", "above_network", "cfg", "difficulty", "floor",
                 "last_share", "since")

    def __init__(self, cfg: VardiffConfig, start: float, now: float, *, floor: float | None = None,
                 above_network: bool = False) -> None:
        self.cfg = cfg
        self.floor = floor if floor is not None else (cfg.min_difficulty or 1e-8)
        self.above_network = above_network  # a test network: the network difficulty is no ceiling
        self.difficulty = start
        self.since = now  # when the current difficulty was set
        self._window_start = now
        self._sum = 0.0
        self._count = 0
        self.last_share = now
        self._decayed_at = now

    def ceiling(self, network_difficulty: float | None) -> float:
        hi = self.cfg.max_difficulty
        if not self.above_network and network_difficulty is not None and network_difficulty > 0:
            hi = min(hi, network_difficulty)
        return hi

    def clamp(self, d: float, network_difficulty: float | None) -> float:
        hi = self.ceiling(network_difficulty)
        lo = min(self.floor, hi)
        return min(max(d, lo), hi)

    def start(self, d: float, network_difficulty: float | None) -> float:
        """A first difficulty: at most the network's (work the miner can finish), within the clamp."""
        if network_difficulty is not None and network_difficulty > 0:
            d = min(d, network_difficulty)
        return self.clamp(d, network_difficulty)

    def reset(self, difficulty: float, now: float) -> None:
        self.difficulty = difficulty
        self.since = self._window_start = now
        self._sum = 0.0
        self._count = 0

    def on_flood(self, now: float, network_difficulty: float | None) -> float | None:
        """Valid shares faster than the submit budget: one `max_step` up, at most once per
        `flood_raise_after` seconds; None while waiting, or when the ceiling allows no more."""
        if now - self.since < self.cfg.flood_raise_after:
            return None
        new = self.clamp(_round(self.difficulty * self.cfg.max_step), network_difficulty)
        if new <= self.difficulty:
            return None
        self.reset(new, now)
        return new

    def on_share(self, difficulty: float, now: float, network_difficulty: float | None) -> float | None:
        """Records an accepted share; returns the new difficulty when it should change."""
        self._sum += difficulty
        self._count += 1
        self.last_share = now
        self._decayed_at = now
        elapsed = now - self._window_start
        # a few shares far too fast already tell: a whole step up at once (a fast miner on a test
        # network, where each share may be a block and a new tip, ramps in milliseconds)
        too_fast = self._count >= FAST_RAMP_SHARES and \
            self._sum / max(elapsed, 1e-3) * self.cfg.target_interval >= self.difficulty * self.cfg.max_step
        if elapsed < self.cfg.retarget_window and self._count < self.cfg.retarget_shares and not too_fast:
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
