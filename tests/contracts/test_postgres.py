"""The contracts migration on PostgreSQL (from an existing 0001 database to head, matching the
models), and the scripted allocation run on it, in a database of its own."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from hashforge.pool.db import make_engine, metadata, migrate
from tests.pool.pg import postgres_url

from .books import CUST_A, FARM_HPS, OP, Farmland

__all__ = ["postgres_url"]
H = 3600.0


@pytest.fixture()
def own_db(postgres_url: str) -> Iterator[str]:
    name = f"contracts_{secrets.token_hex(4)}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


def test_migration_from_0001_and_allocation_on_postgres(own_db: str, tmp_path: Path) -> None:
    engine = make_engine(own_db)
    migrate(engine, "0001")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('contracts')")).scalar() is None
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    engine.dispose()

    land = Farmland.create(tmp_path, url=own_db)
    t0 = land.t0
    land.block(t0)
    a = land.sell(t0, FARM_HPS // 4, 1)
    land.block(t0 + 12 * H)
    land.block(t0 + 36 * H)
    assert land.allocate() == 3
    land.confirm_all()
    e = 74_250_000
    nets = land.q("SELECT contract_id, net FROM contract_allocations ORDER BY id")
    assert nets == [(a["id"], e // 4), (a["id"], e // 4 // 2)]  # 12 h of 12, then 12 h of 24
    assert land.balance(CUST_A)["payable"] == e // 4 + e // 8
    assert land.balance(OP)["payable"] == 3 * e - (e // 4 + e // 8)
    land.engine.dispose()
