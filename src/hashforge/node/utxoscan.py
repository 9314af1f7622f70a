"""Full scans of the UTXO set (gettxoutsetinfo, scantxoutset) off the chain thread, on a snapshot.

A scan of a large UTXO set takes seconds to minutes; on the chain thread it would hold up
submitblock and every other chain RPC meanwhile. Instead the chain thread only takes a snapshot:
it writes the chainstate's cache (if it keeps one) to the database, opens a second, read-only
SQLite connection and begins a read transaction there, reading the tip. In WAL mode a reader sees
the database as of its transaction's first read, whatever the chain thread commits afterwards, so
the scan that follows on a worker thread sees exactly the UTXO set of that tip.

Threading: `take_snapshot` runs on the chain thread; a `Snapshot` is then used by one scan thread
at a time. `UTXOScanner` owns those threads and the state scantxoutset's status and abort see.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from hashforge.consensus.coins import Coin
from hashforge.consensus.serialize import ser_compact_size
from hashforge.consensus.tx import OutPoint, TxOut

# txid, n, value, script, height, coinbase: one row of the utxo table, in primary-key order
Row = tuple[bytes, int, int, bytes, int, int]
ALL_COINS = "SELECT txid, n, value, script, height, coinbase FROM utxo ORDER BY txid, n"
TICK_ROWS = 4096  # rows between progress reports and abort checks
T = TypeVar("T")


class ScanAborted(Exception):
    """The scan was told to stop (scantxoutset abort, or the node shutting down)."""


class ScanInProgress(Exception):
    """A scantxoutset is already running (Core runs one at a time)."""


class Snapshot:
    """A read transaction on its own read-only connection: the UTXO set as of `tip_hash`."""

    def __init__(self, path: Path) -> None:
        # Opened on the chain thread, read on a scan thread: one thread at a time.
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
        try:
            self.conn.execute("BEGIN")
            # The transaction's first read fixes the snapshot it sees from now on.
            row = self.conn.execute("SELECT value FROM meta WHERE key='tip'").fetchone()
        except BaseException:
            self.conn.close()
            raise
        self.tip_hash: bytes | None = None if row is None else bytes(row[0])

    def batches(self, size: int) -> Iterator[list[Row]]:
        """Every coin, in batches of `size` (SQLite gives BLOBs as bytes: rows need no conversion)."""
        cursor = self.conn.execute(ALL_COINS)
        while batch := cursor.fetchmany(size):
            yield batch

    def rows(self) -> Iterator[Row]:
        for batch in self.batches(TICK_ROWS):
            yield from batch

    def close(self) -> None:
        self.conn.close()  # ends the read transaction: the WAL may be checkpointed past it again


def take_snapshot(path: Path, flush: Callable[[], None] | None = None) -> Snapshot:
    """On the chain thread: `flush` the chainstate's cache to disk first, then begin the snapshot."""
    if flush is not None:
        flush()
    return Snapshot(path)


def utxo_stats(rows: Iterable[Row]) -> dict[str, int | str]:
    """gettxoutsetinfo's figures over the whole UTXO set, with Bitcoin Core's hash_serialized_3:
    double SHA-256 over every coin in (txid, n) order as outpoint | u32 (height*2+coinbase) |
    txout, shown byte-reversed, so a Core node with the same chain reports the same hash."""
    h = hashlib.sha256()
    count = total = transactions = bogosize = 0
    prev_txid = None
    for txid, n, value, script, height, coinbase in rows:
        h.update(
            txid + n.to_bytes(4, "little") + ((height << 1) | coinbase).to_bytes(4, "little")
            + value.to_bytes(8, "little", signed=True) + ser_compact_size(len(script)) + script
        )
        if txid != prev_txid:
            transactions += 1
            prev_txid = txid
        count += 1
        total += value
        bogosize += 50 + len(script)  # Core's GetBogoSize: 32 + 4 + 4 + 8 + 2 + script
    return {
        "txouts": count,
        "transactions": transactions,
        "bogosize": bogosize,
        "total_amount": total,
        "hash": hashlib.sha256(h.digest()).digest()[::-1].hex(),
    }


def find_by_scripts(rows: Iterable[Row], scripts: Iterable[bytes]) -> tuple[list[tuple[OutPoint, Coin]], int]:
    """Every unspent output paying to one of `scripts`, and how many outputs were scanned."""
    wanted = set(scripts)
    found = []
    count = 0
    for txid, n, value, script, height, coinbase in rows:
        count += 1
        if script in wanted:
            found.append((OutPoint(txid, n), Coin(TxOut(value, script), height, bool(coinbase))))
    return found, count


@dataclass(eq=False)
class ScanState:
    """One running scan: how far it is (0-100, from the txid it reached) and whether to stop."""

    progress: int = 0
    abort: threading.Event = field(default_factory=threading.Event)


class UTXOScanner:
    """Runs scans on threads of its own; tracks the scantxoutset in progress for status and abort.

    `observers` are called on the scan thread with the scan's progress, once when it starts (the
    snapshot taken) and then every few thousand coins."""

    def __init__(self, threads: int = 2) -> None:
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="utxoscan")
        self._lock = threading.Lock()
        self._running: set[ScanState] = set()
        self.scantxoutset: ScanState | None = None
        self.observers: list[Callable[[int], None]] = []
        self._closed = False

    def reserve_scantxoutset(self) -> ScanState:
        with self._lock:
            if self.scantxoutset is not None:
                raise ScanInProgress
            self.scantxoutset = ScanState()
            return self.scantxoutset

    def release_scantxoutset(self, state: ScanState) -> None:
        with self._lock:
            if self.scantxoutset is state:
                self.scantxoutset = None

    def rows(self, snapshot: Snapshot, state: ScanState) -> Iterator[Row]:
        """The snapshot's coins, reporting progress and stopping (ScanAborted) when told to."""
        self._report(state, 0)
        for batch in snapshot.batches(TICK_ROWS):
            yield from batch
            # Coins come in txid order, so the txid's first two bytes say how far the scan is.
            self._report(state, int.from_bytes(batch[-1][0][:2], "big") * 100 >> 16)

    def _report(self, state: ScanState, progress: int) -> None:
        state.progress = progress
        for observe in list(self.observers):
            observe(progress)
        if state.abort.is_set():
            raise ScanAborted

    def run(self, state: ScanState, fn: Callable[[], T]) -> T:
        """Runs `fn` (a scan under `state`) here, on a scan thread; for run_in_executor."""
        with self._lock:
            if self._closed:
                raise ScanAborted
            self._running.add(state)
        try:
            return fn()
        finally:
            with self._lock:
                self._running.discard(state)

    @property
    def executor(self) -> ThreadPoolExecutor:
        return self._executor

    def close(self) -> None:
        """Stops the running scans and waits for their threads (node shutdown)."""
        with self._lock:
            self._closed = True
            for state in self._running:
                state.abort.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
