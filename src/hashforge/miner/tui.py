"""The live terminal view (Rich), laid out like cgminer's: totals, pools, a device table and the
latest log lines. `snapshot()` reads a Miner; `render()` is a pure function of a Snapshot, so a
test renders a fixed Snapshot to text with a fixed-width Console."""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from hashforge import __version__

from .sensors import Telemetry


@dataclass(frozen=True)
class DeviceRow:
    name: str
    status: str
    rate_5s: float
    rate_1m: float
    rate_15m: float
    accepted: int
    rejected: int
    stale: int
    hardware_errors: int
    best_share: float
    temperature: float | None
    power: float | None
    throttle: str


@dataclass(frozen=True)
class PoolRow:
    index: int
    url: str
    user: str
    status: str
    difficulty: float
    accepted: int
    rejected: int
    stale: int
    active: bool
    height: int
    message: str


@dataclass(frozen=True)
class Snapshot:
    algo: str
    strategy: str
    uptime: float
    rate_5s: float
    rate_1m: float
    rate_15m: float
    rate_avg: float
    accepted: int
    rejected: int
    stale: int
    hardware_errors: int
    best_share: float
    blocks: int
    devices: tuple[DeviceRow, ...]
    pools: tuple[PoolRow, ...]
    messages: tuple[str, ...]
    api: str = ""
    version: str = __version__


def snapshot(miner: Any, messages: tuple[str, ...] = (), api: str = "") -> Snapshot:
    rates = miner.total_rates()
    s = miner.totals.shares
    devices = []
    for d in miner.devices:
        r = d.stats.meter.rates()
        sh = d.stats.shares
        tel = d.last_telemetry
        devices.append(DeviceRow(d.name, d.status, r["5s"], r["1m"], r["15m"], sh.accepted, sh.rejected, sh.stale,
                                 d.stats.hardware_errors, sh.best_share, tel.temperature, tel.power, d.throttle.state))
    pools = tuple(
        PoolRow(p.index, p.url, p.user, p.status.value if p.enabled else "Disabled", p.difficulty,
                p.shares.accepted, p.shares.rejected, p.shares.stale, p.index in miner.pools.active,
                p.current_height, p.message)
        for p in miner.pools.pools
    )
    up = max(miner.uptime, 1e-9)
    return Snapshot(miner.cfg.algo, miner.pools.strategy.cgminer_name, miner.uptime, rates["5s"], rates["1m"],
                    rates["15m"], miner.total_hashes() / up, s.accepted, s.rejected, s.stale, miner.hardware_errors(),
                    s.best_share, s.blocks, tuple(devices), pools, messages, api)


def fmt_rate(h: float) -> str:
    """Hashes per second with an SI prefix: 45.09 MH/s."""
    for unit, scale in (("PH/s", 1e15), ("TH/s", 1e12), ("GH/s", 1e9), ("MH/s", 1e6), ("kH/s", 1e3)):
        if h >= scale:
            return f"{h / scale:.2f} {unit}"
    return f"{h:.1f} H/s"


def fmt_diff(d: float) -> str:
    """cgminer's short difficulty: 1.23K, 4.5M; small ones as plain numbers."""
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if d >= scale:
            return f"{d / scale:.3g}{unit}"
    return f"{d:.4g}"


def fmt_uptime(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 86400}d {s % 86400 // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def render(snap: Snapshot) -> RenderableType:
    head = Text.assemble(
        (f" hashforge {snap.version}", "bold"),
        f" - {snap.algo} - {snap.strategy} - uptime {fmt_uptime(snap.uptime)}",
        f" - API {snap.api}" if snap.api else "",
    )
    totals = Text(
        f" (5s):{fmt_rate(snap.rate_5s)} (1m):{fmt_rate(snap.rate_1m)} (15m):{fmt_rate(snap.rate_15m)}"
        f" (avg):{fmt_rate(snap.rate_avg)}"
    )
    shares = Text(
        f" A:{snap.accepted} R:{snap.rejected} S:{snap.stale} HW:{snap.hardware_errors}"
        f" Best share:{fmt_diff(snap.best_share)} Blocks:{snap.blocks}"
    )
    pool_lines = []
    for p in snap.pools:
        mark = "*" if p.active else " "
        line = (f" {mark}Pool {p.index}: {p.url} {p.status} diff {fmt_diff(p.difficulty)}"
                f" A:{p.accepted} R:{p.rejected} S:{p.stale} user {p.user or '-'}")
        if p.height:
            line += f" height {p.height}"
        pool_lines.append(Text(line, style="green" if p.active else ""))
        if p.message:
            pool_lines.append(Text(f"    message: {p.message}", style="yellow"))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=False, collapse_padding=True, padding=(0, 1))
    for col, just in (("Device", "left"), ("Status", "left"), ("5s", "right"), ("1m", "right"), ("15m", "right"),
                      ("A/R/S", "right"), ("HW", "right"), ("Best", "right"), ("Temp", "right"), ("Power", "right"),
                      ("Throttle", "left")):
        table.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
    for d in snap.devices:
        table.add_row(d.name, d.status, fmt_rate(d.rate_5s), fmt_rate(d.rate_1m), fmt_rate(d.rate_15m),
                      f"{d.accepted}/{d.rejected}/{d.stale}", str(d.hardware_errors), fmt_diff(d.best_share),
                      Telemetry.fmt(d.temperature, "C"), Telemetry.fmt(d.power, "W"), d.throttle)
    return Group(head, totals, shares, Rule(style="dim"), *pool_lines, Rule(style="dim"), table,
                 Rule(style="dim"), *(Text(" " + m) for m in snap.messages))


class MessageBuffer(logging.Handler):
    """Keeps the last log lines for the view's bottom panel."""

    def __init__(self, size: int = 8) -> None:
        super().__init__(logging.INFO)
        self.lines: deque[str] = deque(maxlen=size)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
            self.lines.append(f"[{stamp}] {record.getMessage()}")
        except Exception:  # a log line must never break the view
            self.handleError(record)

    def messages(self) -> tuple[str, ...]:
        return tuple(self.lines)
