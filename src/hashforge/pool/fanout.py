"""Fan-out between pool processes sharing PostgreSQL: LISTEN/NOTIFY on new tips.

Each process polls its node (0.25 s) anyway; the bus makes the others switch at once when one
of them found the block, so no process mines on a stale tip for a poll interval. (Redis
pub/sub would fit the same two methods.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

CHANNEL = "hashforge_pool_tip"


def libpq_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


class PgTipBus:
    def __init__(self, url: str, instance: int) -> None:
        self.url = libpq_url(url)
        self.instance = instance
        self._listen: Any = None
        self._notify: Any = None
        self._task: asyncio.Task[None] | None = None
        self.heard = 0

    async def start(self, on_tip: Callable[[str], Awaitable[Any]]) -> None:
        import psycopg

        self._listen = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        self._notify = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        await self._listen.execute(f"LISTEN {CHANNEL}")

        async def run() -> None:
            async for note in self._listen.notifies():
                instance, _, block_hash = note.payload.partition(":")
                if instance != str(self.instance):
                    self.heard += 1
                    try:
                        await on_tip(block_hash)
                    except Exception:
                        log.exception("tip notification handler failed")

        self._task = asyncio.get_running_loop().create_task(run())

    async def publish(self, block_hash: str) -> None:
        if self._notify is not None:
            await self._notify.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{self.instance}:{block_hash}"))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for conn in (self._listen, self._notify):
            if conn is not None:
                await conn.close()
