"""Dashboard pages of hashforge.ops (alerts): /alerts shows open alerts, history, rules and the
maintenance log; new alerts arrive live through /v1/events (app.js fills #alert-feed)."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from hashforge.httpedge.access import ReadAccess
from hashforge.httpedge.lookups import ComponentsDep
from hashforge.ops.alerts import alert_engine

router = APIRouter(include_in_schema=False)


@router.get("/alerts", response_class=HTMLResponse)
async def alerts_page(request: Request, _: ReadAccess, components: ComponentsDep) -> HTMLResponse:
    from .render import page

    ops = components.gateway("ops")
    if ops is None:
        return page(request, "alerts.html", nav="alerts", ops=False)
    try:
        store = alert_engine(ops).store
    except (OSError, sqlite3.Error) as e:
        return page(request, "alerts.html", status=503, nav="alerts", ops=True, broken=str(e))

    def read() -> dict[str, Any]:
        return {"open_alerts": store.open_alerts(), "recent": store.alerts(50), "rules": store.rules(),
                "channels": store.channels(), "notes": store.notes()[:50], "windows": store.windows()[:50],
                "settings": store.settings()}

    data = await run_in_threadpool(read)
    return page(request, "alerts.html", nav="alerts", ops=True, now=time.time(), **data)
