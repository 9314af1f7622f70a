"""`/v1/events` (SSE) over real HTTP: block events from the node, component events from the bus,
replay after reconnect; and the bus's own rules."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hashforge.api import AlertEvent, BlockEvent, EventBus, ShareEvent
from tests.api.conftest import ADDRESS, Chain
from tests.api.served import ServedApi


def read_events(lines: Iterator[str], want: int, kind: str | None = None) -> list[tuple[int, str, dict[str, Any]]]:
    """Parses SSE frames until `want` events (of `kind`, if given) arrived."""
    out: list[tuple[int, str, dict[str, Any]]] = []
    frame: dict[str, str] = {}
    for line in lines:
        if line == "":
            if "data" in frame and (kind is None or frame.get("event") == kind):
                out.append((int(frame["id"]), frame["event"], json.loads(frame["data"])))
                if len(out) == want:
                    return out
            frame = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            frame[field] = value.removeprefix(" ")
    raise AssertionError(f"stream ended after {out}")


def open_stream(c: httpx.Client, query: str = "", **headers: str) -> Any:
    return c.stream("GET", f"/v1/events{query}", headers=headers)


def test_block_event_after_generatetoaddress(api: ServedApi, chain: Chain) -> None:
    with httpx.Client(base_url=api.url, timeout=httpx.Timeout(20)) as c, open_stream(c, "?types=block") as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        assert next(lines).startswith("retry:")
        hashes = chain.node.call("generatetoaddress", 2, ADDRESS)
        events = read_events(lines, 2, "block")
    heights = [e[2]["height"] for e in events]
    assert [e[2]["hash"] for e in events] == hashes
    assert heights[1] == heights[0] + 1 == chain.node.call("getblockcount")
    assert all(e[1] == "block" and e[2]["type"] == "block" and not e[2]["reorg"] for e in events)
    assert events[0][0] < events[1][0]


def test_component_events_and_replay(api: ServedApi) -> None:
    with httpx.Client(base_url=api.url, timeout=httpx.Timeout(20)) as c:
        with open_stream(c, "?types=share,alert") as r:
            lines = r.iter_lines()
            next(lines)
            api.bus.publish_threadsafe(ShareEvent(worker="rig1.gpu0", difficulty=64.0, accepted=True))
            api.bus.publish_threadsafe(ShareEvent(worker="rig1.gpu0", difficulty=64.0, accepted=False, reason="stale"))
            api.bus.publish_threadsafe(AlertEvent(level="warning", source="miner", message="GPU 0 at 91 °C"))
            got = read_events(lines, 3)
        assert [g[1] for g in got] == ["share", "share", "alert"]
        assert got[1][2]["reason"] == "stale" and got[2][2]["message"] == "GPU 0 at 91 °C"
        # a reconnecting client (Last-Event-ID) gets what it missed, then live events
        with open_stream(c, "?types=share,alert", **{"Last-Event-ID": str(got[0][0])}) as r:
            replay = read_events(r.iter_lines(), 2)
        assert [e[0] for e in replay] == [got[1][0], got[2][0]]


def test_event_filter_is_validated(api: ServedApi) -> None:
    with httpx.Client(base_url=api.url) as c:
        r = c.get("/v1/events", params={"types": "block,nonsense"})
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")


def test_bus_closes_lagging_subscribers_and_keeps_publishing() -> None:
    async def scenario() -> None:
        bus = EventBus(buffer=16)
        bus.bind(asyncio.get_running_loop())
        slow = bus.subscribe(["block"])
        fast = bus.subscribe(["block", "share"])
        for h in range(300):
            bus.publish(BlockEvent(height=h, hash=f"{h:064x}", block_time=0, tx_count=1, difficulty=1.0))
            item = await fast.next(1)
            assert item is not None and item.event.type == "block"
        assert slow.lagged
        with pytest.raises(StopAsyncIteration):
            await slow.next(1)
        assert len(bus.recent()) == 16 and bus.recent()[-1].id == 300
        bus.close()
        with pytest.raises(StopAsyncIteration):
            await fast.next(1)

    asyncio.run(scenario())


def test_event_models_are_strict() -> None:
    with pytest.raises(ValueError):
        BlockEvent(height=-1, hash="00" * 32, block_time=0, tx_count=1, difficulty=1)
    with pytest.raises(ValueError):
        ShareEvent(worker="w", difficulty=1, accepted=True, bogus=1)  # type: ignore[call-arg]
