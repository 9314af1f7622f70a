"""Blocks received from peers wait here to be connected on the chain thread in batches.

Event-loop only. A peer's reader hands a block over and goes on reading; one task takes whatever
has arrived meanwhile to the chain thread in a single hop (Core's ProcessNewBlock runs on the
message thread; here every hop between the event loop and the chain thread costs two thread
wake-ups, which on a busy 2-core machine were most of the time a block took to sync).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from hashforge.consensus.block import Block

from .peer import Peer

if TYPE_CHECKING:
    from .network import P2PNetwork

log = logging.getLogger(__name__)
R = TypeVar("R")

MAX_BATCH = 64  # blocks per chain-thread hop: about 15-30 ms of empty blocks, a few seconds of full ones
MAX_QUEUED_BLOCKS = 512
MAX_QUEUED_BYTES = 64_000_000  # beyond either limit no more blocks are requested until it drains


@dataclass
class QueuedBlock(Generic[R]):
    peer: Peer
    block: Block
    raw: bytes | None
    requested: bool  # we asked for it (in-flight from this peer, or a compact block we completed)
    via_compact: bool
    done: asyncio.Future[R]

    @property
    def size(self) -> int:
        return len(self.raw) if self.raw is not None else 80


class ConnectQueue(Generic[R]):
    """Received blocks in arrival order. `connect` runs on the chain thread, once per block of a
    batch; `after` runs on the event loop for each block's result, in the same order; `drained`
    once per batch after that (with `was_full`: the queue was full, nobody was asked for more)."""

    def __init__(
        self,
        net: P2PNetwork,
        connect: Callable[[QueuedBlock[R]], R],
        after: Callable[[QueuedBlock[R], R], Awaitable[None]],
        drained: Callable[[list[QueuedBlock[R]], list[R], bool], Awaitable[None]],
    ) -> None:
        self.net = net
        self._connect = connect
        self._after = after
        self._drained = drained
        self._items: list[QueuedBlock[R]] = []
        self._hashes: dict[bytes, int] = {}  # hash -> copies queued or being connected
        self._bytes = 0
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._hashes)

    def __contains__(self, block_hash: object) -> bool:
        return block_hash in self._hashes

    def hashes(self) -> frozenset[bytes]:
        return frozenset(self._hashes)

    @property
    def full(self) -> bool:
        return len(self._items) >= MAX_QUEUED_BLOCKS or self._bytes >= MAX_QUEUED_BYTES

    def put(self, peer: Peer, block: Block, raw: bytes | None, requested: bool, via_compact: bool = False) -> asyncio.Future[R]:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        item = QueuedBlock(peer, block, raw, requested, via_compact, done)
        self._items.append(item)
        self._hashes[block.hash] = self._hashes.get(block.hash, 0) + 1
        self._bytes += item.size
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        return done

    async def _run(self) -> None:
        while self._items:
            was_full = self.full
            batch = self._items[:MAX_BATCH]
            del self._items[: len(batch)]
            try:
                results = await self.net.call(functools.partial(self._connect_all, batch))
            except (asyncio.CancelledError, RuntimeError):  # shutting down (the executor is gone)
                self._abandon(batch + self._items)
                raise
            for item, result in zip(batch, results, strict=True):
                self._forget(item)
                try:
                    await self._after(item, result)
                except Exception:  # a bug costs this block's follow-up, never the queue
                    log.exception("peer=%d: handling block %s failed", item.peer.id, item.block.hash_hex)
                if not item.done.done():
                    item.done.set_result(result)
            try:
                await self._drained(batch, results, was_full)
            except Exception:
                log.exception("requesting blocks after a batch failed")

    def _connect_all(self, batch: list[QueuedBlock[R]]) -> list[R]:
        return [self._connect(item) for item in batch]

    def _abandon(self, items: list[QueuedBlock[R]]) -> None:
        self._items = []
        for item in items:
            self._forget(item)
            item.done.cancel()

    def _forget(self, item: QueuedBlock[R]) -> None:
        h = item.block.hash
        left = self._hashes.get(h, 0) - 1
        if left > 0:
            self._hashes[h] = left
        else:
            self._hashes.pop(h, None)
        self._bytes -= item.size

    async def close(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
