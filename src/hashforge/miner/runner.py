"""Runs a Miner with its front-ends: the cgminer API, the live view or periodic status lines,
and restart on request (the API's `restart`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from typing import Any

from rich.console import Console
from rich.live import Live

from .aio import cancel_and_wait
from .api import MinerAPI
from .config import MinerConfig
from .core import Miner
from .tui import MessageBuffer, fmt_rate, render, snapshot

log = logging.getLogger("hashforge.miner")
events = logging.getLogger("hashforge.miner.events")


def stats_event(miner: Miner) -> dict[str, Any]:
    """The figures a `stats` log event carries (and `--benchmark` prints)."""
    rates = miner.total_rates()
    s = miner.totals.shares
    return {
        "event": "stats",
        "uptime": round(miner.uptime, 3),
        "hashrate_5s": round(rates["5s"], 1),
        "hashrate_1m": round(rates["1m"], 1),
        "hashrate_15m": round(rates["15m"], 1),
        "accepted": s.accepted,
        "rejected": s.rejected,
        "stale": s.stale,
        "hardware_errors": miner.hardware_errors(),
        "best_share": s.best_share,
        "blocks": s.blocks,
        "active_pools": list(miner.pools.active),
        "devices": [
            {"name": d.name, "hashrate_5s": round(d.stats.meter.rate(5.0), 1), "accepted": d.stats.shares.accepted,
             "temperature": d.last_telemetry.temperature, "power": d.last_telemetry.power,
             "throttle": d.throttle.state}
            for d in miner.devices
        ],
    }


async def _status_lines(miner: Miner, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        ev = stats_event(miner)
        events.info("%s A:%d R:%d S:%d HW:%d", fmt_rate(ev["hashrate_5s"]), ev["accepted"], ev["rejected"],
                    ev["stale"], ev["hardware_errors"], extra=ev)


async def _live_view(miner: Miner, buffer: MessageBuffer, api: str, console: Console) -> None:
    with Live(render(snapshot(miner, buffer.messages(), api)), console=console, refresh_per_second=2,
              transient=False) as live:
        while True:
            await asyncio.sleep(1.0)
            live.update(render(snapshot(miner, buffer.messages(), api)))


async def run_miner(cfg: MinerConfig, *, live: bool = False, duration: float | None = None,
                    console: Console | None = None) -> Miner:
    """Mines with `cfg` until quit (or `duration`); restarts in place when the API asks."""
    while True:
        miner = Miner(cfg)
        api: MinerAPI | None = None
        if cfg.api_listen:
            api = MinerAPI(miner, cfg.api_listen, cfg.api_allow, cfg.api_description, cfg.api_groups)
            try:
                await api.start()
            except OSError as e:
                log.error("cgminer API not started on %s: %s", cfg.api_listen, e)
                api = None
        fronts: list[asyncio.Task[None]] = []
        buffer: MessageBuffer | None = None
        if live:
            buffer = MessageBuffer()
            logging.getLogger("hashforge").addHandler(buffer)
            fronts.append(asyncio.create_task(_live_view(miner, buffer, f"{api.host}:{api.port}" if api else "",
                                                         console or Console())))
        elif not cfg.benchmark:
            fronts.append(asyncio.create_task(_status_lines(miner, cfg.log_interval)))
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, miner.quit)  # services stop cleanly
        try:
            await miner.run(duration)
        finally:
            await cancel_and_wait(fronts)
            if buffer is not None:
                logging.getLogger("hashforge").removeHandler(buffer)
            if api is not None:
                await api.stop()
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGTERM)
        if not miner.restart_requested:
            return miner
        log.info("restarting")
        if duration is not None:
            duration = max(0.1, duration - (time.monotonic() - started))
