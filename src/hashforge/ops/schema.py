"""The schema of the ops records, `OPS_DIR/ops.sqlite`, version by version (hashforge/schema.py).

The alert and maintenance tables (`alert_*`, `maint_*`, alerts/store.py) and the tax ledger's
(`ledger_*`, ledger/db.py) share the file, so they share one version and one list of steps here. A
change to any of them is a new step at the end, never an edit of one that has shipped.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hashforge.schema import Schema, check, migrate

_V1_ALERTS = """
CREATE TABLE IF NOT EXISTS alert_rules (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, threshold REAL, subject TEXT, level TEXT NOT NULL,
    quiet_s REAL, enabled INTEGER NOT NULL DEFAULT 1, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS alert_channels (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, config TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS alert_alerts (
    id INTEGER PRIMARY KEY, rule_id INTEGER NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL,
    level TEXT NOT NULL, message TEXT NOT NULL, state TEXT NOT NULL, fired_at REAL NOT NULL,
    resolved_at REAL, last_notified_at REAL, notify_count INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS alert_alerts_open ON alert_alerts(rule_id, subject) WHERE state = 'open';
CREATE TABLE IF NOT EXISTS alert_history (
    id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL, ts REAL NOT NULL, action TEXT NOT NULL,
    channel_id INTEGER, detail TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS alert_history_alert ON alert_history(alert_id);
CREATE TABLE IF NOT EXISTS alert_samples (subject TEXT NOT NULL, ts REAL NOT NULL, hashrate REAL NOT NULL);
CREATE INDEX IF NOT EXISTS alert_samples_subject ON alert_samples(subject, ts);
CREATE TABLE IF NOT EXISTS alert_settings (key TEXT PRIMARY KEY, value REAL NOT NULL);
CREATE TABLE IF NOT EXISTS alert_inbox (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS maint_notes (
    id INTEGER PRIMARY KEY, subject TEXT NOT NULL, ts REAL NOT NULL, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS maint_windows (
    id INTEGER PRIMARY KEY, subject TEXT NOT NULL, start REAL NOT NULL, "end" REAL NOT NULL,
    reason TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL);
"""

_V1_LEDGER = """
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


def _adopt(conn: sqlite3.Connection) -> int | None:
    """A file from before user_version holds some of the version-1 tables (alerts only, or the
    ledger only, or both): step 1 is all IF NOT EXISTS and completes it."""
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return 0 if any(n.startswith(("alert_", "maint_", "ledger_")) for n in names) else None


OPS_SCHEMA = Schema("ops", (_V1_ALERTS + _V1_LEDGER,), _adopt)


def migrate_ops(conn: sqlite3.Connection, path: Path) -> None:
    migrate(conn, OPS_SCHEMA, path)


def check_ops(path: Path) -> None:
    """NewerSchema (a ValueError) if a newer hashforge wrote `path`; reads only, creates nothing."""
    if not path.exists():
        return
    conn = sqlite3.connect(path, timeout=10)
    try:
        check(conn, OPS_SCHEMA, path)
    finally:
        conn.close()
