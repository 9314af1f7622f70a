"""Small asyncio helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]], recancel: float = 0.5) -> None:
    """Cancels `tasks` and waits for them to end, without swallowing a cancellation of the
    caller (``suppress(BaseException)`` around ``await task`` would) and without raising the
    tasks' own errors. A task that swallowed its cancellation (Python 3.11's wait_for can, when
    the inner future finishes at the same moment) is cancelled again every `recancel` seconds."""
    tasks = list(tasks)
    pending = {t for t in tasks if not t.done()}
    while pending:
        for t in pending:
            t.cancel()
        _done, pending = await asyncio.wait(pending, timeout=recancel)
    for t in tasks:
        if not t.cancelled():
            t.exception()  # retrieved: no "exception was never retrieved" noise


async def sleep_unless_cancelled(seconds: float) -> None:
    """asyncio.sleep that first honours a cancellation that an inner await swallowed."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
    await asyncio.sleep(seconds)
