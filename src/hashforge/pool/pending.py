"""A reply that exists later (after a durable write, or an address check): cheaper than an
asyncio.Future on the share path (no call_soon per completion), with one listener, the
connection that must send it in order."""

from __future__ import annotations

from collections.abc import Callable


class Pending:
    __slots__ = ("_listener", "data")

    def __init__(self) -> None:
        self.data: bytes | None = None
        self._listener: Callable[[], None] | None = None

    @property
    def done(self) -> bool:
        return self.data is not None

    def set(self, data: bytes) -> None:
        if self.data is not None:
            return
        self.data = data
        listener, self._listener = self._listener, None
        if listener is not None:
            listener()

    def listen(self, listener: Callable[[], None]) -> None:
        if self.data is not None:
            listener()
        else:
            self._listener = listener

    def forget(self) -> None:
        self._listener = None
