"""The recorder: a durable share pipeline with group commit.

`submit(record, done)` calls `done(True)` once the share is durable (`done(False)` if it could
not be made durable); the stratifier acknowledges the share to the miner only then. One writer task drains the queue: it takes
every share waiting (up to `max_batch`), writes them in one transaction in a worker thread
and resolves their futures after COMMIT returned (SQLite WAL + synchronous=FULL fsyncs the
WAL; PostgreSQL fsyncs its WAL). So the bound on a share's acknowledgement delay is one
commit in progress plus its own; nothing acknowledged can be lost by a crash.

When the database fails `retries` times in a row, the batch is appended to a spill file
(JSON lines, fsync'ed before the futures resolve) and the recorder keeps trying the database
with the next batch; `replay_spill()` (run at start) moves spilled shares into the database
and truncates the file in the same order, so a share is stored exactly once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from sqlalchemy.engine import Engine

from .config import RecorderConfig
from .db.repositories import ShareRepository
from .errors import RecorderError
from .metrics import PoolMetrics
from .records import ShareRecord

log = logging.getLogger(__name__)


class ShareRecorder:
    def __init__(self, engine: Engine, cfg: RecorderConfig, spill_path: Path, metrics: PoolMetrics | None = None) -> None:
        self.engine = engine
        self.cfg = cfg
        self.spill_path = spill_path
        self.metrics = metrics or PoolMetrics()
        self._queue: list[tuple[ShareRecord, Callable[[bool], None]]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.committed = 0

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self.replay_spill)
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Flushes everything queued, then stops."""
        self._closing = True
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            await self._task

    # --- pipeline --------------------------------------------------------------------------

    def submit(self, record: ShareRecord, done: Callable[[bool], None]) -> None:
        if self._closing or self._wake is None:
            raise RecorderError("recorder is not running")
        self._queue.append((record, done))
        if len(self._queue) == 1:
            self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._queue[: self.cfg.max_batch]
            del self._queue[: self.cfg.max_batch]
            records = [r for r, _ in batch]
            ok = True
            try:
                await self._write(records)
            except RecorderError as e:
                log.error("%d shares could not be made durable: %s", len(records), e)
                ok = False
            for _, done in batch:
                try:
                    done(ok)
                except Exception:
                    log.exception("share acknowledgement failed")
            if ok:
                self.metrics.accepted.inc(len(records))
                self.metrics.accepted_difficulty.inc(sum(r.difficulty for r in records))
            self.metrics.recorder_batch.set(len(batch))

    async def _write(self, records: Sequence[ShareRecord]) -> None:
        delay = self.cfg.retry_delay
        for attempt in range(self.cfg.retries):
            try:
                await asyncio.to_thread(self._commit, records)
                self.committed += len(records)
                return
            except Exception as e:
                log.warning("share batch of %d failed (attempt %d): %s", len(records), attempt + 1, e)
                await asyncio.sleep(delay)
                delay *= 2
        try:
            await asyncio.to_thread(self._spill, records)
            self.metrics.recorder_spilled.inc(len(records))
        except OSError as e:
            raise RecorderError(f"database and spill file both failed: {e}") from e

    def _commit(self, records: Sequence[ShareRecord]) -> None:
        with self.engine.begin() as conn:
            ShareRepository.insert_many(conn, records)

    # --- spill file ------------------------------------------------------------------------

    def _spill(self, records: Sequence[ShareRecord]) -> None:
        with open(self.spill_path, "a", encoding="utf-8") as f:
            for r in records:
                d = asdict(r)
                d["hash"] = r.hash.hex()
                f.write(json.dumps(d) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def replay_spill(self) -> int:
        if not self.spill_path.exists():
            return 0
        records = []
        for line in self.spill_path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                d["hash"] = bytes.fromhex(d["hash"])
                d["aux_chains"] = tuple(d.get("aux_chains", ()))  # a JSON list; none in a spill from before 0004
                records.append(ShareRecord(**d))
            except (ValueError, TypeError, KeyError):
                log.error("unreadable spill line skipped: %.200s", line)  # a torn last write
        with self.engine.begin() as conn:  # skip what a previous replay already stored
            fresh = [r for r in records if ShareRepository.id_by_hash(conn, r.hash) is None]
            ShareRepository.insert_many(conn, fresh)
        self.spill_path.unlink()
        log.info("replayed %d spilled shares", len(records))
        return len(records)
