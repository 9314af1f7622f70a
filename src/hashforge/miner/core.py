"""The Miner: wires sources, pool manager, scheduler and devices, and checks every found nonce.

Threads and the loop: device threads call `_found` (from ResultSink); it verifies the hash with
hashlib (a nonce that does not verify is a hardware error) and hands the good shares of one
kernel call to the event loop in one call_soon_threadsafe. Everything else runs on the loop.

Submit rate: when the share target is as easy as the network's (regtest: every hash of two is
a share *and* a block) a CPU finds tens of thousands of shares a second; submitting them all
floods the event loop (the cgminer API stops answering, a clean job waits behind the queue)
and the pool. So each pool gets at most `SUBMIT_RATE` shares a second (burst `SUBMIT_BURST`),
the best ones of a kernel call first; the rest count as Discarded. Where blocks are rare among
shares (share target over 16x the network's: every real pool) a block always goes out. Shares
of a job that a clean job (or new block) made stale are dropped before they are submitted, as
cgminer does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from hashforge.kernels import Found

from .aio import cancel_and_wait
from .config import MinerConfig
from .devices import Device, DeviceOptions, build_devices
from .errors import ConfigError
from .pools import PoolManager
from .scheduler import Scheduler
from .sources import BenchmarkSource, SoloSource, StratumSource, WorkSource
from .stats import RateMeter, ShareCounters
from .work import Share, ShareResult, Verdict, WorkUnit, pow_hash

log = logging.getLogger("hashforge.miner")
events = logging.getLogger("hashforge.miner.events")

GOVERNOR_INTERVAL = 1.0
SUBMIT_GRACE = 5.0  # seconds shares in flight may take at shutdown
SUBMIT_RATE = 50.0  # shares a second per pool at most (a pool's flood limit is far above: 200/s)
SUBMIT_BURST = 100.0


class SubmitLimiter:
    """A token bucket shared by device threads (hence the lock)."""

    def __init__(self, rate: float = SUBMIT_RATE, burst: float = SUBMIT_BURST) -> None:
        self.rate, self.burst, self.tokens = rate, burst, burst
        self.stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self, n: int) -> int:
        """Takes up to `n` tokens; returns how many it got."""
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            got = min(n, int(self.tokens))
            self.tokens -= got
            return got


@dataclass
class Totals:
    meter: RateMeter = field(default_factory=RateMeter)
    shares: ShareCounters = field(default_factory=ShareCounters)
    started: float = field(default_factory=time.time)
    stopped: float | None = None
    network_blocks: int = 0


def build_sources(cfg: MinerConfig) -> list[WorkSource]:
    if cfg.benchmark:
        return [BenchmarkSource(0, cfg.algo)]
    sources: list[WorkSource] = []
    for i, p in enumerate(cfg.pools):
        sources.append(StratumSource(
            i, p.url, p.user, p.password, algo=cfg.algo, priority=p.priority, quota=p.quota,
            version_rolling=cfg.version_rolling, suggest_difficulty=cfg.suggest_difficulty,
            extranonce_subscribe=cfg.extranonce_subscribe, ntime_window=cfg.ntime_window,
            backoff=cfg.backoff, tls_verify=cfg.tls_verify,
        ))
    if cfg.solo is not None:
        s = cfg.solo
        sources.append(SoloSource(len(sources), s.node_rpc, s.address, user=s.rpc_user, password=s.rpc_password,
                                  cookie=s.cookie, algo=cfg.algo, backoff=cfg.backoff))
    return sources


class Miner:
    def __init__(self, cfg: MinerConfig, devices: Sequence[Device] | None = None,
                 sources: Sequence[WorkSource] | None = None) -> None:
        self.cfg = cfg
        self.devices = list(devices) if devices is not None else build_devices(
            list(cfg.devices),
            DeviceOptions(cfg.algo, cfg.threads, cfg.backend, cfg.max_load, cfg.temp_target, cfg.temp_cutoff,
                          cfg.intensity, cfg.lookup_gap),
        )
        self.scheduler = Scheduler(slots=max(d.slot for d in self.devices) + 1)
        self.pools = PoolManager(list(sources) if sources is not None else build_sources(cfg), self.scheduler,
                                 cfg.strategy, cfg.rotate_interval, cfg.reject_limit, cfg.reject_cooldown)
        self.totals = Totals()
        self.pools.on_fatal = self._fatal
        self.pools.on_switch = self._switched
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()
        self.restart_requested = False
        self.error: BaseException | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._last_prev: dict[int, bytes] = {}
        self._limiters: dict[int, SubmitLimiter] = {}
        self._limiters_lock = threading.Lock()

    # --- lifecycle --------------------------------------------------------------------------

    async def run(self, duration: float | None = None) -> None:
        """Mines until quit()/restart() (or `duration` seconds); raises a source's fatal error."""
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        self.totals.started = time.time()
        self.totals.stopped = None
        for d in self.devices:
            d.start(self.scheduler, self._found)
        tasks = [asyncio.create_task(self.pools.run(), name="pools"),
                 asyncio.create_task(self._governor(), name="governor")]
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), duration)
        finally:
            await self.shutdown(tasks)
        if self.error is not None:
            raise self.error

    async def shutdown(self, tasks: Sequence[asyncio.Task[None]] = ()) -> None:
        """Devices stop first, shares in flight get their answer (a few seconds at most), then
        the pools disconnect."""
        self.scheduler.stop()
        for d in self.devices:
            await asyncio.to_thread(d.stop)
        self.totals.stopped = time.time()
        await asyncio.sleep(0)  # let the last call_soon_threadsafe submissions start
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=SUBMIT_GRACE)
        await cancel_and_wait([*tasks, *self._inflight])
        await self.pools.stop()

    def quit(self) -> None:
        self._stop.set()

    def restart(self) -> None:
        self.restart_requested = True
        self._stop.set()

    def _fatal(self, exc: BaseException) -> None:
        if isinstance(exc, ConfigError):
            self.error = exc
            self._stop.set()

    def _switched(self, active: list[int]) -> None:
        events.info("pool switch", extra={"event": "pool", "active": active})

    async def _governor(self) -> None:
        while True:
            for d in self.devices:
                tel = await asyncio.to_thread(d.telemetry)
                d.throttle.update(tel.temperature)
            for p in self.pools.pools:
                w = p.current
                if w is not None and self._last_prev.get(p.index) not in (None, w.job.prev_hash):
                    self.totals.network_blocks += 1
                if w is not None:
                    self._last_prev[p.index] = w.job.prev_hash
            await asyncio.sleep(GOVERNOR_INTERVAL)

    # --- found nonces (device threads) ------------------------------------------------------

    def _limiter(self, source: int) -> SubmitLimiter:
        with self._limiters_lock:
            lim = self._limiters.get(source)
            if lim is None:
                lim = self._limiters[source] = SubmitLimiter()
            return lim

    def _found(self, device: Device, unit: WorkUnit, found: Sequence[Found]) -> None:
        work = unit.work
        good: list[Share] = []
        for f in found:
            header = unit.header_for(f.version, f.nonce)
            h = pow_hash(work.algo, header)
            if int.from_bytes(h, "little") > work.target or f.version not in unit.versions:
                device.stats.hardware_error()
                log.warning("%s: hardware error: nonce %08x does not meet the target", device.name, f.nonce)
                continue
            good.append(Share(work, unit.extranonce2, unit.ntime, f.nonce, f.version, h, device.name))
        if not good:
            return
        must: list[Share] = []
        rest = good
        if work.target >> 4 > work.block_target:  # blocks are rare among shares: a block always goes out
            must = [sh for sh in good if sh.is_block]
            rest = [sh for sh in good if not sh.is_block]
        allowed = self._limiter(work.source).take(len(rest))
        if allowed < len(rest):
            rest.sort(key=lambda sh: int.from_bytes(sh.pow_hash, "little"))  # the best first
        send = must + rest[:allowed]
        dropped = len(rest) - allowed
        if self._loop is not None and (send or dropped):
            self._loop.call_soon_threadsafe(self._spawn_submits, device, work.source, send, dropped)

    def _spawn_submits(self, device: Device, source: int, shares: Sequence[Share], dropped: int) -> None:
        if dropped:
            with contextlib.suppress(KeyError):  # the pool was removed
                self.pools.pool(source).discarded += dropped
        for share in shares:
            self._spawn_submit(device, share)

    def _spawn_submit(self, device: Device, share: Share) -> None:
        try:
            source = self.pools.pool(share.work.source)
        except KeyError:
            return  # the pool was removed: its shares go nowhere else
        if source.is_stale(share.work):  # cheap early drop (an easy target can find thousands)
            source.discarded += 1
            diff = share.difficulty
            for counters in (device.stats.shares, source.shares, self.totals.shares):
                counters.record(Verdict.STALE, diff, "stale job (dropped before submitting)")
            log.debug("%s: share of a stale job dropped", device.name)
            return
        task = asyncio.create_task(self._submit(device, share))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _submit(self, device: Device, share: Share) -> None:
        try:
            source = self.pools.pool(share.work.source)
        except KeyError:
            return  # the pool was removed: its shares go nowhere else
        diff = share.difficulty
        device.stats.shares.found(diff)
        try:
            result = await source.submit(share)
        except Exception as e:  # a failed submit is a lost share, not a crash
            log.error("pool %d: submit failed: %s", source.index, e)
            result = ShareResult(Verdict.STALE, f"submit failed: {e}")
        for counters in (device.stats.shares, source.shares, self.totals.shares):
            counters.record(result.verdict, diff, result.reason, result.block)
        self.pools.record(source, result)
        level = logging.WARNING if result.verdict == Verdict.REJECTED else logging.INFO
        if source.discarded and result.reason.startswith("stale job (dropped"):
            level = logging.DEBUG
        what = "block" if result.block else "share"
        events.log(level, "%s %s %s (diff %.4g) pool %d%s", device.name, what, result.verdict.value, diff,
                   source.index, f": {result.reason}" if result.reason else "",
                   extra={"event": "share", "device": device.name, "pool": source.index,
                          "result": result.verdict.value, "reason": result.reason, "difficulty": diff,
                          "block": result.block, "job_id": share.work.job_id,
                          "hash": share.pow_hash[::-1].hex()})

    # --- figures ----------------------------------------------------------------------------

    def total_rates(self) -> dict[str, float]:
        out = {"5s": 0.0, "1m": 0.0, "5m": 0.0, "15m": 0.0}
        for d in self.devices:
            for k, v in d.stats.meter.rates().items():
                out[k] += v
        return out

    def total_hashes(self) -> int:
        return sum(d.stats.meter.total for d in self.devices)

    def hardware_errors(self) -> int:
        return sum(d.stats.hardware_errors for d in self.devices)

    @property
    def uptime(self) -> float:
        return max(0.0, (self.totals.stopped or time.time()) - self.totals.started)
