"""Alert rule kinds: what each threshold means, validation, and the checks themselves (pure
functions of what the evaluator observed, so they test with synthetic inputs)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import AlertsError

LEVELS = ("info", "warning", "critical")


@dataclass(frozen=True)
class Kind:
    name: str
    unit: str | None  # the threshold's unit; None: the rule has no threshold
    lo: float = 0.0  # the threshold must be > lo (>= lo when lo_inclusive)
    hi: float = math.inf
    lo_inclusive: bool = False
    default: float | None = None
    level: str = "warning"
    event: bool = False  # fires once per event (block, payout) instead of open/resolved
    about: str = ""


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("offline", "minutes", 0.0, 7 * 1440, level="critical",
         about="a worker sent no accepted share for N minutes"),
    Kind("hashrate_drop", "percent", 0.0, 100.0, level="warning",
         about="a worker's hash rate is below X % of its 24 h average"),
    Kind("reject_rate", "percent", 0.0, 100.0, level="warning",
         about="a miner device's rejected shares are above Y % over the last 10 minutes"),
    Kind("temperature", "celsius", 0.0, 150.0, level="critical",
         about="a miner device is hotter than T °C (devices without a sensor are ignored)"),
    Kind("pool_down", "minutes", 0.0, 1440.0, lo_inclusive=True, default=0.0, level="critical",
         about="the pool's API has not answered for N minutes (0: at once)"),
    Kind("block_found", None, level="info", event=True, about="the pool found a block"),
    Kind("payout_sent", None, level="info", event=True, about="the pool broadcast a payout"),
    Kind("part_restarted", None, level="warning", event=True,
         about="`hashforge up` restarted a part that crashed (node, pool, miner, API)"),
)}


@dataclass(frozen=True)
class Rule:
    id: int
    kind: str
    threshold: float | None
    subject: str | None  # None: every worker/device
    level: str
    quiet_s: float | None  # None: the global quiet period
    enabled: bool
    created_at: float

    @property
    def spec(self) -> Kind:
        return KINDS[self.kind]

    def describe(self) -> str:
        k = self.spec
        scope = self.subject or "all"
        if k.unit is None:
            return f"{k.name} ({scope})"
        sign = {"offline": "for", "hashrate_drop": "<", "reject_rate": ">", "temperature": ">", "pool_down": "for"}
        return f"{k.name} {sign[k.name]} {self.threshold:g} {k.unit} ({scope})"


def validate_rule(kind: str, threshold: float | None, subject: str | None, level: str | None,
                  quiet_s: float | None) -> tuple[str, float | None, str | None, str]:
    """The rule's fields, checked and normalized; AlertsError names the bad field."""
    spec = KINDS.get(kind)
    if spec is None:
        raise AlertsError(f"kind: unknown rule kind {kind!r}; known: {', '.join(KINDS)}")
    if spec.unit is None:
        if threshold is not None:
            raise AlertsError(f"threshold: a {kind} rule takes no threshold")
    else:
        if threshold is None:
            threshold = spec.default
        if threshold is None:
            raise AlertsError(f"threshold: a {kind} rule needs a threshold in {spec.unit}")
        ok_lo = threshold >= spec.lo if spec.lo_inclusive else threshold > spec.lo
        if not math.isfinite(threshold) or not ok_lo or threshold > spec.hi:
            lo = f"{'>=' if spec.lo_inclusive else '>'} {spec.lo:g}"
            raise AlertsError(f"threshold: {threshold:g} is out of range for {kind} ({lo} and <= {spec.hi:g} {spec.unit})")
    if subject is not None:
        subject = subject.strip()
        if subject in ("", "*"):
            subject = None
        elif len(subject) > 200 or any(ch.isspace() for ch in subject):
            raise AlertsError(f"subject: {subject!r} is not a worker or device name")
    level = level or spec.level
    if level not in LEVELS:
        raise AlertsError(f"level: {level!r} is not one of {', '.join(LEVELS)}")
    if quiet_s is not None and (not math.isfinite(quiet_s) or not 0 <= quiet_s <= 30 * 86400):
        raise AlertsError("quiet: the quiet period must be 0 to 43200 minutes")
    return kind, threshold, subject, level


# --- the checks: (firing, message); firing None means "cannot tell yet" ------------------------

def check_offline(worker: str, last_share: float, now: float, minutes: float) -> tuple[bool | None, str]:
    if last_share <= 0:
        return None, ""
    idle = now - last_share
    return idle >= minutes * 60, f"Worker {worker} has sent no share for {idle / 60:.1f} min (limit {minutes:g} min)."


MIN_SAMPLES = 3


def check_hashrate(worker: str, current: float, average: float, samples: int, percent: float) -> tuple[bool | None, str]:
    if samples < MIN_SAMPLES or average <= 0:
        return None, ""
    share = 100.0 * current / average
    return share < percent, (f"Worker {worker} hashes at {share:.0f} % of its 24 h average "
                             f"({current:.3g} vs {average:.3g} H/s; limit {percent:g} %).")


MIN_SHARES = 10
REJECT_WINDOW_S = 600.0


def check_rejects(device: str, accepted: int, rejected: int, percent: float) -> tuple[bool | None, str]:
    total = accepted + rejected
    if total < MIN_SHARES:
        return None, ""
    rate = 100.0 * rejected / total
    return rate > percent, (f"Device {device} rejected {rate:.1f} % of its last {total} shares (limit {percent:g} %).")


def check_temperature(device: str, celsius: float | None, limit: float) -> tuple[bool | None, str]:
    if celsius is None or not math.isfinite(celsius) or celsius <= 0:
        return None, ""  # no sensor ("n/a", 0, missing)
    return celsius > limit, f"Device {device} is at {celsius:.1f} °C (limit {limit:g} °C)."


def check_pool(down_since: float | None, now: float, minutes: float) -> tuple[bool, str]:
    if down_since is None:
        return False, "The pool's API answers."
    down = now - down_since
    return down >= minutes * 60, f"The pool's API has not answered for {down / 60:.1f} min."
