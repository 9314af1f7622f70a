"""Formatting for people: hash rates with SI prefixes, difficulties, times. Pure functions."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

MAX_FUTURE_S = 2 * 3600  # a block may be this far ahead of the clock (consensus rule); not worth remarking
_SI = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"]


def si(value: float, unit: str = "", digits: int = 3) -> str:
    """1234567 -> '1.23 M' + unit; tiny values use scientific notation."""
    if value is None or math.isnan(value):
        return "–"
    if value == 0:
        return f"0 {unit}".strip()
    if abs(value) < 0.01:
        return f"{value:.{digits - 1}e} {unit}".strip()
    exp = min(len(_SI) - 1, max(0, math.floor(math.log10(abs(value)) / 3)))
    scaled = value / 1000**exp
    return f"{scaled:.{digits}g} {_SI[exp]}{unit}".strip()


def hashrate(hps: float | None) -> str:
    return "–" if hps is None else si(hps, "H/s")


def difficulty(d: float | None) -> str:
    return "–" if d is None else si(d)


def utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(ts: int, now: float | None = None) -> str:
    delta = int((time.time() if now is None else now) - ts)
    if delta < -MAX_FUTURE_S:
        return "in the future"
    if delta < 60:
        delta = max(0, delta)
        return f"{delta} s ago"
    if delta < 3600:
        return f"{delta // 60} min ago"
    if delta < 86400:
        return f"{delta // 3600} h ago"
    return f"{delta // 86400} d ago"


def short_hash(h: str) -> str:
    return f"{h[:8]}…{h[-8:]}"


def coins(sat: int) -> str:
    whole, frac = divmod(abs(sat), 100_000_000)
    return f"{'-' if sat < 0 else ''}{whole:,}.{frac:08d}"


def clock(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M")


def percent(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.1f} %"
