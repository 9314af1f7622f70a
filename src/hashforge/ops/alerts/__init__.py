"""Monitoring rules, notifications (webhook, e-mail), alert history and the maintenance log.

    store = AlertStore(ops_dir)                 # rules, channels, alerts, maintenance (ops.sqlite)
    engine = AlertEngine(store, bus, clock=...) # evaluate(Snapshot) fires/resolves/notifies
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .engine import AlertEngine, DeviceState, Snapshot, WorkerState
from .errors import AlertsError, DeliveryError, UnknownItem
from .notify import Notification, Notifier
from .rules import KINDS, Rule
from .store import AlertStore

if TYPE_CHECKING:
    from hashforge.ops.gateway import OpsGateway

__all__ = ["KINDS", "AlertEngine", "AlertStore", "AlertsError", "DeliveryError", "DeviceState", "Notification",
           "Notifier", "Rule", "Snapshot", "UnknownItem", "WorkerState", "alert_engine", "run_alerts"]


def alert_engine(ops: OpsGateway) -> AlertEngine:
    """The API's one engine (built on first use), sharing the API's event bus."""
    return ops.service("alerts", lambda o: AlertEngine(AlertStore(o.dir), o.components.bus))


async def run_alerts(ops: OpsGateway) -> None:
    """Evaluates the rules for the API's lifetime; if the records cannot be opened, says so and idles
    (the API keeps serving; the alert routes answer 503)."""
    import asyncio
    import logging
    import sqlite3

    from .engine import run_engine

    try:
        engine = alert_engine(ops)
    except (OSError, sqlite3.Error) as e:
        logging.getLogger(__name__).error("alerts are off: cannot open the ops records in %s: %s", ops.dir, e)
        await asyncio.Event().wait()
        return
    await run_engine(ops, engine)
