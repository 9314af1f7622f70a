"""The pool database's Alembic revision checked at start: a database a newer hashforge migrated is
refused with one line, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from hashforge.pool.db import make_engine, migrate
from hashforge.schema import NewerSchema
from tests.helpers.nodeproc import free_port
from tests.vectorfiles import REPO_ROOT

from .pg import postgres_url

__all__ = ["postgres_url"]


def _revision(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return [r[0] for r in c.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()


def _set_revision(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as c:
            c.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    finally:
        engine.dispose()


def test_a_new_database_is_at_the_head_and_an_old_one_is_migrated_with_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pool.sqlite3'}"
    engine = make_engine(url)
    try:
        migrate(engine, "0001")  # the schema before contracts
        with engine.begin() as c:
            c.execute(text("INSERT INTO credits(ts, address, amount, kind) VALUES (1, 'a', 5000, 'pplns')"))
        migrate(engine)
        with engine.connect() as c:
            assert c.execute(text("SELECT address, amount FROM credits")).all() == [("a", 5000)]
            assert c.execute(text("SELECT COUNT(*) FROM contracts")).scalar() == 0
    finally:
        engine.dispose()
    assert _revision(url) == ["0003"]


def test_a_database_from_a_newer_hashforge_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pool.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    _set_revision(url, "0099")
    engine = make_engine(url)
    try:
        with pytest.raises(NewerSchema, match=r"pool.sqlite3 was written by a newer hashforge \(schema 0099, "
                                              r"this version knows up to 0003\)"):
            migrate(engine)
    finally:
        engine.dispose()
    assert _revision(url) == ["0099"]


def test_the_pool_cli_refuses_a_database_from_a_newer_hashforge(tmp_path: Path) -> None:
    datadir = tmp_path / "pool"
    datadir.mkdir()
    path = datadir / "pool.sqlite3"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    _set_revision(url, "0099")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    # No node at --node-rpc: the database is checked before the pool reaches for one.
    proc = subprocess.run(
        [sys.executable, "-m", "hashforge", "pool", "--network", "regtest", "--datadir", str(datadir),
         "--node-rpc", f"http://u:p@127.0.0.1:{free_port()}/", "--stratum-port", "0", "--scheme", "solo"],
        capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: {path} was written by a newer hashforge (schema 0099, this version knows up to 0003): "
        "upgrade hashforge or use another datadir"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_postgres_database_from_a_newer_hashforge_is_refused(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    migrate(engine)
    engine.dispose()
    _set_revision(postgres_url, "0099")
    engine = make_engine(postgres_url)
    try:
        with pytest.raises(NewerSchema) as e:
            migrate(engine)
        message = str(e.value)
        assert "was written by a newer hashforge (schema 0099, this version knows up to 0003): " in message
        assert message.endswith("upgrade hashforge or use another database")
        assert engine.url.password is None or str(engine.url.password) not in message
        assert _revision(postgres_url) == ["0099"]
    finally:
        engine.dispose()
        _set_revision(postgres_url, "0003")  # the cluster is shared by the session's other tests


def test_the_contracts_cli_refuses_a_database_from_a_newer_hashforge(tmp_path: Path) -> None:
    path = tmp_path / "pool.sqlite3"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    _set_revision(url, "0099")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    proc = subprocess.run([sys.executable, "-m", "hashforge", "contracts", "--datadir", str(tmp_path), "list"],
                          capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: {path} was written by a newer hashforge (schema 0099, this version knows up to 0003): "
        "upgrade hashforge or use another datadir"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def _books_before_merged_mining(url: str) -> None:
    """A database at 0002 (before merged mining) with a block, its credit and a payout."""
    engine = make_engine(url)
    try:
        migrate(engine, "0002")
        with engine.begin() as c:
            c.execute(text("INSERT INTO blocks(id, height, hash, instance, address, worker, reward, network_difficulty, "
                           "scheme, status, credited, found_at) VALUES (1, 7, 'ab', 0, 'a', 'w', 5000, 1.0, 'pplns', "
                           "'confirmed', true, 1)"))
            c.execute(text("INSERT INTO payouts(id, created_at, updated_at, status, txid, raw_tx, total) "
                           "VALUES (1, 1, 1, 'confirmed', 'cd', '00', 1000)"))
            c.execute(text("INSERT INTO payout_items(payout_id, address, amount) VALUES (1, 'a', 1000)"))
            c.execute(text("INSERT INTO credits(ts, address, amount, kind, block_id) VALUES (1, 'a', 5000, 'block', 1)"))
            c.execute(text("INSERT INTO credits(ts, address, amount, kind, payout_id) VALUES (1, 'a', -1000, 'payout', 1)"))
        migrate(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_books_from_before_merged_mining_stay_the_pool_coins(backend: str, tmp_path: Path,
                                                             request: pytest.FixtureRequest) -> None:
    from hashforge.pool.db.repositories import (
        AuxAddressRepository,
        BlockRepository,
        LedgerRepository,
    )

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'pool.sqlite3'}"
    else:
        cluster = request.getfixturevalue("postgres_url")  # the session's: this test takes a database of its own
        engine = make_engine(cluster, isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(text("DROP DATABASE IF EXISTS before_merged"))
            c.execute(text("CREATE DATABASE before_merged"))
        engine.dispose()
        url = cluster.rsplit("/", 1)[0] + "/before_merged"
    _books_before_merged_mining(url)
    assert _revision(url) == ["0003"]
    engine = make_engine(url)
    try:
        with engine.begin() as c:
            # the old rows are the pool's own coin (chain NULL) and nothing of an aux chain
            assert LedgerRepository.balance(c, "a") == {"payable": 4000, "immature": 0, "paid": 1000}
            assert LedgerRepository.balance(c, "a", "dogecoin-regtest") == {"payable": 0, "immature": 0, "paid": 0}
            assert BlockRepository.count_by_status(c) == {"confirmed": 1}
            assert BlockRepository.count_by_status(c, "dogecoin-regtest") == {}
            AuxAddressRepository.set(c, "a", "dogecoin-regtest", "nDOGE")
            assert AuxAddressRepository.of_address(c, "a") == {"dogecoin-regtest": "nDOGE"}
    finally:
        engine.dispose()
