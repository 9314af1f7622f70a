"""The ops records' schema version (ops/schema.py): new, from before versions, from a newer hashforge."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hashforge.ops import DB_FILE
from hashforge.ops.alerts.store import AlertStore
from hashforge.ops.ledger.db import LedgerDB
from hashforge.ops.schema import OPS_SCHEMA
from hashforge.schema import NewerSchema
from tests.helpers.nodeproc import free_port
from tests.helpers.schemafiles import digest, make_newer, user_version
from tests.vectorfiles import REPO_ROOT

# Alert tables as the first ops release wrote them (before alert_inbox), no ledger, no user_version.
OLD_ALERTS = """
CREATE TABLE alert_rules (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, threshold REAL, subject TEXT, level TEXT NOT NULL,
    quiet_s REAL, enabled INTEGER NOT NULL DEFAULT 1, created_at REAL NOT NULL);
CREATE TABLE alert_settings (key TEXT PRIMARY KEY, value REAL NOT NULL);
INSERT INTO alert_rules(kind, threshold, subject, level, quiet_s, enabled, created_at)
    VALUES ('hashrate_below', 1000.0, 'rig1', 'warning', NULL, 1, 5.0);
INSERT INTO alert_settings VALUES ('poll_s', 12.5);
"""



def _newer(path: Path) -> str:
    return make_newer(path, OPS_SCHEMA.version + 2)


def test_a_new_ops_file_gets_the_latest_version_from_either_part(tmp_path: Path) -> None:
    AlertStore(tmp_path / "a")
    LedgerDB(tmp_path / "l" / DB_FILE)
    assert user_version(tmp_path / "a" / DB_FILE) == user_version(tmp_path / "l" / DB_FILE) == OPS_SCHEMA.version
    LedgerDB(tmp_path / "a" / DB_FILE).query("SELECT COUNT(*) FROM ledger_income")  # one file, both parts


def test_an_ops_file_from_before_versions_is_adopted_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / DB_FILE
    conn = sqlite3.connect(path)
    conn.executescript(OLD_ALERTS)
    conn.close()
    store = AlertStore(tmp_path)
    assert [(r.kind, r.threshold, r.subject) for r in store.rules()] == [("hashrate_below", 1000.0, "rig1")]
    assert store.setting("poll_s", 30.0) == 12.5
    store.post_event("part_restarted", "pool", "restarted", 6.0)  # alert_inbox: a table it lacked
    assert store.take_events() == [("part_restarted", "pool", "restarted")]
    assert LedgerDB(path).query("SELECT COUNT(*) FROM ledger_income")[0][0] == 0
    assert user_version(path) == OPS_SCHEMA.version


def test_an_ops_file_from_a_newer_hashforge_is_refused_unchanged(tmp_path: Path) -> None:
    AlertStore(tmp_path)
    path = tmp_path / DB_FILE
    before = _newer(path)
    message = (f"{path} was written by a newer hashforge (schema {OPS_SCHEMA.version + 2}, this version knows up "
               f"to {OPS_SCHEMA.version}): upgrade hashforge or use another datadir")
    with pytest.raises(NewerSchema) as e:
        AlertStore(tmp_path)
    assert str(e.value) == message
    with pytest.raises(NewerSchema):
        LedgerDB(path)
    assert digest(path) == before


def test_the_api_refuses_to_start_on_an_ops_file_from_a_newer_hashforge(tmp_path: Path) -> None:
    AlertStore(tmp_path / "api" / "ops")
    path = tmp_path / "api" / "ops" / DB_FILE
    before = _newer(path)
    proc = subprocess.run(
        [sys.executable, "-m", "hashforge", "api", "--network", "regtest", "--datadir", str(tmp_path / "api"),
         "--node-rpc", f"http://127.0.0.1:{free_port()}/", "--node-user", "u", "--node-password", "long-enough-password",
         "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: {path} was written by a newer hashforge (schema {OPS_SCHEMA.version + 2}, this version knows up "
        f"to {OPS_SCHEMA.version}): upgrade hashforge or use another datadir"]
    assert digest(path) == before
