"""`AlertEngine`: evaluates the rules against what the pool and miner show, fires and resolves
alerts (one open alert per rule and subject), notifies the channels (again only after the quiet
period), records everything in the history and publishes an `AlertEvent` on the bus.

The clock and the sleep are injected so tests drive it with a fake clock. `collect` reads the
components; `evaluate` is given a `Snapshot`, so rules test with synthetic inputs.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hashforge.services.events import AlertEvent, EventBus, PayoutEvent, Published, ShareEvent

from . import rules as R
from .errors import AlertsError, DeliveryError
from .notify import Notification, Notifier
from .store import Alert, AlertStore, Window, subject_matches

if TYPE_CHECKING:
    from hashforge.ops.gateway import OpsGateway

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerState:
    name: str  # ADDRESS.worker
    hashrate: float  # H/s over the last 10 minutes
    last_share: float  # Unix time of the last accepted share


@dataclass(frozen=True)
class DeviceState:
    name: str  # e.g. CPU0, GPU1
    temperature: float | None
    accepted: int  # cumulative counters, as the cgminer API reports them
    rejected: int


@dataclass(frozen=True)
class Snapshot:
    pool_up: bool | None = None  # None: no pool attached
    workers: tuple[WorkerState, ...] = ()
    devices: tuple[DeviceState, ...] = ()


@dataclass(frozen=True)
class Finding:
    rule: R.Rule
    subject: str
    firing: bool | None
    message: str


@dataclass
class _Counters:
    samples: collections.deque[tuple[float, int, int]] = field(default_factory=lambda: collections.deque(maxlen=256))


class AlertEngine:
    def __init__(self, store: AlertStore, bus: EventBus | None = None, notifier: Notifier | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.bus = bus
        self.notifier = notifier or Notifier()
        self.clock = clock
        self._events: list[tuple[str, str, str]] = []  # (kind, subject, message) from the bus
        self._pool_down_since: float | None = None
        self._counters: dict[str, _Counters] = {}
        self._paid: set[str] = set()
        self.polls = 0
        self.background = False  # run_engine: deliveries run as tasks, so a slow channel never delays a poll
        self._deliveries: set[asyncio.Task[None]] = set()
        self.wake: asyncio.Event | None = None  # set when a block/payout event is queued

    # --- inputs --------------------------------------------------------------------------------
    def on_event(self, item: Published) -> None:
        """Bus listener (synchronous, must not block): queues block and payout events."""
        e = item.event
        if isinstance(e, ShareEvent) and e.block:
            self._events.append(("block_found", e.worker, f"Block found by {e.worker} (difficulty {e.difficulty:.6g})."))
        elif isinstance(e, PayoutEvent) and e.txid not in self._paid:
            self._paid.add(e.txid)
            to = e.address or "several addresses"
            self._events.append(("payout_sent", e.address or "pool",
                                 f"Payout of {e.amount_sat} sat to {to} {e.status} (txid {e.txid})."))
        else:
            return
        if self.wake is not None:
            self.wake.set()

    async def collect(self, ops: OpsGateway) -> Snapshot:
        """What the pool and the miner show now (each absent or silent one contributes nothing)."""
        from hashforge.services.errors import ServiceError

        pool = ops.components.gateway("pool")
        miner = ops.components.gateway("miner")
        pool_up: bool | None = None
        workers: list[WorkerState] = []
        devices: list[DeviceState] = []
        if pool is not None:
            try:
                day, recent, metrics = await asyncio.gather(pool.workers(86400), pool.workers(600), pool.metrics())
                rate = {f"{w['address']}.{w['worker']}": float(w.get("hashrate", 0.0)) for w in recent}
                for w in day:
                    name = f"{w['address']}.{w['worker']}"
                    workers.append(WorkerState(name, rate.get(name, 0.0), float(w.get("last_share") or 0)))
                pool_up = True
                shares = pool_share_counts(metrics)
                if shares is not None:  # the pool's reject rate, as a "device" named pool
                    devices.append(DeviceState("pool", None, *shares))
            except ServiceError as e:
                log.info("alerts: pool unreachable: %s", e)
                pool_up = False
            except (KeyError, TypeError, ValueError) as e:
                log.warning("alerts: pool workers in an unexpected shape: %s", e)
                pool_up = True
        if miner is not None:
            try:
                for i, d in enumerate(await miner.devices()):
                    try:
                        devices.append(_device(i, d))
                    except (TypeError, ValueError):
                        log.warning("alerts: miner device %d in an unexpected shape", i)
            except ServiceError as e:
                log.info("alerts: miner unreachable: %s", e)
        return Snapshot(pool_up, tuple(workers), tuple(devices))

    # --- evaluation ----------------------------------------------------------------------------
    def findings(self, snap: Snapshot, now: float) -> list[Finding]:
        """Every enabled rule's verdict per subject it applies to (pure but for the stored samples)."""
        if snap.workers:
            self.store.add_samples(now, {w.name: w.hashrate for w in snap.workers})
        for d in snap.devices:
            c = self._counters.setdefault(d.name, _Counters())
            c.samples.append((now, d.accepted, d.rejected))
        if snap.pool_up is False:
            self._pool_down_since = self._pool_down_since or now
        elif snap.pool_up:
            self._pool_down_since = None
        out: list[Finding] = []
        for rule in self.store.rules():
            if not rule.enabled or rule.spec.event:
                continue
            t = float(rule.threshold or 0.0)
            firing: bool | None
            if rule.kind == "pool_down":
                if snap.pool_up is not None:
                    down, msg = R.check_pool(self._pool_down_since, now, t)
                    out.append(Finding(rule, "pool", down, msg))
                continue
            if rule.kind in ("offline", "hashrate_drop"):
                if snap.pool_up is not True:
                    continue  # nothing is known about workers while the pool is silent
                for w in snap.workers:
                    if not subject_matches(rule.subject, w.name):
                        continue
                    if rule.kind == "offline":
                        firing, msg = R.check_offline(w.name, w.last_share, now, t)
                    else:
                        avg, n = self.store.average(w.name, now - 86400, now)
                        firing, msg = R.check_hashrate(w.name, w.hashrate, avg, n, t)
                    out.append(Finding(rule, w.name, firing, msg))
                continue
            for d in snap.devices:
                if not subject_matches(rule.subject, d.name):
                    continue
                if rule.kind == "temperature":
                    firing, msg = R.check_temperature(d.name, d.temperature, t)
                else:
                    acc, rej = self._reject_delta(d.name, now)
                    firing, msg = R.check_rejects(d.name, acc, rej, t)
                out.append(Finding(rule, d.name, firing, msg))
        return out

    def _reject_delta(self, device: str, now: float) -> tuple[int, int]:
        samples = self._counters[device].samples
        latest = samples[-1]
        base = next((s for s in samples if s[0] >= now - R.REJECT_WINDOW_S), latest)
        if latest[1] < base[1] or latest[2] < base[2]:  # the miner restarted: counters reset
            samples.clear()
            samples.append(latest)
            return 0, 0
        return latest[1] - base[1], latest[2] - base[2]

    def silenced(self, subject: str, now: float, windows: list[Window]) -> bool:
        return any(w.covers(subject, now) for w in windows)

    async def evaluate(self, snap: Snapshot) -> None:
        """One poll: fire, re-notify, resolve; then the queued block/payout/restart events."""
        now = self.clock()
        self.polls += 1
        windows = self.store.windows()
        quiet_default = self.store.settings()["quiet_s"]
        for f in self.findings(snap, now):
            if f.firing is None:
                continue  # cannot tell (no sensor, too few samples): keep whatever state there is
            quiet = f.rule.quiet_s if f.rule.quiet_s is not None else quiet_default
            alert = self.store.open_alert(f.rule.id, f.subject)
            silent = self.silenced(f.subject, now, windows)
            if f.firing and alert is None:
                if silent:
                    continue
                alert = self.store.create_alert(f.rule, f.subject, f.message, now)
                self._publish(alert, "firing")
                last = self.store.last_notified(f.rule.id, f.subject)
                if last is not None and now - last < quiet:
                    self.store.record(alert.id, "suppressed", now, f"notified {now - last:.0f} s ago; quiet period {quiet:.0f} s")
                else:
                    await self._notify(alert, "firing", now)
            elif f.firing and alert is not None:
                self.store.update_message(alert.id, f.message)
                due = alert.last_notified_at is None or now - alert.last_notified_at >= quiet
                if due and not silent:
                    await self._notify(self.store.alert(alert.id), "firing", now)
            elif not f.firing and alert is not None:
                resolved = self.store.resolve_alert(alert.id, now, f.message)
                self._publish(resolved, "resolved")
                if alert.notify_count > 0 and not silent:
                    await self._notify(resolved, "resolved", now)
        await self._events_fire(now, windows)

    async def flush_events(self) -> None:
        """Fires the queued block/payout events now, between polls."""
        await self._events_fire(self.clock(), self.store.windows())

    async def drain(self) -> None:
        """Waits for deliveries running in the background."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)

    async def _events_fire(self, now: float, windows: list[Window]) -> None:
        events, self._events = self._events, []
        events += self.store.take_events()  # posted by other processes (part_restarted from `up`)
        if not events:
            return
        rules = [r for r in self.store.rules() if r.enabled and r.spec.event]
        for kind, subject, message in events:
            for rule in rules:
                if rule.kind != kind or not subject_matches(rule.subject, subject) or self.silenced(subject, now, windows):
                    continue
                alert = self.store.create_alert(rule, subject, message, now, state="event")
                self._publish(alert, "event")
                await self._notify(alert, "event", now)

    def _publish(self, alert: Alert, state: str) -> None:
        if self.bus is None:
            return
        level = "info" if state == "resolved" else alert.level
        text = f"{'Resolved: ' if state == 'resolved' else ''}{alert.message}"
        self.bus.publish(AlertEvent(level=level, source="alerts", message=text[:1024]))  # type: ignore[arg-type]

    async def _notify(self, alert: Alert, state: str, now: float) -> None:
        n = Notification(alert.id, alert.rule_id, alert.kind, alert.subject, alert.level, state, alert.message, int(now))
        channels = [c for c in self.store.channels() if c.enabled]
        self.store.mark_notified(alert.id, now)
        if not channels:
            self.store.record(alert.id, "notified", now, "no channels configured")
            return

        async def one(ch: Any) -> None:
            try:
                tries = await self.notifier.send(ch.kind, ch.config, self.store.channel_secrets(ch.id), n)
                self.store.record(alert.id, "notified", self.clock(), f"{state} via {ch.name} ({tries} tries)", ch.id)
            except (DeliveryError, AlertsError) as e:  # AlertsError: the secrets file is unreadable
                log.warning("alert %s: delivery to %s failed: %s", alert.id, ch.name, e)
                self.store.record(alert.id, "failed", self.clock(), f"{ch.name}: {e}", ch.id)

        if not self.background:
            await asyncio.gather(*(one(ch) for ch in channels))
            return
        for ch in channels:
            task = asyncio.create_task(one(ch), name=f"alert-{alert.id}-{ch.name}")
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def test_channel(self, channel_id: int) -> None:
        """Sends a test message; DeliveryError if it fails."""
        ch = self.store.channel(channel_id)
        n = Notification(0, 0, "test", ch.name, "info", "test", f"Test message from hashforge to channel {ch.name}.",
                         int(self.clock()))
        await self.notifier.send(ch.kind, ch.config, self.store.channel_secrets(ch.id), n)


def pool_share_counts(metrics: str) -> tuple[int, int] | None:
    """(accepted, rejected) shares from the pool's Prometheus text; None if it has no accepted counter."""
    from prometheus_client.parser import text_string_to_metric_families

    from hashforge.services.gateways.pool import rejected_counts

    accepted = None
    try:
        for family in text_string_to_metric_families(metrics):
            for sample in family.samples:
                if sample.name == "hashforge_pool_shares_accepted_total":
                    accepted = int(sample.value)
        rejected = int(sum(rejected_counts(metrics).values()))
    except ValueError:
        return None
    return None if accepted is None else (accepted, rejected)


