"""`/v1/events`: Server-Sent Events of the event bus (block, share, payout, alert).

Each event is `id: N`, `event: TYPE`, `data: JSON`. Reconnecting clients send `Last-Event-ID`
(browsers do it themselves) and get what they missed from the replay buffer. A comment line is
sent every `sse_heartbeat_s` so proxies keep the stream open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from hashforge.httpedge.access import ReadAccess
from hashforge.httpedge.lookups import BusDep, ComponentsDep
from hashforge.services.events import EVENT_TYPES, Published

from ..deps import SettingsDep
from ..errors import problem_responses

router = APIRouter(tags=["events"])

TYPES_PATTERN = r"^(block|share|payout|alert)(,(block|share|payout|alert))*$"


def sse_frame(item: Published) -> str:
    return f"id: {item.id}\nevent: {item.type}\ndata: {item.event.model_dump_json()}\n\n"


@router.get(
    "/events",
    summary="Live events (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "An endless `text/event-stream`; each event's data is one of the event schemas.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **problem_responses(),
    },
)
async def events(
    _: ReadAccess,
    request: Request,
    bus: BusDep,
    settings: SettingsDep,
    components: ComponentsDep,
    types: Annotated[
        str | None,
        Query(pattern=TYPES_PATTERN, max_length=64, description="Comma-separated event types (default: all)."),
    ] = None,
    last_event_id: Annotated[
        int | None, Header(ge=0, le=2**53, description="Replay events after this id (sent by browsers on reconnect).")
    ] = None,
) -> StreamingResponse:
    wanted = tuple(types.split(",")) if types else EVENT_TYPES
    sub = bus.subscribe(wanted)
    gauge = components.metrics.sse_clients

    async def stream() -> AsyncIterator[str]:
        gauge.inc()
        try:
            yield "retry: 3000\n: connected\n\n"
            seen = 0
            if last_event_id is not None:
                for item in bus.recent(wanted, after=last_event_id):
                    seen = item.id
                    yield sse_frame(item)
            while True:
                try:
                    got = await sub.next(settings.sse_heartbeat_s)
                except StopAsyncIteration:
                    return
                if got is None:
                    yield ": keep-alive\n\n"
                elif got.id > seen:
                    yield sse_frame(got)
        finally:
            bus.unsubscribe(sub)
            gauge.dec()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
