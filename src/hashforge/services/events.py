"""The in-process event bus: components publish typed events, `/v1/events` streams them (SSE).

Publishing never blocks and never fails because of a slow reader: each subscriber has a bounded
queue, and a subscriber that falls behind is closed (its client reconnects with Last-Event-ID and
replays from the ring buffer of recent events).

Threading: `publish` must be called on the event loop's thread; from other threads (a miner's
device thread, a pool writer) call `publish_threadsafe`.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

EventType = Literal["block", "share", "payout", "alert"]
EVENT_TYPES: tuple[EventType, ...] = ("block", "share", "payout", "alert")


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    time: int = Field(default_factory=lambda: int(time.time()), description="Unix time the event was published.")


class BlockEvent(_Event):
    """The chain's tip moved: a block connected (published by the API's tip watcher)."""

    type: Literal["block"] = "block"
    height: int = Field(ge=0)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    block_time: int
    tx_count: int = Field(ge=0)
    difficulty: float = Field(ge=0)
    reorg: bool = Field(default=False, description="True when the new tip is not a descendant of the old one.")


class ShareEvent(_Event):
    """A share was judged by the pool (published by the pool)."""

    type: Literal["share"] = "share"
    worker: str = Field(max_length=256)
    difficulty: float = Field(ge=0)
    accepted: bool
    reason: str | None = Field(default=None, max_length=256, description="Why a share was rejected.")
    block: bool = Field(default=False, description="The share met the network target.")


class PayoutEvent(_Event):
    """A payout transaction was broadcast or confirmed (published by the pool's payouts / wallet)."""

    type: Literal["payout"] = "payout"
    txid: str = Field(pattern=r"^[0-9a-f]{64}$")
    address: str | None = Field(default=None, max_length=128,
                                description="The recipient; null for a batch that pays several (amount is the total).")
    amount_sat: int = Field(ge=0)
    status: Literal["broadcast", "confirmed"] = "broadcast"


class AlertEvent(_Event):
    """Something an operator should see (any component; ops raises them from monitoring)."""

    type: Literal["alert"] = "alert"
    level: Literal["info", "warning", "critical"]
    source: str = Field(max_length=64)
    message: str = Field(max_length=1024)


Event = Annotated[BlockEvent | ShareEvent | PayoutEvent | AlertEvent, Field(discriminator="type")]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


@dataclass(frozen=True)
class Published:
    id: int
    event: BlockEvent | ShareEvent | PayoutEvent | AlertEvent

    @property
    def type(self) -> EventType:
        return self.event.type


_CLOSED = None


@dataclass(eq=False)
class Subscription:
    types: frozenset[str]
    queue: asyncio.Queue[Published | None] = field(default_factory=lambda: asyncio.Queue(maxsize=256))
    lagged: bool = False

    async def __aiter__(self) -> AsyncIterator[Published]:
        while True:
            item = await self.queue.get()
            if item is _CLOSED:
                return
            yield item

    async def next(self, timeout: float) -> Published | None:
        """The next event, or None after `timeout` seconds; raises StopAsyncIteration once closed."""
        try:
            item = await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None
        if item is _CLOSED:
            raise StopAsyncIteration
        return item

    def _offer(self, item: Published | None) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.lagged = True
            self._close_now()

    def _close_now(self) -> None:
        while True:
            try:
                self.queue.get_nowait()
            except asyncio.QueueEmpty:
                break
        self.queue.put_nowait(_CLOSED)


class EventBus:
    """Fan-out of typed events to SSE subscribers, with a replay buffer of the last `buffer` events."""

    def __init__(self, buffer: int = 1024) -> None:
        self._ids = itertools.count(1)
        self._recent: collections.deque[Published] = collections.deque(maxlen=buffer)
        self._subs: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.published: collections.Counter[str] = collections.Counter()
        self._listeners: list[Callable[[Published], None]] = []

    def add_listener(self, listener: Callable[[Published], None]) -> None:
        """Calls `listener` synchronously on every publish (metrics, logging); it must not block."""
        self._listeners.append(listener)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, event: BlockEvent | ShareEvent | PayoutEvent | AlertEvent) -> int:
        """Publishes on the loop thread; returns the event id."""
        item = Published(next(self._ids), event)
        self._recent.append(item)
        self.published[event.type] += 1
        for sub in list(self._subs):
            if event.type in sub.types:
                sub._offer(item)
        for listener in self._listeners:
            listener(item)
        return item.id

    def publish_threadsafe(self, event: BlockEvent | ShareEvent | PayoutEvent | AlertEvent) -> None:
        if self._loop is None:
            raise RuntimeError("the event bus is not bound to a running loop yet")
        self._loop.call_soon_threadsafe(self.publish, event)

    def recent(self, types: Iterable[str] = EVENT_TYPES, after: int = 0, limit: int | None = None) -> list[Published]:
        wanted = set(types)
        items = [p for p in self._recent if p.id > after and p.type in wanted]
        return items[-limit:] if limit is not None else items

    def subscribe(self, types: Iterable[str] = EVENT_TYPES) -> Subscription:
        sub = Subscription(frozenset(types))
        if self._closed:
            sub._close_now()
        else:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def close(self) -> None:
        """Ends every stream (at shutdown)."""
        self._closed = True
        for sub in list(self._subs):
            sub._close_now()
        self._subs.clear()
