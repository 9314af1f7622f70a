"""The node's durable state in one SQLite database (WAL): block index, UTXO set, undo data and the tip.

Writes go to a cache in memory first (Core's -dbcache): coins read or changed, undo data, the
transaction index, block index entries and the tip. `flush` writes all of it in one SQLite
transaction with synchronous=FULL, so a crash at any moment leaves the state of the last flush,
never a mix; the chain manager replays the block files written since (see chain.py).
"""

from __future__ import annotations

import io
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hashforge.consensus.coins import Coin
from hashforge.consensus.serialize import deser_compact_size, ser_compact_size
from hashforge.consensus.tx import OutPoint, TxOut
from hashforge.schema import Schema, migrate, table_columns

from . import utxoscan
from .blockstore import BlockPos

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS block_index (
    hash      BLOB PRIMARY KEY,
    height    INTEGER NOT NULL,
    header    BLOB NOT NULL,
    chainwork BLOB NOT NULL,
    status    INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    file_no   INTEGER,
    data_pos  INTEGER,
    data_len  INTEGER,
    n_tx      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS utxo (
    txid     BLOB NOT NULL,
    n        INTEGER NOT NULL,
    value    INTEGER NOT NULL,
    script   BLOB NOT NULL,
    height   INTEGER NOT NULL,
    coinbase INTEGER NOT NULL,
    PRIMARY KEY (txid, n)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS undo (hash BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS txindex (txid BLOB PRIMARY KEY, block_hash BLOB NOT NULL) WITHOUT ROWID;
"""


def _adopt(conn: sqlite3.Connection) -> int | None:
    """A chainstate from before user_version (meta schema_version 1, the only one written) is
    adopted at 0: step 1 is all IF NOT EXISTS and adds what an early file lacks (txindex)."""
    if not table_columns(conn, "meta"):
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return 0 if row is not None and bytes(row[0]) == b"1" else None


# Version 1 is SCHEMA as it stands; a change to the tables is a new step (hashforge/schema.py).
CHAINSTATE_SCHEMA = Schema("chainstate", (SCHEMA,), _adopt)


@dataclass
class IndexRow:
    """What the database keeps of one block index entry."""

    hash: bytes
    height: int
    header: bytes
    chainwork: int
    status: int
    seq: int
    pos: BlockPos | None
    n_tx: int = 0


class HasRow(Protocol):
    hash: bytes

    def row(self) -> IndexRow: ...


# Cache flags of a coin entry (Core's CCoinsCacheEntry): DIRTY differs from the database; FRESH is
# not in the database at all, so spending it before a flush just forgets it.
DIRTY = 1
FRESH = 2


# A cached coin is one bytes object: its flags, then the coin as Coin.serialize() writes it
# (height*2+coinbase, value, script); the flags alone for a spent coin. Coin, TxOut, script, value
# and a tuple took ~250 bytes more per coin than this (~70), and the cache holds millions.
def pack_coin(coin: Coin | None, flags: int) -> bytes:
    return bytes((flags,)) if coin is None else bytes((flags,)) + coin.serialize()


def _compact_size_at(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0xFD:
        return first, pos + 1
    width = 2 if first == 0xFD else 4 if first == 0xFE else 8
    return int.from_bytes(data[pos + 1 : pos + 1 + width], "little"), pos + 1 + width


def unpack_coin(packed: bytes) -> Coin | None:
    if len(packed) == 1:
        return None
    code, pos = _compact_size_at(packed, 1)
    value = int.from_bytes(packed[pos : pos + 8], "little", signed=True)
    size, pos = _compact_size_at(packed, pos + 8)
    return Coin(TxOut(value, packed[pos : pos + size]), code >> 1, bool(code & 1))
# Estimated memory of one cached entry (measured with tracemalloc on CPython 3.11: a P2WPKH coin,
# its OutPoint, txid, packed form and dict slot, is ~240 bytes, ~540 as Coin/TxOut objects in a
# tuple; a txindex entry ~180; an undo entry ~80 besides its data).
COIN_ENTRY_BYTES = 250
TXINDEX_ENTRY_BYTES = 180
INDEX_ENTRY_BYTES = 120
UNDO_ENTRY_BYTES = 80
DEFAULT_CACHE_MIB = 450  # Core's -dbcache default, the most a machine-sized default takes
MIN_DEFAULT_CACHE_MIB = 32
# SQLite's page cache, out of --dbcache: small, as Core caps its coins database's LevelDB cache at
# 8 MiB (the rows we need are in the write-back cache; the OS caches the file). Measured at a
# flush of 60,000 blocks' changes: 2 MiB took 1.5x as long as 16 or 56 MiB, and a flush peaks at
# about the page cache's size more than between flushes.
SQLITE_CACHE_MAX = 16 << 20
SQLITE_CACHE_MIN = 2 << 20  # SQLite's own default, with --dbcache 0 too


def default_cache_mib() -> int:
    """450 MiB (Core's default), less on a machine with under 3.6 GiB of memory (1/8 of it)."""
    try:
        import os

        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return DEFAULT_CACHE_MIB
    return max(MIN_DEFAULT_CACHE_MIB, min(DEFAULT_CACHE_MIB, total // 8 // (1 << 20)))


def serialize_undo(spent: Iterable[tuple[OutPoint, Coin]]) -> bytes:
    items = list(spent)
    return ser_compact_size(len(items)) + b"".join(op.serialize() + coin.serialize() for op, coin in items)


def deserialize_undo(data: bytes) -> list[tuple[OutPoint, Coin]]:
    f = io.BytesIO(data)
    return [(OutPoint.deserialize(f), Coin.deserialize(f)) for _ in range(deser_compact_size(f, range_check=False))]


SPENT_DIRTY = pack_coin(None, DIRTY)


def _dirty_coin_rows(coins: dict[OutPoint, bytes]) -> Iterator[tuple[bytes, int, int, bytes, int, int]]:
    """The utxo table's rows of the unspent coins changed since the last flush."""
    for o, v in coins.items():
        if len(v) > 1 and v[0] & DIRTY:
            coin = unpack_coin(v)
            assert coin is not None
            yield o.hash, o.n, coin.out.value, coin.out.script_pubkey, coin.height, int(coin.is_coinbase)


class ChainStateDB:
    """One SQLite connection with a write-back cache in front; thread-safe.

    `cache_bytes` (--dbcache) bounds the memory of both caches: an eighth of it (at most 16 MiB)
    is SQLite's page cache, the rest this write-back cache (estimated); 0 writes through: every
    `apply` is flushed."""

    def __init__(self, path: Path, network: str, cache_bytes: int = DEFAULT_CACHE_MIB << 20) -> None:
        self.path = path
        # SQLite's pages were 256 MiB on top of --dbcache; a flush keeps the pages it dirties there
        # until the commit (as many as fit), so a large page cache also raised each flush's peak.
        page_cache = min(cache_bytes // 8, SQLITE_CACHE_MAX)
        self.cache_bytes = cache_bytes - page_cache
        self._lock = threading.RLock()
        self._coins: dict[OutPoint, bytes] = {}  # pack_coin's form
        self._undo: dict[bytes, bytes | None] = {}
        self._undo_bytes = 0
        self._txindex: dict[bytes, bytes | None] = {}
        self._index: dict[bytes, HasRow] = {}
        self._meta: dict[str, bytes] = {}
        # Called first in every flush, outside the transaction: the chain manager fsyncs the block
        # files and records how far they go (meta "blk_mark"), so the database never points at
        # block data a power cut could take away.
        self.before_flush: Callable[[], None] | None = None
        self.flushes = 0
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # Commits happen once per flush: each must survive a power cut.
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute(f"PRAGMA cache_size=-{max(page_cache, SQLITE_CACHE_MIN) >> 10}")  # in KiB
        with self._lock:
            migrate(self.conn, CHAINSTATE_SCHEMA, path)  # NewerSchema: a newer hashforge wrote it
            stored = self.get_meta("network")
            if stored is None:
                self.set_meta("network", network.encode())
            elif stored.decode() != network:
                raise ValueError(f"datadir belongs to network {stored.decode()!r}, not {network!r}")

    def close(self) -> None:
        """Flushes the cache (a clean shutdown) and closes the database."""
        with self._lock:
            self.flush()
            self.conn.close()

    def close_without_flush(self) -> None:
        with self._lock:
            self.conn.close()

    # --- the cache -------------------------------------------------------------------------

    def cache_usage(self) -> int:
        """Estimated bytes held by the cache."""
        return (
            len(self._coins) * COIN_ENTRY_BYTES + self._undo_bytes + len(self._undo) * UNDO_ENTRY_BYTES
            + len(self._txindex) * TXINDEX_ENTRY_BYTES + len(self._index) * INDEX_ENTRY_BYTES
        )

    def cache_coins(self) -> int:
        return len(self._coins)

    @property
    def dirty(self) -> bool:
        return bool(self._meta or self._index or self._undo or self._txindex or any(v[0] & DIRTY for v in self._coins.values()))

    def maybe_flush(self) -> bool:
        """Flushes when the cache is over its budget; True if it did."""
        if self.cache_usage() > self.cache_bytes:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Writes every pending change in one transaction (synchronous=FULL); when the cache is
        still over budget afterwards (clean coins read), empties it."""
        with self._lock:
            if self.before_flush is not None:
                self.before_flush()
            if not self.dirty:
                return
            coins = self._coins
            # Rows are generated as SQLite takes them: lists of a full cache's rows doubled the
            # memory a flush needed (+44 MB at 100,000 blocks).
            with self.transaction() as c:
                self._write_index((e.row() for e in self._index.values()), c)
                c.executemany(
                    "DELETE FROM utxo WHERE txid=? AND n=?",
                    ((o.hash, o.n) for o, v in coins.items() if len(v) == 1 and v[0] & DIRTY),
                )
                c.executemany("INSERT OR REPLACE INTO utxo VALUES (?,?,?,?,?,?)", _dirty_coin_rows(coins))
                c.executemany("DELETE FROM undo WHERE hash=?", ((k,) for k, v in self._undo.items() if v is None))
                c.executemany("INSERT OR REPLACE INTO undo VALUES (?, ?)", ((k, v) for k, v in self._undo.items() if v is not None))
                c.executemany("DELETE FROM txindex WHERE txid=?", ((k,) for k, v in self._txindex.items() if v is None))
                c.executemany(
                    "INSERT OR REPLACE INTO txindex VALUES (?, ?)", ((k, v) for k, v in self._txindex.items() if v is not None)
                )
                for key, value in self._meta.items():
                    self.set_meta(key, value, c)
            self.flushes += 1
            self._index.clear()
            self._undo.clear()
            self._undo_bytes = 0
            self._txindex.clear()
            self._meta.clear()
            if len(coins) * COIN_ENTRY_BYTES > self.cache_bytes // 2:
                coins.clear()
            else:  # in place, one entry at a time: no second copy of the cache
                for o in [o for o, v in coins.items() if v[0]]:
                    v = coins[o]
                    if len(v) == 1:
                        del coins[o]
                    else:
                        coins[o] = b"\x00" + v[1:]

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    # --- meta ------------------------------------------------------------------------------

    def get_meta(self, key: str) -> bytes | None:
        if key in self._meta:
            return self._meta[key]
        with self._lock:
            row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta(self, key: str, value: bytes, conn: sqlite3.Connection | None = None) -> None:
        with self._lock:
            (conn or self.conn).execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def tip_hash(self) -> bytes | None:
        return self.get_meta("tip")

    def put_meta(self, key: str, value: bytes) -> None:
        """Sets `key` at the next flush."""
        self._meta[key] = value

    # --- block index -----------------------------------------------------------------------

    def load_index(self) -> list[IndexRow]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT hash, height, header, chainwork, status, seq, file_no, data_pos, data_len, n_tx "
                "FROM block_index ORDER BY height, seq"
            ).fetchall()
        return [
            IndexRow(
                bytes(r[0]), r[1], bytes(r[2]), int.from_bytes(r[3], "big"), r[4], r[5],
                None if r[6] is None else BlockPos(r[6], r[7], r[8]), r[9],
            )
            for r in rows
        ]

    def put_index(self, entries: Iterable[HasRow]) -> None:
        """Block index entries to write (their row as of the next flush)."""
        for e in entries:
            self._index[e.hash] = e

    def _write_index(self, rows: Iterable[IndexRow], conn: sqlite3.Connection | None = None) -> None:
        with self._lock:
            (conn or self.conn).executemany(
                "INSERT OR REPLACE INTO block_index VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    (
                        r.hash, r.height, r.header, r.chainwork.to_bytes(32, "big"), r.status, r.seq,
                        r.pos.file_no if r.pos else None, r.pos.offset if r.pos else None,
                        r.pos.length if r.pos else None, r.n_tx,
                    )
                    for r in rows
                ),
            )

    # --- UTXO set --------------------------------------------------------------------------

    def get_coin(self, outpoint: OutPoint) -> Coin | None:
        cached = self._coins.get(outpoint)
        if cached is not None:
            return unpack_coin(cached)
        with self._lock:
            row = self.conn.execute(
                "SELECT value, script, height, coinbase FROM utxo WHERE txid=? AND n=?",
                (outpoint.hash, outpoint.n),
            ).fetchone()
        if row is None:
            return None
        coin = Coin(TxOut(row[0], bytes(row[1])), row[2], bool(row[3]))
        self._coins[outpoint] = pack_coin(coin, 0)
        return coin

    def get_coins(self, outpoints: Iterable[OutPoint], batch: int = 400) -> dict[OutPoint, Coin]:
        """The unspent ones among `outpoints`: from the cache, the rest in a few queries."""
        found: dict[OutPoint, Coin] = {}
        wanted = []
        cache = self._coins
        for op in dict.fromkeys(outpoints):
            cached = cache.get(op)
            if cached is None:
                wanted.append(op)
            elif (coin := unpack_coin(cached)) is not None:
                found[op] = coin
        if not wanted:
            return found
        with self._lock:
            for i in range(0, len(wanted), batch):
                chunk = wanted[i : i + batch]
                rows = self.conn.execute(
                    "SELECT txid, n, value, script, height, coinbase FROM utxo WHERE (txid, n) IN (VALUES "
                    + ",".join(["(?,?)"] * len(chunk)) + ")",
                    [x for op in chunk for x in (op.hash, op.n)],
                ).fetchall()
                for txid, n, value, script, height, coinbase in rows:
                    op = OutPoint(bytes(txid), n)
                    coin = Coin(TxOut(value, bytes(script)), height, bool(coinbase))
                    found[op] = coin
                    cache[op] = pack_coin(coin, 0)
        return found

    def apply(
        self,
        changes: dict[OutPoint, Coin | None],
        undo_key: bytes,
        undo: bytes | None,
        new_tip: bytes,
        index_entries: Iterable[HasRow] = (),
        txids: Iterable[bytes] = (),
        txids_in: bytes | None = None,
        created: bool = False,
    ) -> None:
        """One block's step, into the cache: the UTXO changes (None deletes), undo data written (or
        dropped), the transaction index (`txids` now in block `txids_in`, or removed when it is
        None), the new tip. `created`: the coins added are new outputs (a connect), so those not
        from a coinbase cannot be in the database (Core's FRESH; coinbases may repeat, BIP30)."""
        cache = self._coins
        for o, coin in changes.items():
            old = cache.get(o)
            if coin is None:
                if old is not None and old[0] & FRESH:
                    del cache[o]
                else:
                    cache[o] = SPENT_DIRTY
            elif created and old is None and not coin.is_coinbase:
                cache[o] = pack_coin(coin, DIRTY | FRESH)
            else:
                cache[o] = pack_coin(coin, DIRTY)
        old_undo = self._undo.get(undo_key)
        if old_undo is not None:
            self._undo_bytes -= len(old_undo)
        self._undo[undo_key] = undo
        if undo is not None:
            self._undo_bytes += len(undo)
        for t in txids:
            self._txindex[t] = txids_in
        self.put_index(index_entries)
        self._meta["tip"] = new_tip
        if self.cache_bytes <= 0:
            self.flush()

    def tx_block(self, txid: bytes) -> bytes | None:
        """The hash of the active-chain block containing `txid`, if any."""
        if txid in self._txindex:
            return self._txindex[txid]
        with self._lock:
            row = self.conn.execute("SELECT block_hash FROM txindex WHERE txid=?", (txid,)).fetchone()
        return None if row is None else bytes(row[0])

    def get_undo(self, block_hash: bytes) -> bytes | None:
        if block_hash in self._undo:
            return self._undo[block_hash]
        with self._lock:
            row = self.conn.execute("SELECT data FROM undo WHERE hash=?", (block_hash,)).fetchone()
        return None if row is None else bytes(row[0])

    def utxo_stats(self) -> dict[str, int | str]:
        """gettxoutsetinfo's figures over the whole UTXO set (utxoscan.utxo_stats), here on the
        chainstate's own connection; the node's RPC scans a snapshot off the chain thread instead."""
        with self._lock:
            self.flush()  # as Core's gettxoutsetinfo
            return utxoscan.utxo_stats(self.conn.execute(utxoscan.ALL_COINS))
