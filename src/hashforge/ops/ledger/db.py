"""The ledger's tables (`ledger_*`) in the shared ops SQLite file: stdlib sqlite3, WAL, one short
connection per operation so the API's threads and the CLI can share the file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_prices(
  day TEXT NOT NULL, currency TEXT NOT NULL, price TEXT NOT NULL, PRIMARY KEY(day, currency));
CREATE TABLE IF NOT EXISTS ledger_income(
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, amount_sat INTEGER NOT NULL CHECK(amount_sat > 0),
  source TEXT NOT NULL CHECK(source IN ('block', 'pool')), txid TEXT, vout INTEGER,
  fmv_manual TEXT, origin TEXT NOT NULL, description TEXT NOT NULL DEFAULT '');
CREATE UNIQUE INDEX IF NOT EXISTS ledger_income_outpoint ON ledger_income(txid, vout);
CREATE TABLE IF NOT EXISTS ledger_expenses(
  id INTEGER PRIMARY KEY, day TEXT NOT NULL,
  category TEXT NOT NULL CHECK(category IN ('electricity', 'pool_fee', 'other')),
  amount TEXT, amount_sat INTEGER, description TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '',
  CHECK(amount IS NOT NULL OR amount_sat IS NOT NULL));
CREATE TABLE IF NOT EXISTS ledger_hardware(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, cost TEXT NOT NULL, salvage TEXT NOT NULL,
  life_months INTEGER NOT NULL CHECK(life_months > 0), in_service TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_disposals(
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, amount_sat INTEGER NOT NULL CHECK(amount_sat > 0),
  proceeds TEXT NOT NULL, fee TEXT NOT NULL, txid TEXT, description TEXT NOT NULL DEFAULT '');
"""


class LedgerDB:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as c:
            c.executescript(SCHEMA)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL: never corrupt; a power cut may lose the last commits
        return conn

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = self._open()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: an exception inside rolls every write back."""
        conn = self._open()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self.connect() as c:
            return list(c.execute(sql, params))
