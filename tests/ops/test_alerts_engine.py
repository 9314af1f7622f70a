"""The alert engine with a fake clock and synthetic snapshots: every rule kind fires and resolves,
de-duplication and the quiet period, maintenance windows, block/payout events, the bus."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hashforge.ops.alerts import (
    AlertEngine,
    AlertsError,
    AlertStore,
    DeviceState,
    Snapshot,
    WorkerState,
)
from hashforge.ops.alerts.store import subject_matches
from hashforge.services.events import EventBus, PayoutEvent, Published, ShareEvent

W = "bcrt1qexampleaddress0000.rig1"
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def store(tmp_path: Path) -> AlertStore:
    return AlertStore(tmp_path / "ops")


@pytest.fixture()
def engine(store: AlertStore, clock: Clock) -> AlertEngine:
    return AlertEngine(store, EventBus(), clock=clock)


def run(engine: AlertEngine, snap: Snapshot) -> None:
    asyncio.run(engine.evaluate(snap))


def worker(clock: Clock, idle_s: float = 0.0, hashrate: float = 1e6, name: str = W) -> Snapshot:
    return Snapshot(True, (WorkerState(name, hashrate, clock.now - idle_s),))


def actions(store: AlertStore, alert_id: int) -> list[str]:
    return [h.action for h in store.history(alert_id)]


def test_offline_fires_after_n_minutes_and_resolves(store: AlertStore, engine: AlertEngine, clock: Clock) -> None:
    rule = store.add_rule("offline", 5, None, None, None, clock.now)
    run(engine, worker(clock, idle_s=299))
    assert store.open_alerts() == []
    run(engine, worker(clock, idle_s=301))
    [alert] = store.open_alerts()
    assert (alert.rule_id, alert.subject, alert.level, alert.kind) == (rule.id, W, "critical", "offline")
    assert "5.0 min" in alert.message
    clock.advance(60)
    run(engine, worker(clock, idle_s=0))  # a share again
    assert store.open_alerts() == []
    assert store.alert(alert.id).state == "resolved"
    assert actions(store, alert.id) == ["fired", "notified", "resolved", "notified"]


def test_hashrate_below_percent_of_24h_average(store: AlertStore, engine: AlertEngine, clock: Clock) -> None:
    store.add_rule("hashrate_drop", 50, None, None, None, clock.now)
    for _ in range(4):  # history at 1 MH/s
        run(engine, worker(clock, hashrate=1e6))
        clock.advance(600)
    assert store.open_alerts() == []
    run(engine, worker(clock, hashrate=0.6e6))  # 60 % of the average: fine
    assert store.open_alerts() == []
    clock.advance(600)
    run(engine, worker(clock, hashrate=0.3e6))
    [alert] = store.open_alerts()
    assert alert.kind == "hashrate_drop" and "of its 24 h average" in alert.message
    # samples older than 24 h do not count: a day later at 0.3 MH/s the average is 0.3 MH/s
    for _ in range(4):
        clock.advance(86400 / 4)
        run(engine, worker(clock, hashrate=0.3e6))
    assert store.open_alerts() == []


def test_hashrate_needs_samples_first(store: AlertStore, engine: AlertEngine, clock: Clock) -> None:
    store.add_rule("hashrate_drop", 90, None, None, None, clock.now)
    run(engine, worker(clock, hashrate=1e6))
    run(engine, worker(clock, hashrate=0.0))
    assert store.open_alerts() == []  # two samples are too few to call an average


def _dev(name: str, acc: int, rej: int, temp: float | None = 50.0) -> Snapshot:
    return Snapshot(None, (), (DeviceState(name, temp, acc, rej),))


def test_reject_rate_over_the_recent_window(store: AlertStore, engine: AlertEngine, clock: Clock) -> None:
    store.add_rule("reject_rate", 10, "CPU0", None, None, clock.now)
    run(engine, _dev("CPU0", 1000, 500))  # old rejects before the window do not count
    clock.advance(700)
    run(engine, _dev("CPU0", 1000, 500))
    clock.advance(60)
    run(engine, _dev("CPU0", 1095, 505))  # 5 of 100 rejected
    assert store.open_alerts() == []
    clock.advance(60)
    run(engine, _dev("CPU0", 1180, 525))  # since the window's start: 25 of 205 = 12 %
    [alert] = store.open_alerts()
    assert alert.subject == "CPU0" and "12.2 %" in alert.message
    run(engine, _dev("GPU1", 0, 100))  # out of the rule's scope
    assert len(store.open_alerts()) == 1


def test_temperature_ignores_missing_sensors(store: AlertStore, engine: AlertEngine, clock: Clock) -> None:
    store.add_rule("temperature", 80, None, None, None, clock.now)
    run(engine, _dev("GPU0", 0, 0, temp=None))
    run(engine, _dev("GPU0", 0, 0, temp=0.0))
    assert store.open_alerts() == []
    run(engine, _dev("GPU0", 0, 0, temp=85.5))
    [alert] = store.open_alerts()
    assert "85.5 °C" in alert.message
    run(engine, _dev("GPU0", 0, 0, temp=None))  # the sensor vanished: cannot tell, stays open
    assert len(store.open_alerts()) == 1
    run(engine, _dev("GPU0", 0, 0, temp=70.0))
    assert store.open_alerts() == []


def test_pool_down_after_minutes(store: AlertStore, engine: AlertEngine, clock: Clock) -> None:
    store.add_rule("pool_down", 2, None, None, None, clock.now)
    run(engine, Snapshot(True))
    run(engine, Snapshot(False))
    clock.advance(119)
    run(engine, Snapshot(False))
    assert store.open_alerts() == []
    clock.advance(2)
    run(engine, Snapshot(False))
    [alert] = store.open_alerts()
    assert alert.subject == "pool"
    run(engine, Snapshot(True))
    assert store.open_alerts() == []


def test_block_and_payout_events(store: AlertStore, engine: AlertEngine, clock: Clock) -> None:
    store.add_rule("block_found", None, None, None, None, clock.now)
    store.add_rule("payout_sent", None, None, None, None, clock.now)
    engine.on_event(Published(1, ShareEvent(worker=W, difficulty=1.0, accepted=True, block=True)))
    engine.on_event(Published(2, ShareEvent(worker=W, difficulty=1.0, accepted=True)))  # not a block
    txid = "ab" * 32
    engine.on_event(Published(3, PayoutEvent(txid=txid, amount_sat=5000, status="broadcast")))
    engine.on_event(Published(4, PayoutEvent(txid=txid, amount_sat=5000, status="confirmed")))  # same payout
    run(engine, Snapshot())
    alerts = store.alerts(10)
    assert sorted(a.kind for a in alerts) == ["block_found", "payout_sent"]
    assert all(a.state == "event" for a in alerts)
    assert any(txid in a.message and "5000 sat" in a.message for a in alerts)
    run(engine, Snapshot())
    assert len(store.alerts(10)) == 2  # events are consumed once


def test_dedup_and_quiet_period(store: AlertStore, engine: AlertEngine, clock: Clock) -> None:
    store.add_rule("offline", 1, None, None, 600, clock.now)
    run(engine, worker(clock, idle_s=120))
    run(engine, worker(clock, idle_s=150))
    [alert] = store.open_alerts()  # one open alert per rule and subject
    assert store.alert(alert.id).notify_count == 1
    clock.advance(599)
    run(engine, worker(clock, idle_s=800))
    assert store.alert(alert.id).notify_count == 1  # still quiet
    clock.advance(2)
    run(engine, worker(clock, idle_s=900))
    assert store.alert(alert.id).notify_count == 2  # repeated after the quiet period
    # flapping: resolves, fires again within the quiet period -> a new alert, notification suppressed
    run(engine, worker(clock, idle_s=0))
    clock.advance(70)
    run(engine, worker(clock, idle_s=70))
    [again] = store.open_alerts()
    assert again.id != alert.id
    assert actions(store, again.id) == ["fired", "suppressed"]
    assert store.alert(again.id).notify_count == 0
    clock.advance(600)
    run(engine, worker(clock, idle_s=670))  # quiet period over: notified now
    assert store.alert(again.id).notify_count == 1


def test_maintenance_window_silences_subject(store: AlertStore, engine: AlertEngine, clock: Clock) -> None:
    store.add_rule("offline", 1, None, None, None, clock.now)
    other = "bcrt1qexampleaddress0000.rig2"
    store.add_window("rig1", clock.now, clock.now + 3600, "new fans", clock.now)
    snap = Snapshot(True, (WorkerState(W, 0.0, clock.now - 300), WorkerState(other, 0.0, clock.now - 300)))
    run(engine, snap)
    assert [a.subject for a in store.open_alerts()] == [other]
    clock.advance(3601)
    run(engine, Snapshot(True, (WorkerState(W, 0.0, clock.now - 4000),)))
    assert {a.subject for a in store.open_alerts()} == {W, other}


def test_alert_events_on_the_bus(store: AlertStore, clock: Clock) -> None:
    bus = EventBus()
    seen: list[Published] = []
    bus.add_listener(seen.append)
    engine = AlertEngine(store, bus, clock=clock)
    store.add_rule("offline", 1, None, "warning", None, clock.now)
    run(engine, worker(clock, idle_s=120))
    run(engine, worker(clock, idle_s=0))
    kinds = [(p.event.type, getattr(p.event, "level", None), getattr(p.event, "source", None)) for p in seen]
    assert kinds == [("alert", "warning", "alerts"), ("alert", "info", "alerts")]
    assert getattr(seen[1].event, "message", "").startswith("Resolved: ")


def test_disabled_and_removed_rules(store: AlertStore, engine: AlertEngine, clock: Clock) -> None:
    rule = store.add_rule("offline", 1, None, None, None, clock.now)
    store.update_rule(rule.id, enabled=False)
    run(engine, worker(clock, idle_s=120))
    assert store.open_alerts() == []
    store.update_rule(rule.id, enabled=True)
    run(engine, worker(clock, idle_s=120))
    [alert] = store.open_alerts()
    store.remove_rule(rule.id, clock.now)
    assert store.open_alerts() == [] and store.alert(alert.id).state == "resolved"


@pytest.mark.parametrize(("kind", "threshold", "subject", "level", "field"), [
    ("nope", None, None, None, "kind"),
    ("offline", None, None, None, "threshold"),
    ("offline", 0, None, None, "threshold"),
    ("hashrate_drop", 150, None, None, "threshold"),
    ("temperature", float("nan"), None, None, "threshold"),
    ("block_found", 3, None, None, "threshold"),
    ("offline", 5, "two words", None, "subject"),
    ("offline", 5, None, "loud", "level"),
])
def test_bad_rules_refused(store: AlertStore, kind: str, threshold: float | None, subject: str | None,
                           level: str | None, field: str) -> None:
    with pytest.raises(AlertsError, match=f"^{field}: "):
        store.add_rule(kind, threshold, subject, level, None, T0)
    assert store.rules() == []


def test_subject_scope() -> None:
    assert subject_matches(None, W) and subject_matches("*", W)
    assert subject_matches("rig1", W) and subject_matches(W, W)
    assert not subject_matches("rig2", W) and not subject_matches("CPU0", "CPU1")


def test_pool_reject_rate_from_prometheus_text() -> None:
    from prometheus_client import generate_latest

    from hashforge.ops.alerts.engine import pool_share_counts
    from hashforge.pool.metrics import PoolMetrics

    m = PoolMetrics()
    m.accepted.inc(90)
    m.rejected.labels(reason="stale").inc(7)
    m.rejected.labels(reason="duplicate").inc(3)
    assert pool_share_counts(generate_latest(m.registry).decode()) == (90, 10)
    assert pool_share_counts("# nothing here\n") is None
    assert pool_share_counts("not prometheus {{{") is None


def test_run_engine_handles_events_between_polls(store: AlertStore, tmp_path: Path) -> None:
    """The API's loop: a block event fires at once (the poll is 30 s away); a dead channel does not stall it."""
    from hashforge.api import Components, NodeGateway
    from hashforge.consensus.params import REGTEST
    from hashforge.ops.alerts.engine import run_engine
    from hashforge.ops.alerts.notify import Notifier
    from hashforge.ops.gateway import OpsGateway
    from hashforge.rpcclient import AsyncRPCClient

    store.add_rule("block_found", None, None, None, None, T0)
    store.add_channel("slow", "webhook", {}, {"url": "http://127.0.0.1:9/never"}, T0)  # discard port: refused

    async def main() -> None:
        ops = OpsGateway(tmp_path / "ops", REGTEST, Components(node=NodeGateway(AsyncRPCClient("http://127.0.0.1:9/", "u", "p"))))
        engine = AlertEngine(store, ops.components.bus, Notifier(retries=2, backoff_s=0.05, timeout_s=1))
        task = asyncio.create_task(run_engine(ops, engine))
        await asyncio.sleep(0.2)
        assert engine.polls == 1
        ops.components.bus.publish(ShareEvent(worker=W, difficulty=1.0, accepted=True, block=True))
        for _ in range(100):
            if store.alerts(5):
                break
            await asyncio.sleep(0.02)
        [alert] = store.alerts(5)
        assert alert.kind == "block_found" and engine.polls == 1
        await engine.drain()
        assert [h.action for h in store.history(alert.id)] == ["event", "failed"]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_maintenance_log_filters_by_subject(store: AlertStore) -> None:
    store.add_note("rig1", "new PSU", T0)
    store.add_note("CPU0", "re-pasted", T0)
    store.add_window("*", T0, T0 + 60, "site power work", T0)
    store.add_window(W, T0, T0 + 60, "", T0)
    assert [n.text for n in store.notes(W)] == ["new PSU"]  # rig1 is ADDR.rig1
    assert {w.subject for w in store.windows("rig1")} == {"*", W}
    assert [w.subject for w in store.windows("CPU0")] == ["*"]
    with pytest.raises(AlertsError, match="end after it starts"):
        store.add_window("CPU0", T0, T0, "", T0)
    with pytest.raises(AlertsError, match="subject must be"):
        store.add_note("two words", "x", T0)
    with pytest.raises(AlertsError, match="1 to 2000 characters"):
        store.add_note("CPU0", "   ", T0)
    assert len(store.notes()) == 2 and len(store.windows()) == 2


def test_run_alerts_idles_when_records_cannot_open(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from hashforge.api import Components, NodeGateway
    from hashforge.consensus.params import REGTEST
    from hashforge.ops.alerts import run_alerts
    from hashforge.ops.gateway import OpsGateway
    from hashforge.rpcclient import AsyncRPCClient

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")

    async def main() -> None:
        ops = OpsGateway(blocker / "ops", REGTEST, Components(node=NodeGateway(AsyncRPCClient("http://127.0.0.1:9/", "u", "p"))))
        with pytest.raises(TimeoutError):  # still running (idle), not crashed
            await asyncio.wait_for(run_alerts(ops), 0.3)

    asyncio.run(main())
    assert "alerts are off: cannot open the ops records" in caplog.text
