"""Engines and migrations. SQLite gets WAL + synchronous=FULL (a commit is on disk when it
returns); PostgreSQL commits are durable by default."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine

from hashforge.schema import NewerSchema, newer_message

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_pre_ping=True, **kwargs)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Brings the schema to `revision` (idempotent; safe for several processes on PostgreSQL,
    which serializes them with an advisory lock)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
        cfg = alembic_config(engine)
        check_revision(conn, cfg)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


@contextmanager
def transaction(url: str) -> Iterator[Connection]:
    """One transaction on the pool database at `url`, its schema brought up to date first: what a
    command that reads or writes the books without a running pool needs."""
    engine = make_engine(url)
    try:
        migrate(engine)
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def database_name(engine: Engine) -> str:
    """The SQLite file, or the URL without its password: what a refusal names."""
    if engine.url.get_backend_name() == "sqlite" and engine.url.database:
        return engine.url.database
    return engine.url.render_as_string(hide_password=True)


def check_revision(conn: Connection, cfg: Config) -> None:
    """NewerSchema when the database is at a revision this code has no script for: a newer
    hashforge migrated it (Alembic alone would fail with "Can't locate revision"). Reads the
    version table itself: Alembic's MigrationContext logs two INFO lines before any refusal."""
    scripts = ScriptDirectory.from_config(cfg)
    known = {s.revision for s in scripts.walk_revisions()}
    current = ([r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
               if inspect(conn).has_table("alembic_version") else [])
    unknown = [r for r in current if r not in known]
    if unknown:
        sqlite = conn.dialect.name == "sqlite"
        raise NewerSchema(newer_message(database_name(conn.engine), ", ".join(sorted(unknown)), scripts.get_current_head(),
                                        "another datadir" if sqlite else "another database"))
