"""The wallet database (SQLite, WAL): addresses, transactions, our outputs and their spends.

Only facts are stored; balances, UTXOs and confirmations are computed by queries. A transaction
counts toward the balance while its status is ACTIVE; outputs it spends stop counting then.

Threading: one connection per `WalletDB`, shared by threads under `self.lock` (an RLock). Every
write happens inside `transaction()`, which also takes SQLite's write lock at once (BEGIN
IMMEDIATE), so two processes sending from one wallet cannot pick the same coins.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from hashforge.schema import Schema, SchemaError, migrate, table_columns

from .errors import WalletSchemaError


class TxStatus(StrEnum):
    SIGNED = "signed"  # built and recorded, not yet accepted by a node (coins reserved)
    MEMPOOL = "mempool"  # accepted by the node, unconfirmed
    CONFIRMED = "confirmed"
    REPLACED = "replaced"  # replaced by our own fee bump (see replaced_by)
    CONFLICTED = "conflicted"  # an input was spent by another confirmed transaction
    DROPPED = "dropped"  # neither in the mempool nor in a block (e.g. after a reorg)
    ABANDONED = "abandoned"  # given up by the user; its coins are free again


ACTIVE = (TxStatus.SIGNED, TxStatus.MEMPOOL, TxStatus.CONFIRMED)
_ACTIVE_SQL = "('signed','mempool','confirmed')"
# A dropped transaction may still confirm (rebroadcast, reorg): like Bitcoin Core, its inputs stay
# reserved until the user abandons it, so they are never spent twice by accident.
_RESERVING_SQL = "('signed','mempool','confirmed','dropped')"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts(
    id INTEGER PRIMARY KEY, script_type TEXT NOT NULL UNIQUE, xpub TEXT NOT NULL,
    fingerprint TEXT NOT NULL, origin TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS addresses(
    script BLOB PRIMARY KEY, account INTEGER NOT NULL REFERENCES accounts(id),
    chain INTEGER NOT NULL, idx INTEGER NOT NULL, address TEXT NOT NULL, pubkey BLOB NOT NULL,
    used INTEGER NOT NULL DEFAULT 0, handed_out INTEGER NOT NULL DEFAULT 0,
    UNIQUE(account, chain, idx));
CREATE TABLE IF NOT EXISTS blocks(height INTEGER PRIMARY KEY, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS txs(
    txid TEXT PRIMARY KEY, status TEXT NOT NULL, block_hash TEXT, height INTEGER,
    block_time INTEGER, coinbase INTEGER NOT NULL DEFAULT 0, fee INTEGER, vsize INTEGER,
    raw BLOB, first_seen INTEGER NOT NULL, replaced_by TEXT);
CREATE INDEX IF NOT EXISTS txs_height ON txs(height);
CREATE TABLE IF NOT EXISTS outputs(
    txid TEXT NOT NULL, n INTEGER NOT NULL, value INTEGER NOT NULL, script BLOB NOT NULL,
    PRIMARY KEY(txid, n));
CREATE TABLE IF NOT EXISTS spends(
    prev_txid TEXT NOT NULL, prev_n INTEGER NOT NULL, txid TEXT NOT NULL,
    PRIMARY KEY(prev_txid, prev_n, txid));
CREATE INDEX IF NOT EXISTS spends_txid ON spends(txid);
CREATE TABLE IF NOT EXISTS requests(
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, txid TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS mempool_seen(txid TEXT PRIMARY KEY);
"""


def _adopt(conn: sqlite3.Connection) -> int | None:
    """A wallet from before user_version has meta schema_version 1; step 1 (all IF NOT EXISTS)
    runs again over it."""
    if not table_columns(conn, "meta"):
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return 0 if row is not None and row[0] == "1" else None


# Version 1 is _SCHEMA as it stands; a change to the tables is a new step (hashforge/schema.py).
WALLET_SCHEMA = Schema("wallet", (_SCHEMA,), _adopt)


@dataclass(frozen=True)
class AddressRow:
    script: bytes
    account: int
    chain: int
    index: int
    address: str
    pubkey: bytes
    used: bool


@dataclass(frozen=True)
class OutputRow:
    """One of our outputs, with what the queries know about its transaction."""

    txid: str
    n: int
    value: int
    script: bytes
    status: TxStatus
    height: int | None
    coinbase: bool
    trusted: bool  # our own transaction (we funded it): its unconfirmed change is spendable
    account: int
    chain: int
    index: int


@dataclass(frozen=True)
class TxRow:
    txid: str
    status: TxStatus
    block_hash: str | None
    height: int | None
    block_time: int | None
    coinbase: bool
    fee: int | None
    vsize: int | None
    raw: bytes | None
    first_seen: int
    replaced_by: str | None


