"""/v1/ops/alerts (history, rules, channels, settings) and /v1/ops/maintenance: see hashforge.ops.alerts.

Reads need the read scope (as all of /v1); changes need `control`. Bad input is a 422 problem
whose detail names the field; unknown ids are 404.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Response
from fastapi.concurrency import run_in_threadpool

from hashforge.httpedge.access import ControlAccess
from hashforge.ops.alerts import AlertsError, AlertStore, DeliveryError, UnknownItem, alert_engine
from hashforge.ops.alerts.store import Alert, Channel, Note, Window
from hashforge.ops.gateway import OpsGateway
from hashforge.services.paging import Page, cursor_int, decode_cursor, encode_cursor

from ..errors import ComponentFailed, ComponentUnavailable, NotFound, Rejected, problem_responses
from ..pagination import Cursor, Limit
from .ops_alerts_models import (
    AlertDetail,
    AlertOut,
    ChannelIn,
    ChannelOut,
    Delivered,
    HistoryOut,
    Maintenance,
    NoteIn,
    NoteOut,
    RuleIn,
    RuleOut,
    RulePatch,
    Settings,
    WindowIn,
    WindowOut,
)
from .ops_deps import OpsDep

router = APIRouter(tags=["ops: alerts"], responses=problem_responses(404, 422, 503))
RowId = Annotated[int, Path(ge=1, le=2**62)]  # SQLite INTEGER is 64-bit: larger ids cannot exist
T = TypeVar("T")


def _store(ops: OpsGateway) -> AlertStore:
    try:
        return alert_engine(ops).store
    except (OSError, sqlite3.Error) as e:
        raise ComponentUnavailable(f"The alert records in {ops.dir} cannot be opened: {e}.") from None


async def _call(fn: Callable[[], T]) -> T:
    try:
        return await run_in_threadpool(fn)
    except UnknownItem as e:
        raise NotFound(str(e).capitalize() + ".") from None
    except AlertsError as e:
        raise Rejected(str(e), kind="bad-input") from None


def _opt(t: float | None) -> int | None:
    return None if t is None else int(t)


def rule_out(r: Any) -> RuleOut:
    return RuleOut(id=r.id, kind=r.kind, threshold=r.threshold, unit=r.spec.unit, subject=r.subject, level=r.level,
                   quiet_minutes=None if r.quiet_s is None else r.quiet_s / 60, enabled=r.enabled,
                   created_at=int(r.created_at), description=r.describe())


def alert_out(a: Alert) -> AlertOut:
    return AlertOut(id=a.id, rule_id=a.rule_id, kind=a.kind, subject=a.subject, level=a.level, message=a.message,
                    state=a.state, fired_at=int(a.fired_at), resolved_at=_opt(a.resolved_at),
                    last_notified_at=_opt(a.last_notified_at), notify_count=a.notify_count)


def channel_out(c: Channel) -> ChannelOut:
    return ChannelOut(id=c.id, name=c.name, kind=c.kind, config=c.config, enabled=c.enabled)


def note_out(n: Note) -> NoteOut:
    return NoteOut(id=n.id, subject=n.subject, time=int(n.ts), text=n.text)


def window_out(w: Window, now: float) -> WindowOut:
    return WindowOut(id=w.id, subject=w.subject, start=int(w.start), end=int(w.end), reason=w.reason,
                     active=w.start <= now < w.end)


# --- alerts ----------------------------------------------------------------------------------------

@router.get("/alerts", summary="Alerts, newest first", responses=problem_responses(400))
async def alerts(ops: OpsDep, cursor: Cursor = None, limit: Limit = 20,
                 state: Annotated[str | None, Query(pattern="^(open|resolved|event)$")] = None) -> Page[AlertOut]:
    before = None
    if cursor is not None:
        pos = decode_cursor("ops-alerts", cursor)
        before = cursor_int(pos, "before", 1)
    store = _store(ops)
    rows = await _call(lambda: store.alerts(limit + 1, before, state))
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor("ops-alerts", before=rows[-1].id) if more and rows else None
    return Page[AlertOut](items=[alert_out(a) for a in rows], limit=limit, next_cursor=nxt)


@router.get("/alerts/rules", summary="Alert rules")
async def list_rules(ops: OpsDep) -> list[RuleOut]:
    store = _store(ops)
    return [rule_out(r) for r in await _call(store.rules)]


@router.post("/alerts/rules", status_code=201, summary="Add a rule (control scope)")
async def add_rule(ops: OpsDep, body: RuleIn, _: ControlAccess) -> RuleOut:
    store = _store(ops)
    quiet = None if body.quiet_minutes is None else body.quiet_minutes * 60
    rule = await _call(lambda: store.add_rule(body.kind, body.threshold, body.subject, body.level, quiet, time.time()))
    return rule_out(rule)


@router.patch("/alerts/rules/{rule_id}", summary="Change a rule (control scope)")
async def patch_rule(ops: OpsDep, rule_id: RowId, body: RulePatch, _: ControlAccess) -> RuleOut:
    store = _store(ops)
    changes: dict[str, Any] = {k: getattr(body, k) for k in body.model_fields_set if k != "quiet_minutes"}
    if "quiet_minutes" in body.model_fields_set:
        changes["quiet_s"] = None if body.quiet_minutes is None else body.quiet_minutes * 60
    if changes.get("enabled", True) is None:
        raise Rejected("enabled: must be true or false", kind="bad-input")
    return rule_out(await _call(lambda: store.update_rule(rule_id, **changes)))


@router.delete("/alerts/rules/{rule_id}", status_code=204, summary="Remove a rule (control scope)")
async def delete_rule(ops: OpsDep, rule_id: RowId, _: ControlAccess) -> Response:
    store = _store(ops)
    await _call(lambda: store.remove_rule(rule_id, time.time()))
    return Response(status_code=204)


@router.get("/alerts/channels", summary="Notification channels (secrets masked)")
async def list_channels(ops: OpsDep) -> list[ChannelOut]:
    store = _store(ops)
    return [channel_out(c) for c in await _call(store.channels)]


@router.post("/alerts/channels", status_code=201, summary="Add a channel (control scope)")
async def add_channel(ops: OpsDep, body: ChannelIn, _: ControlAccess) -> ChannelOut:
    store = _store(ops)
    secrets = {k: v for k, v in (("url", body.url), ("bot_token", body.bot_token), ("password", body.password)) if v}
    config: dict[str, Any] = {"chat_id": body.chat_id, "api_url": body.api_url, "host": body.host, "port": body.port,
                              "security": body.security, "username": body.username, "sender": body.sender,
                              "to": body.to, "ca_file": body.ca_file}
    return channel_out(await _call(lambda: store.add_channel(body.name, body.kind, config, secrets, time.time())))


@router.delete("/alerts/channels/{channel_id}", status_code=204, summary="Remove a channel (control scope)")
async def delete_channel(ops: OpsDep, channel_id: RowId, _: ControlAccess) -> Response:
    store = _store(ops)
    await _call(lambda: store.remove_channel(channel_id))
    return Response(status_code=204)


@router.post("/alerts/channels/{channel_id}/test", summary="Send a test message (control scope)",
             responses=problem_responses(502))
async def test_channel(ops: OpsDep, channel_id: RowId, _: ControlAccess) -> Delivered:
    store = _store(ops)
    engine = alert_engine(ops)
    await _call(lambda: store.channel(channel_id))
    try:
        await engine.test_channel(channel_id)
    except DeliveryError as e:
        raise ComponentFailed(f"The test message was not delivered: {e}") from None
    return Delivered(channel_id=channel_id, delivered=True)


@router.get("/alerts/settings", summary="The evaluator's settings")
async def get_settings(ops: OpsDep) -> Settings:
    s = await _call(_store(ops).settings)
    return Settings(poll_s=s["poll_s"], quiet_minutes=s["quiet_s"] / 60)


@router.put("/alerts/settings", summary="Change the evaluator's settings (control scope)")
async def put_settings(ops: OpsDep, body: Settings, _: ControlAccess) -> Settings:
    store = _store(ops)

    def save() -> None:
        store.set_setting("poll_s", body.poll_s)
        store.set_setting("quiet_s", body.quiet_minutes * 60)

    await _call(save)
    return body


@router.get("/alerts/{alert_id}", summary="One alert with its history (fired, notified, failed, resolved)")
async def alert_detail(ops: OpsDep, alert_id: RowId) -> AlertDetail:
    store = _store(ops)
    a = await _call(lambda: store.alert(alert_id))
    hist = await _call(lambda: store.history(alert_id))
    return AlertDetail(**alert_out(a).model_dump(), history=[
        HistoryOut(id=h.id, time=int(h.ts), action=h.action, channel_id=h.channel_id, detail=h.detail) for h in hist])


# --- maintenance -----------------------------------------------------------------------------------

@router.get("/maintenance", summary="Maintenance log: notes and downtime windows")
async def maintenance(ops: OpsDep, subject: Annotated[str | None, Query(max_length=200)] = None) -> Maintenance:
    store = _store(ops)
    notes = await _call(lambda: store.notes(subject))
    windows = await _call(lambda: store.windows(subject))
    now = time.time()
    return Maintenance(notes=[note_out(n) for n in notes], windows=[window_out(w, now) for w in windows])


@router.post("/maintenance/notes", status_code=201, summary="Add a note (control scope)")
async def add_note(ops: OpsDep, body: NoteIn, _: ControlAccess) -> NoteOut:
    store = _store(ops)
    return note_out(await _call(lambda: store.add_note(body.subject, body.text, time.time())))


@router.post("/maintenance/windows", status_code=201, summary="Schedule downtime that silences alerts (control scope)")
async def add_window(ops: OpsDep, body: WindowIn, _: ControlAccess) -> WindowOut:
    store = _store(ops)
    now = time.time()
    w = await _call(lambda: store.add_window(body.subject, body.start, body.end, body.reason, now))
    return window_out(w, now)


@router.delete("/maintenance/windows/{window_id}", status_code=204, summary="Cancel a downtime window (control scope)")
async def delete_window(ops: OpsDep, window_id: RowId, _: ControlAccess) -> Response:
    store = _store(ops)
    await _call(lambda: store.remove_window(window_id))
    return Response(status_code=204)