def _device(i: int, d: dict[str, Any]) -> DeviceState:
    kind = next((k for k in ("GPU", "CPU", "ASC", "PGA") if k in d), "DEV")
    name = f"{kind}{d.get(kind, d.get('ID', i))}"
    temp = d.get("Temperature")
    try:
        t = float(temp) if temp not in (None, "", "n/a") else None
    except (TypeError, ValueError):
        t = None
    return DeviceState(name, t, int(d.get("Accepted") or 0), int(d.get("Rejected") or 0))


def _poll_s(engine: AlertEngine) -> float:
    try:
        return max(0.2, engine.store.setting("poll_s", 30.0))
    except Exception:  # the file is locked or damaged: keep polling at the default
        log.exception("cannot read the alert settings")
        return 30.0


async def run_engine(ops: OpsGateway, engine: AlertEngine) -> None:
    """Polls every `poll_s` (a setting, re-read each time) for the API's lifetime; block and payout
    events are handled as they come. A failing poll is logged, never fatal."""
    engine.background = True
    engine.wake = asyncio.Event()
    ops.components.bus.add_listener(engine.on_event)
    loop = asyncio.get_running_loop()
    next_poll = loop.time()
    try:
        while True:
            engine.wake.clear()  # before the work: an event queued meanwhile wakes the next round
            try:
                if loop.time() >= next_poll:
                    next_poll = loop.time() + _poll_s(engine)
                    await engine.evaluate(await engine.collect(ops))
                else:
                    await engine.flush_events()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("alert evaluation failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(engine.wake.wait(), max(0.0, next_poll - loop.time()))
    finally:
        for task in list(engine._deliveries):
            task.cancel()