class WalletDB:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        if not path.exists():  # private from the start; SQLite gives -wal/-shm the same mode
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        try:
            migrate(self.conn, WALLET_SCHEMA, path)
        except SchemaError as e:  # NewerSchema: a newer hashforge wrote it
            self.conn.close()
            raise WalletSchemaError(str(e)) from None
        # Kept for hashforge before user_version, which refuses a wallet whose meta version is not its own.
        if self.get_meta("schema_version") != str(WALLET_SCHEMA.version):
            self.set_meta("schema_version", str(WALLET_SCHEMA.version))

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE); nested use joins the outer one."""
        with self.lock:
            if self.conn.in_transaction:
                yield self.conn
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    # --- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    # --- accounts and addresses ----------------------------------------------------------------

    def add_account(self, script_type: str, xpub: str, fingerprint: str, origin: str) -> int:
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO accounts(script_type, xpub, fingerprint, origin) VALUES(?,?,?,?)",
                (script_type, xpub, fingerprint, origin),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    def accounts(self) -> list[tuple[int, str, str, str, str]]:
        return self.query("SELECT id, script_type, xpub, fingerprint, origin FROM accounts ORDER BY id")

    def add_addresses(self, rows: Sequence[tuple[bytes, int, int, int, str, bytes]]) -> None:
        with self.transaction() as c:
            c.executemany(
                "INSERT OR IGNORE INTO addresses(script, account, chain, idx, address, pubkey) VALUES(?,?,?,?,?,?)",
                rows,
            )

    def address_count(self, account: int, chain: int) -> int:
        return int(self.query("SELECT COUNT(*) FROM addresses WHERE account=? AND chain=?", (account, chain))[0][0])

    def last_used_index(self, account: int, chain: int) -> int:
        row = self.query(
            "SELECT MAX(idx) FROM addresses WHERE account=? AND chain=? AND (used=1 OR handed_out=1)",
            (account, chain),
        )
        return -1 if row[0][0] is None else int(row[0][0])

    def all_scripts(self) -> dict[bytes, tuple[int, int, int]]:
        return {bytes(r[0]): (r[1], r[2], r[3]) for r in self.query("SELECT script, account, chain, idx FROM addresses")}

    def address_row(self, script: bytes) -> AddressRow | None:
        rows = self.query(
            "SELECT script, account, chain, idx, address, pubkey, used FROM addresses WHERE script=?", (script,)
        )
        return _address(rows[0]) if rows else None

    def next_unused(self, account: int, chain: int) -> AddressRow | None:
        rows = self.query(
            "SELECT script, account, chain, idx, address, pubkey, used FROM addresses "
            "WHERE account=? AND chain=? AND used=0 AND handed_out=0 ORDER BY idx LIMIT 1",
            (account, chain),
        )
        return _address(rows[0]) if rows else None

    def mark_handed_out(self, script: bytes) -> None:
        with self.transaction() as c:
            c.execute("UPDATE addresses SET handed_out=1 WHERE script=?", (script,))

    def mark_used(self, scripts: Sequence[bytes]) -> None:
        with self.transaction() as c:
            c.executemany("UPDATE addresses SET used=1 WHERE script=?", [(s,) for s in scripts])

    def list_addresses(self) -> list[AddressRow]:
        rows = self.query(
            "SELECT script, account, chain, idx, address, pubkey, used FROM addresses "
            "WHERE used=1 OR handed_out=1 ORDER BY account, chain, idx"
        )
        return [_address(r) for r in rows]

    # --- blocks -------------------------------------------------------------------------------

    def tip(self) -> tuple[int, str] | None:
        rows = self.query("SELECT height, hash FROM blocks ORDER BY height DESC LIMIT 1")
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def block_hash(self, height: int) -> str | None:
        rows = self.query("SELECT hash FROM blocks WHERE height=?", (height,))
        return str(rows[0][0]) if rows else None

    def lowest_block(self) -> int | None:
        rows = self.query("SELECT MIN(height) FROM blocks")
        return None if rows[0][0] is None else int(rows[0][0])

    def add_block(self, height: int, block_hash: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO blocks(height, hash) VALUES(?, ?)", (height, block_hash))

    def rollback_to(self, height: int) -> list[str]:
        """Forgets blocks above `height`: their coinbases vanish, other transactions turn
        unconfirmed (the mempool check then decides). Returns the txids touched."""
        with self.transaction() as c:
            touched = [r[0] for r in c.execute("SELECT txid FROM txs WHERE height > ?", (height,))]
            gone = [r[0] for r in c.execute("SELECT txid FROM txs WHERE height > ? AND coinbase=1", (height,))]
            for txid in gone:
                c.execute("DELETE FROM outputs WHERE txid=?", (txid,))
                c.execute("DELETE FROM spends WHERE txid=?", (txid,))
                c.execute("DELETE FROM txs WHERE txid=?", (txid,))
            c.execute(
                "UPDATE txs SET status='mempool', block_hash=NULL, height=NULL, block_time=NULL WHERE height > ?",
                (height,),
            )
            c.execute("DELETE FROM blocks WHERE height > ?", (height,))
            return touched

    # --- transactions ---------------------------------------------------------------------------

    def tx(self, txid: str) -> TxRow | None:
        rows = self.query(f"SELECT {_TX_COLS} FROM txs WHERE txid=?", (txid,))
        return _txrow(rows[0]) if rows else None

    def txs_with_status(self, *statuses: TxStatus) -> list[TxRow]:
        marks = ",".join("?" * len(statuses))
        return [_txrow(r) for r in self.query(f"SELECT {_TX_COLS} FROM txs WHERE status IN ({marks})", statuses)]

    def upsert_tx(
        self,
        txid: str,
        status: TxStatus,
        *,
        block_hash: str | None = None,
        height: int | None = None,
        block_time: int | None = None,
        coinbase: bool = False,
        fee: int | None = None,
        vsize: int | None = None,
        raw: bytes | None = None,
    ) -> None:
        """Inserts or updates a transaction; known fee/raw are kept when the update has none."""
        with self.transaction() as c:
            c.execute(
                "INSERT INTO txs(txid, status, block_hash, height, block_time, coinbase, fee, vsize, raw, first_seen) "
                "VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(txid) DO UPDATE SET status=excluded.status, "
                "block_hash=excluded.block_hash, height=excluded.height, block_time=excluded.block_time, "
                "fee=COALESCE(excluded.fee, fee), vsize=COALESCE(excluded.vsize, vsize), raw=COALESCE(excluded.raw, raw)",
                (txid, str(status), block_hash, height, block_time, int(coinbase), fee, vsize, raw, int(time.time())),
            )

    def set_status(self, txid: str, status: TxStatus, replaced_by: str | None = None) -> None:
        with self.transaction() as c:
            c.execute("UPDATE txs SET status=?, replaced_by=COALESCE(?, replaced_by) WHERE txid=?", (str(status), replaced_by, txid))

    def add_output(self, txid: str, n: int, value: int, script: bytes) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR IGNORE INTO outputs(txid, n, value, script) VALUES(?,?,?,?)", (txid, n, value, script))

    def add_spend(self, prev_txid: str, prev_n: int, txid: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR IGNORE INTO spends(prev_txid, prev_n, txid) VALUES(?,?,?)", (prev_txid, prev_n, txid))

    def is_our_output(self, txid: str, n: int) -> bool:
        return bool(self.query("SELECT 1 FROM outputs WHERE txid=? AND n=?", (txid, n)))

    def output_value(self, txid: str, n: int) -> tuple[int, bytes] | None:
        rows = self.query("SELECT value, script FROM outputs WHERE txid=? AND n=?", (txid, n))
        return (int(rows[0][0]), bytes(rows[0][1])) if rows else None

    def spenders(self, prev_txid: str, prev_n: int) -> list[str]:
        return [r[0] for r in self.query("SELECT txid FROM spends WHERE prev_txid=? AND prev_n=?", (prev_txid, prev_n))]

    def spent_by(self, txid: str) -> list[tuple[str, int]]:
        return [(r[0], int(r[1])) for r in self.query("SELECT prev_txid, prev_n FROM spends WHERE txid=?", (txid,))]

    def outputs_of(self, txid: str) -> list[tuple[int, int, bytes]]:
        return [(int(r[0]), int(r[1]), bytes(r[2])) for r in self.query("SELECT n, value, script FROM outputs WHERE txid=? ORDER BY n", (txid,))]

    def unspent(self) -> list[OutputRow]:
        """Our outputs of ACTIVE transactions not spent by an ACTIVE or DROPPED transaction."""
        rows = self.query(
            "SELECT o.txid, o.n, o.value, o.script, t.status, t.height, t.coinbase, "
            "EXISTS(SELECT 1 FROM spends s WHERE s.txid=o.txid), a.account, a.chain, a.idx "
            "FROM outputs o JOIN txs t ON t.txid=o.txid JOIN addresses a ON a.script=o.script "
            f"WHERE t.status IN {_ACTIVE_SQL} AND NOT EXISTS (SELECT 1 FROM spends s JOIN txs st "
            f"ON st.txid=s.txid WHERE s.prev_txid=o.txid AND s.prev_n=o.n AND st.status IN {_RESERVING_SQL}) "
            "ORDER BY t.height IS NULL, t.height, o.txid, o.n"
        )
        return [
            OutputRow(r[0], int(r[1]), int(r[2]), bytes(r[3]), TxStatus(r[4]), r[5], bool(r[6]), bool(r[7]),
                      int(r[8]), int(r[9]), int(r[10]))
            for r in rows
        ]

    def history_rows(self) -> list[tuple[TxRow, int, int]]:
        """(tx, received by us, spent from us) for every transaction, newest first."""
        rows = self.query(
            f"SELECT {_TX_COLS}, "
            "(SELECT COALESCE(SUM(value), 0) FROM outputs o WHERE o.txid=t.txid), "
            "(SELECT COALESCE(SUM(o.value), 0) FROM spends s JOIN outputs o ON o.txid=s.prev_txid AND o.n=s.prev_n WHERE s.txid=t.txid) "
            "FROM txs t ORDER BY t.height IS NULL DESC, t.height DESC, t.first_seen DESC, t.txid"
        )
        return [(_txrow(r[:11]), int(r[11]), int(r[12])) for r in rows]

    # --- what sending records and asks (wallet/sending.py) --------------------------------------

    def record_sent(self, txid: str, raw: bytes, fee: int, vsize: int, spends: Sequence[tuple[str, int]],
                    ours: Sequence[tuple[int, int, bytes]]) -> None:
        """Records a transaction we built and signed (SIGNED): the outpoints it spends, reserved from
        now on, and its outputs (n, value, script) that pay us, their addresses marked used."""
        with self.transaction():
            self.upsert_tx(txid, TxStatus.SIGNED, fee=fee, vsize=vsize, raw=raw)
            for prev_txid, prev_n in spends:
                self.add_spend(prev_txid, prev_n, txid)
            for n, value, script in ours:
                self.add_output(txid, n, value, script)
                self.mark_used([script])

    def our_output(self, txid: str, n: int) -> OutputRow | None:
        """Our output `txid:n`, spent or not, with what the queries know about its transaction."""
        rows = self.query(
            "SELECT o.value, o.script, t.status, t.height, t.coinbase, "
            "EXISTS(SELECT 1 FROM spends s WHERE s.txid=o.txid), a.account, a.chain, a.idx "
            "FROM outputs o JOIN txs t ON t.txid=o.txid JOIN addresses a ON a.script=o.script "
            "WHERE o.txid=? AND o.n=?", (txid, n))
        if not rows:
            return None
        r = rows[0]
        return OutputRow(txid, n, int(r[0]), bytes(r[1]), TxStatus(r[2]), r[3], bool(r[4]), bool(r[5]),
                         int(r[6]), int(r[7]), int(r[8]))

    def active_spender(self, txid: str) -> str | None:
        """A transaction that spends an output of `txid` and still counts (ACTIVE), if any."""
        rows = self.query(
            "SELECT s.txid FROM spends s JOIN txs t ON t.txid=s.txid "
            f"WHERE s.prev_txid=? AND t.status IN {_ACTIVE_SQL} ORDER BY s.prev_n, s.txid LIMIT 1", (txid,))
        return str(rows[0][0]) if rows else None

    def latest_replacement(self, txid: str) -> str:
        """Follows our fee bumps (REPLACED, replaced_by) to the transaction that now carries `txid`'s
        payment; `txid` itself when it was not replaced (or is unknown)."""
        seen = set()
        row = self.tx(txid)
        while row is not None and row.status is TxStatus.REPLACED and row.replaced_by and row.txid not in seen:
            seen.add(row.txid)
            row = self.tx(row.replaced_by)
        return row.txid if row is not None else txid

    # --- idempotent requests --------------------------------------------------------------------

    def request(self, key: str) -> tuple[str, str] | None:
        rows = self.query("SELECT fingerprint, txid FROM requests WHERE key=?", (key,))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def add_request(self, key: str, fingerprint: str, txid: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT INTO requests(key, fingerprint, txid, created) VALUES(?,?,?,?)", (key, fingerprint, txid, int(time.time())))

    # --- mempool bookkeeping ----------------------------------------------------------------------

    def mempool_seen(self) -> set[str]:
        return {r[0] for r in self.query("SELECT txid FROM mempool_seen")}

    def set_mempool_seen(self, txids: set[str]) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM mempool_seen")
            c.executemany("INSERT INTO mempool_seen(txid) VALUES(?)", [(t,) for t in txids])


_TX_COLS = "txid, status, block_hash, height, block_time, coinbase, fee, vsize, raw, first_seen, replaced_by"


def _txrow(r: Sequence[Any]) -> TxRow:
    return TxRow(r[0], TxStatus(r[1]), r[2], r[3], r[4], bool(r[5]), r[6], r[7],
                 None if r[8] is None else bytes(r[8]), int(r[9]), r[10])


def _address(r: Sequence[Any]) -> AddressRow:
    return AddressRow(bytes(r[0]), int(r[1]), int(r[2]), int(r[3]), str(r[4]), bytes(r[5]), bool(r[6]))
