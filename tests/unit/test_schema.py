"""The user_version migrator (hashforge/schema.py) on real SQLite files."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from hashforge.schema import NewerSchema, Schema, SchemaError, migrate, statements, user_version


def _v2(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT 'x'")


def _adopt(conn: sqlite3.Connection) -> int | None:
    cols = {r[1] for r in conn.execute("PRAGMA table_info(t)")}
    return None if not cols else (2 if "b" in cols else 1)


SCHEMA = Schema("test", ("CREATE TABLE t(a INTEGER PRIMARY KEY); CREATE INDEX t_a ON t(a);", _v2), _adopt)


def _open(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def test_a_new_file_gets_every_step(tmp_path: Path) -> None:
    conn = _open(tmp_path / "s.sqlite3")
    assert migrate(conn, SCHEMA, "s") == 0
    assert user_version(conn) == 2
    conn.execute("INSERT INTO t(a) VALUES (1)")
    assert conn.execute("SELECT b FROM t").fetchone() == ("x",)
    assert migrate(conn, SCHEMA, "s") == 2  # the second open changes nothing


def test_an_old_versioned_file_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    conn = _open(tmp_path / "s.sqlite3")
    conn.executescript("CREATE TABLE t(a INTEGER PRIMARY KEY); INSERT INTO t VALUES (7); PRAGMA user_version = 1;")
    assert migrate(conn, SCHEMA, "s") == 1
    assert conn.execute("SELECT a, b FROM t").fetchall() == [(7, "x")]
    assert user_version(conn) == 2


def test_a_file_from_before_versions_is_adopted_at_its_version(tmp_path: Path) -> None:
    conn = _open(tmp_path / "s.sqlite3")
    conn.executescript("CREATE TABLE t(a INTEGER PRIMARY KEY); INSERT INTO t VALUES (7);")
    assert migrate(conn, SCHEMA, "s") == 0
    assert conn.execute("SELECT a, b FROM t").fetchall() == [(7, "x")]
    assert user_version(conn) == 2


def test_a_foreign_file_is_refused(tmp_path: Path) -> None:
    conn = _open(tmp_path / "s.sqlite3")
    conn.execute("CREATE TABLE other(x)")
    with pytest.raises(SchemaError, match="is not a hashforge test database"):
        migrate(conn, SCHEMA, "s")
    assert user_version(conn) == 0


def test_a_newer_file_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    conn = _open(path)
    conn.executescript("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c TEXT); PRAGMA user_version = 7;")
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    conn = _open(path)
    with pytest.raises(NewerSchema) as e:
        migrate(conn, SCHEMA, f"{path}")
    conn.close()
    assert str(e.value) == (f"{path} was written by a newer hashforge (schema 7, this version knows up to 2): "
                            "upgrade hashforge or use another datadir")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_failing_step_leaves_the_old_version(tmp_path: Path) -> None:
    def boom(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half(x)")
        raise RuntimeError("step failed")

    conn = _open(tmp_path / "s.sqlite3")
    conn.executescript("CREATE TABLE t(a INTEGER PRIMARY KEY); PRAGMA user_version = 1;")
    with pytest.raises(RuntimeError):
        migrate(conn, Schema("test", (SCHEMA.steps[0], boom)), "s")
    assert user_version(conn) == 1
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchone() is None


def test_a_connection_with_implicit_transactions_is_migrated_and_restored(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "s.sqlite3")  # the default: Python opens transactions itself
    before = conn.isolation_level
    migrate(conn, SCHEMA, "s")
    assert conn.isolation_level == before
    assert user_version(conn) == 2


def test_statements_split_only_between_complete_statements() -> None:
    sql = "CREATE TABLE a(x TEXT DEFAULT ';'); CREATE TRIGGER g AFTER INSERT ON a BEGIN DELETE FROM a; END;\n"
    assert statements(sql) == ["CREATE TABLE a(x TEXT DEFAULT ';');",
                               "CREATE TRIGGER g AFTER INSERT ON a BEGIN DELETE FROM a; END;"]
    with pytest.raises(ValueError, match="incomplete"):
        statements("CREATE TABLE a(x TEXT DEFAULT 'oops)")


def test_two_processes_opening_a_new_file_at_once_run_each_step_once(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "s.sqlite3"
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []
    found: list[int] = []

    def open_and_migrate() -> None:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        try:
            barrier.wait()
            found.append(migrate(conn, SCHEMA, "s"))
        except BaseException as e:  # reported by the assertion below
            errors.append(e)
        finally:
            conn.close()

    threads = [threading.Thread(target=open_and_migrate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(found)[0] == 0 and len(found) == 4  # one of them created the tables
    conn = _open(path)
    assert user_version(conn) == 2
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["t"]
