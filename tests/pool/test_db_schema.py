"""The pool database's Alembic revision checked at start: a database a newer hashforge migrated is
refused with one line, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

from hashforge.pool.accounting import Accountant
from hashforge.pool.config import AccountingConfig, Scheme
from hashforge.pool.db import LedgerRepository, ShareRepository, make_engine, migrate
from hashforge.pool.records import BlockFound, ShareRecord
from hashforge.schema import NewerSchema
from tests.helpers.nodeproc import free_port
from tests.vectorfiles import REPO_ROOT

from .pg import postgres_url
from .test_accounting import Chain

__all__ = ["postgres_url"]

HEAD = "0004"


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
    assert _revision(url) == [HEAD]


def test_a_database_from_a_newer_hashforge_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pool.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    _set_revision(url, "0099")
    engine = make_engine(url)
    try:
        with pytest.raises(NewerSchema, match=r"pool.sqlite3 was written by a newer hashforge \(schema 0099, "
                                              rf"this version knows up to {HEAD}\)"):
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
        f"error: {path} was written by a newer hashforge (schema 0099, this version knows up to {HEAD}): "
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
        assert f"was written by a newer hashforge (schema 0099, this version knows up to {HEAD}): " in message
        assert message.endswith("upgrade hashforge or use another database")
        assert engine.url.password is None or str(engine.url.password) not in message
        assert _revision(postgres_url) == ["0099"]
    finally:
        engine.dispose()
        _set_revision(postgres_url, HEAD)  # the cluster is shared by the session's other tests


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
        f"error: {path} was written by a newer hashforge (schema 0099, this version knows up to {HEAD}): "
        "upgrade hashforge or use another datadir"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def _database(backend: str, name: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A new empty database `name` on `backend`: a SQLite file, or one of its own in the session's cluster."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / (name + '.sqlite3')}"
    cluster = request.getfixturevalue("postgres_url")
    engine = make_engine(cluster, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        c.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return cluster.rsplit("/", 1)[0] + f"/{name}"


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

    url = _database(backend, "before_merged", tmp_path, request)
    _books_before_merged_mining(url)
    assert _revision(url) == [HEAD]
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


DOGE = "dogecoin-regtest"


def _shares_before_0004(conn: Connection, rows: list[tuple[str, float]]) -> list[bytes]:
    """Shares (address, difficulty) as a hashforge before 0004 stored them (no aux_chains); their hashes."""
    start = int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM shares")).scalar() or 0)
    hashes = [(start + i + 1).to_bytes(32, "big") for i in range(len(rows))]
    for (address, d), h in zip(rows, hashes, strict=True):
        conn.execute(text("INSERT INTO shares(ts, instance, address, worker, difficulty, actual_difficulty, "
                          "network_difficulty, height, block_reward, hash, is_block) "
                          "VALUES (1, 0, :a, 'w', :d, :d, 100, 5, 1000, :h, false)"), {"a": address, "d": d, "h": h})
    return hashes


def _new_shares(engine: Engine, rows: list[tuple[str, float]], aux: tuple[str, ...]) -> list[bytes]:
    with engine.begin() as conn:
        start = ShareRepository.max_id(conn)
        hashes = [(start + i + 1).to_bytes(32, "big") for i in range(len(rows))]
        ShareRepository.insert_many(conn, [ShareRecord(2.0, 0, a, "w", d, d, 100.0, 6, 1000, h, False, aux)
                                           for (a, d), h in zip(rows, hashes, strict=True)])
    return hashes


def _aux_chains(engine: Engine) -> dict[str, str]:
    with engine.connect() as c:
        return dict(c.execute(text("SELECT address, aux_chains FROM shares ORDER BY id")).all())


def _doge_books(engine: Engine, scheme: Scheme) -> Accountant:
    cfg = AccountingConfig(scheme=scheme, pool_address="pool", fee_percent=0.0, pplns_factor=1.0)
    return Accountant(engine, cfg, Chain(), 60, network=DOGE)


def _doge_block(share_hash: bytes, netdiff: float) -> BlockFound:
    return BlockFound(3.0, 0, 30, b"\xd0" * 32, "b", "w", 2_000, netdiff, None, pow_hash=share_hash, chain=DOGE)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_shares_from_before_0004_of_a_merged_pool_keep_their_aux_work(backend: str, tmp_path: Path,
                                                                      request: pytest.FixtureRequest) -> None:
    """0004 marks the shares already recorded with the aux chains the database has books of (how
    they were counted then), so a DOGE window spanning the upgrade counts them; new shares say
    for themselves, and one made while dogecoind was away is outside it."""
    engine = make_engine(_database(backend, "merged_0003", tmp_path, request))
    try:
        migrate(engine, "0003")
        with engine.begin() as c:
            c.execute(text("INSERT INTO blocks(height, hash, instance, address, worker, reward, network_difficulty, "
                           "scheme, status, credited, found_at, chain) VALUES (20, 'd0', 0, 'old', 'w', 900, 1.0, "
                           "'pplns', 'confirmed', true, 1, :chain)"), {"chain": DOGE})
            _shares_before_0004(c, [("old", 10.0)])
        migrate(engine)
        assert _aux_chains(engine) == {"old": f",{DOGE},"}
        _new_shares(engine, [("away", 10.0)], aux=())
        (found,) = _new_shares(engine, [("b", 10.0)], aux=(DOGE,))
        with engine.begin() as c:  # a writer that does not name the column: no aux work
            _shares_before_0004(c, [("other", 1.0)])
        assert _aux_chains(engine) == {"old": f",{DOGE},", "away": "", "b": f",{DOGE},", "other": ""}
        books = _doge_books(engine, Scheme.PPLNS)
        block_id = books.record_block(_doge_block(found, 20.0))
        assert block_id is not None and books.credit_blocks() == 1
        with engine.connect() as c:  # the window of 20: b and the old share; not "away"
            assert sorted(LedgerRepository.block_credits(c, block_id)) == [("b", 1_000), ("old", 1_000)]
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_shares_from_before_0004_of_a_pool_that_never_merged_carry_no_aux_work(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A pool that merges a chain only after the upgrade starts that chain's first PROP round at the
    first share that carried its work, not at the first share it ever recorded."""
    engine = make_engine(_database(backend, "unmerged_0003", tmp_path, request))
    try:
        migrate(engine, "0003")
        with engine.begin() as c:
            _shares_before_0004(c, [("old", 10.0), ("older", 5.0)])
        migrate(engine)
        assert _aux_chains(engine) == {"old": "", "older": ""}
        (found,) = _new_shares(engine, [("b", 1.0)], aux=(DOGE,))
        books = _doge_books(engine, Scheme.PROP)
        books.record_block(_doge_block(found, 1.0))
        assert books.credit_blocks() == 1
        with engine.connect() as c:
            assert LedgerRepository.payable_balances(c, DOGE) == {}  # immature, all of it b's
            assert LedgerRepository.balance(c, "b", DOGE)["immature"] == 2_000
            assert LedgerRepository.balance(c, "old", DOGE)["immature"] == 0
    finally:
        engine.dispose()
