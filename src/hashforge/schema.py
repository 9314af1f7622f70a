"""Schema versions of hashforge's SQLite stores: `PRAGMA user_version` and an ordered list of steps.

Step N (counting from 1) takes a file from version N-1 to N. The steps a file needs run in one
transaction with the new user_version, so a crash leaves the old version or the new one, never half.
A file whose version is above what this code knows was written by a newer hashforge: it is refused
(`NewerSchema`) before anything in it changes. A file from before versions were kept (version 0 with
tables in it) is adopted: the store's `adopt` reads its tables and says which version they are.

A change to a store's tables is a new step at the end of its list, never an edit of a step that has
shipped. The pool's database (SQLite or PostgreSQL) keeps Alembic and the same refusal
(pool/db/engine.py). Stdlib only: every component imports this.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# SQL (one or more statements) or a function given the connection inside the step's transaction.
Step = str | Callable[[sqlite3.Connection], None]


class SchemaError(ValueError):
    """A store cannot be used by this version of hashforge (one line, fit for `error: ...`). A
    ValueError: CLIs already turn a bad value at start into their one-line error."""


class NewerSchema(SchemaError):
    """The store was written by a newer hashforge."""


def newer_message(where: str | Path, found: object, known: object, elsewhere: str = "another datadir") -> str:
    return (f"{where} was written by a newer hashforge (schema {found}, this version knows up to {known}): "
            f"upgrade hashforge or use {elsewhere}")


def _no_adoption(_conn: sqlite3.Connection) -> int | None:
    return None


@dataclass(frozen=True)
class Schema:
    """One store's schema history. `adopt` gets a version-0 file that has tables and returns the
    version they are at (None: not this store's file)."""

    name: str
    steps: tuple[Step, ...]
    adopt: Callable[[sqlite3.Connection], int | None] = _no_adoption

    @property
    def version(self) -> int:
        return len(self.steps)


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def has_tables(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' LIMIT 1"
                        ).fetchone() is not None


def table_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    """The column names of `table` (empty: no such table)."""
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def statements(sql: str) -> list[str]:
    """`sql` split into complete statements (a `;` inside a string or a trigger body stays)."""
    out: list[str] = []
    acc = ""
    for part in sql.split(";"):
        acc += part + ";"
        if sqlite3.complete_statement(acc):
            if acc.strip(" \t\r\n;"):
                out.append(acc.strip())
            acc = ""
    if acc.strip(" \t\r\n;"):
        raise ValueError(f"incomplete SQL statement: {acc.strip()[:80]!r}")
    return out


def check(conn: sqlite3.Connection, schema: Schema, where: str | Path) -> int:
    """The file's version; NewerSchema if this code does not know it. Reads only."""
    found = user_version(conn)
    if found > schema.version:
        raise NewerSchema(newer_message(where, found, schema.version))
    return found


def migrate(conn: sqlite3.Connection, schema: Schema, where: str | Path) -> int:
    """Brings the file to `schema.version`; returns the version it was at (0: a new file).

    Several processes may open one file at once: the steps run under SQLite's write lock (BEGIN
    IMMEDIATE) and the version is read again under it, so each step runs once."""
    if check(conn, schema, where) == schema.version:
        return schema.version
    saved = conn.isolation_level
    conn.isolation_level = None  # our own BEGIN/COMMIT; executescript would commit in between
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            found = _apply(conn, schema, where)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.isolation_level = saved
    return found


def _apply(conn: sqlite3.Connection, schema: Schema, where: str | Path) -> int:
    found = check(conn, schema, where)
    start = found
    if found == 0 and has_tables(conn):
        adopted = schema.adopt(conn)
        if adopted is None or not 0 <= adopted <= schema.version:
            raise SchemaError(f"{where} is not a hashforge {schema.name} database (unknown tables, no schema version)")
        start = adopted
    for n in range(start, schema.version):
        step = schema.steps[n]
        if isinstance(step, str):
            for statement in statements(step):
                conn.execute(statement)
        else:
            step(conn)
    conn.execute(f"PRAGMA user_version = {int(schema.version)}")
    return found

