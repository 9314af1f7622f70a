"""The node's durable state in one SQLite database (WAL): block index, UTXO set, undo data and the tip.

Every block connect or disconnect is a single SQLite transaction, so a crash at any moment leaves
either the old tip with the old UTXO set or the new tip with the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import io
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hashforge.consensus.coins import Coin
from hashforge.consensus.serialize import deser_compact_size, ser_compact_size
from hashforge.consensus.tx import OutPoint, TxOut

from .blockstore import BlockPos

SCHEMA_VERSION = 1

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


def serialize_undo(spent: Iterable[tuple[OutPoint, Coin]]) -> bytes:
    items = list(spent)
    return ser_compact_size(len(items)) + b"".join(op.serialize() + coin.serialize() for op, coin in items)


def deserialize_undo(data: bytes) -> list[tuple[OutPoint, Coin]]:
    f = io.BytesIO(data)
    return [(OutPoint.deserialize(f), Coin.deserialize(f)) for _ in range(deser_compact_size(f, range_check=False))]


class ChainStateDB:
    """Thread-safe wrapper over one SQLite connection."""

    def __init__(self, path: Path, network: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA cache_size=-262144")  # 256 MiB page cache: the UTXO set is hot
        with self._lock:
            self.conn.executescript(SCHEMA)
            stored = self.get_meta("network")
            if stored is None:
                self.set_meta("network", network.encode())
                self.set_meta("schema_version", str(SCHEMA_VERSION).encode())
            elif stored.decode() != network:
                raise ValueError(f"datadir belongs to network {stored.decode()!r}, not {network!r}")

    def close(self) -> None:
        with self._lock:
            self.conn.close()

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
        with self._lock:
            row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta(self, key: str, value: bytes, conn: sqlite3.Connection | None = None) -> None:
        with self._lock:
            (conn or self.conn).execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def tip_hash(self) -> bytes | None:
        return self.get_meta("tip")

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

    def put_index(self, rows: Iterable[IndexRow], conn: sqlite3.Connection | None = None) -> None:
        with self._lock:
            (conn or self.conn).executemany(
                "INSERT OR REPLACE INTO block_index VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        r.hash, r.height, r.header, r.chainwork.to_bytes(32, "big"), r.status, r.seq,
                        r.pos.file_no if r.pos else None, r.pos.offset if r.pos else None,
                        r.pos.length if r.pos else None, r.n_tx,
                    )
                    for r in rows
                ],
            )

    # --- UTXO set --------------------------------------------------------------------------

    def get_coin(self, outpoint: OutPoint) -> Coin | None:
        with self._lock:
            row = self.conn.execute(
                "SELECT value, script, height, coinbase FROM utxo WHERE txid=? AND n=?",
                (outpoint.hash, outpoint.n),
            ).fetchone()
        if row is None:
            return None
        return Coin(TxOut(row[0], bytes(row[1])), row[2], bool(row[3]))

    def get_coins(self, outpoints: Iterable[OutPoint], batch: int = 400) -> dict[OutPoint, Coin]:
        """The unspent ones among `outpoints`, in a few queries (a block's inputs at once)."""
        wanted = list(dict.fromkeys(outpoints))
        found: dict[OutPoint, Coin] = {}
        with self._lock:
            for i in range(0, len(wanted), batch):
                chunk = wanted[i : i + batch]
                rows = self.conn.execute(
                    "SELECT txid, n, value, script, height, coinbase FROM utxo WHERE (txid, n) IN (VALUES "
                    + ",".join(["(?,?)"] * len(chunk)) + ")",
                    [x for op in chunk for x in (op.hash, op.n)],
                ).fetchall()
                for txid, n, value, script, height, coinbase in rows:
                    found[OutPoint(bytes(txid), n)] = Coin(TxOut(value, bytes(script)), height, bool(coinbase))
        return found

    def apply(
        self,
        changes: dict[OutPoint, Coin | None],
        undo_key: bytes,
        undo: bytes | None,
        new_tip: bytes,
        index_rows: Iterable[IndexRow] = (),
        txids: Iterable[bytes] = (),
        txids_in: bytes | None = None,
    ) -> None:
        """One atomic step: the UTXO changes (None deletes), undo data written (or dropped), the
        transaction index (`txids` now in block `txids_in`, or removed when it is None), the new tip."""
        with self.transaction() as c:
            if txids_in is None:
                c.executemany("DELETE FROM txindex WHERE txid=?", [(t,) for t in txids])
            else:
                c.executemany("INSERT OR REPLACE INTO txindex VALUES (?, ?)", [(t, txids_in) for t in txids])
            c.executemany(
                "DELETE FROM utxo WHERE txid=? AND n=?",
                [(o.hash, o.n) for o, coin in changes.items() if coin is None],
            )
            c.executemany(
                "INSERT OR REPLACE INTO utxo VALUES (?,?,?,?,?,?)",
                [
                    (o.hash, o.n, coin.out.value, coin.out.script_pubkey, coin.height, int(coin.is_coinbase))
                    for o, coin in changes.items()
                    if coin is not None
                ],
            )
            if undo is None:
                c.execute("DELETE FROM undo WHERE hash=?", (undo_key,))
            else:
                c.execute("INSERT OR REPLACE INTO undo VALUES (?, ?)", (undo_key, undo))
            self.put_index(index_rows, c)
            self.set_meta("tip", new_tip, c)

    def tx_block(self, txid: bytes) -> bytes | None:
        """The hash of the active-chain block containing `txid`, if any."""
        with self._lock:
            row = self.conn.execute("SELECT block_hash FROM txindex WHERE txid=?", (txid,)).fetchone()
        return None if row is None else bytes(row[0])

    def get_undo(self, block_hash: bytes) -> bytes | None:
        with self._lock:
            row = self.conn.execute("SELECT data FROM undo WHERE hash=?", (block_hash,)).fetchone()
        return None if row is None else bytes(row[0])

    def find_by_scripts(self, scripts: Iterable[bytes]) -> list[tuple[OutPoint, Coin]]:
        """Every unspent output paying to one of `scripts` (a full scan, as Core's scantxoutset)."""
        wanted = set(scripts)
        found = []
        with self._lock:
            for txid, n, value, script, height, coinbase in self.conn.execute(
                "SELECT txid, n, value, script, height, coinbase FROM utxo"
            ):
                if bytes(script) in wanted:
                    found.append((OutPoint(bytes(txid), n), Coin(TxOut(value, bytes(script)), height, bool(coinbase))))
        return found

    def utxo_count(self) -> int:
        with self._lock:
            return int(self.conn.execute("SELECT COUNT(*) FROM utxo").fetchone()[0])

    def utxo_stats(self) -> dict[str, int | str]:
        """gettxoutsetinfo's figures over the whole UTXO set, with Bitcoin Core's hash_serialized_3:
        double SHA-256 over every coin in (txid, n) order as outpoint | u32 (height*2+coinbase) |
        txout, shown byte-reversed, so a Core node with the same chain reports the same hash."""
        h = hashlib.sha256()
        count = total = transactions = bogosize = 0
        prev_txid = None
        with self._lock:
            cur = self.conn.execute("SELECT txid, n, value, script, height, coinbase FROM utxo ORDER BY txid, n")
            for txid, n, value, script, height, coinbase in cur:
                script = bytes(script)
                h.update(
                    bytes(txid) + n.to_bytes(4, "little") + ((height << 1) | coinbase).to_bytes(4, "little")
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
