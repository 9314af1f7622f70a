"""Accounting on a real SQLite database with a scripted chain: PPLNS window, PROP round, PPS,
fees, and the block lifecycle (confirmed after maturity, orphaned with credits reversed)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy.engine import Engine

from hashforge.pool.accounting import Accountant
from hashforge.pool.config import AccountingConfig, Scheme
from hashforge.pool.db import make_engine, migrate
from hashforge.pool.db.repositories import LedgerRepository, ShareRepository
from hashforge.pool.records import BlockFound, ShareRecord


class Chain:
    def __init__(self) -> None:
        self.tip = 0
        self.hashes: dict[int, str] = {}

    async def tip_height(self) -> int:
        return self.tip

    async def hash_at(self, height: int) -> str | None:
        return self.hashes.get(height)


def _engine(tmp: Path) -> Engine:
    e = make_engine(f"sqlite:///{tmp / 'a.sqlite3'}")
    migrate(e)
    return e


def _shares(engine: Engine, rows: list[tuple[str, float]], netdiff: float = 100.0, reward: int = 1_000_000,
            block_at: int | None = None) -> list[bytes]:
    hashes = []
    recs = []
    for i, (a, d) in enumerate(rows):
        h = (len(hashes) + 1).to_bytes(4, "big") + bytes(28) if block_at != i else bytes([0xAB]) * 32
        hashes.append(h)
        recs.append(ShareRecord(time.time(), 0, a, "w", d, d, netdiff, 10, reward, h, block_at == i))
    with engine.begin() as conn:
        ShareRepository.insert_many(conn, recs)
    return hashes


def _found(h: bytes, height: int = 10, reward: int = 1_000_000, netdiff: float = 100.0) -> BlockFound:
    return BlockFound(time.time(), 0, height, h, "a", "w", reward, netdiff, None)


def test_pplns_window_fee_and_lifecycle(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    chain = Chain()
    acc = Accountant(engine, AccountingConfig(scheme=Scheme.PPLNS, pool_address="p", fee_percent=1.0,
                                              pplns_factor=2.0, orphan_depth=3), chain, maturity=100)
    # old shares outside the window, then 150 (a) + 50 (b) = 200 = 2 x netdiff, the last being the block
    rows = [("old", 500.0)] + [("a", 1.0)] * 150 + [("b", 1.0)] * 50
    hashes = _shares(engine, rows, block_at=len(rows) - 1)
    found = _found(hashes[-1])
    assert acc.record_block(found) is not None
    assert acc.record_block(found) is None  # idempotent
    assert acc.credit_blocks() == 1
    with engine.connect() as conn:
        assert LedgerRepository.balance(conn, "a") == {"payable": 0, "immature": 742_500, "paid": 0}
        assert LedgerRepository.balance(conn, "b")["immature"] == 247_500
        assert LedgerRepository.balance(conn, "old")["immature"] == 0
    chain.hashes[10] = found.hash_hex
    chain.tip = 108
    assert asyncio.run(acc.settle()) == (0, 0)  # not mature yet
    chain.tip = 109
    assert asyncio.run(acc.settle()) == (1, 0)
    with engine.connect() as conn:
        assert LedgerRepository.payable_balances(conn) == {"a": 742_500, "b": 247_500}


def test_orphan_reverses_credits_and_prop_round(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    chain = Chain()
    acc = Accountant(engine, AccountingConfig(scheme=Scheme.PROP, pool_address="p", fee_percent=0.0,
                                              orphan_depth=3), chain, maturity=100)
    h1 = _shares(engine, [("a", 3.0), ("b", 1.0)], block_at=1)
    acc.record_block(_found(h1[-1], height=10))
    h2 = _shares(engine, [("c", 1.0), ("a", 1.0)], block_at=None)
    h2[-1] = bytes([0xCD]) * 32
    with engine.begin() as conn:
        ShareRepository.insert_many(conn, [ShareRecord(time.time(), 0, "b", "w", 2.0, 2.0, 100.0, 11, 1_000_000,
                                                       h2[-1], True)])
    acc.record_block(_found(h2[-1], height=11))
    assert acc.credit_blocks() == 2
    with engine.connect() as conn:
        # round 1: a 3, b 1; round 2 (after block 1's share): c 1, a 1, b 2
        assert LedgerRepository.balance(conn, "a")["immature"] == 750_000 + 250_000
        assert LedgerRepository.balance(conn, "c")["immature"] == 250_000
    chain.hashes = {10: _found(h1[-1]).hash_hex, 11: "ff" * 32}  # block 2 lost a race
    chain.tip = 13
    assert asyncio.run(acc.settle()) == (0, 0)
    chain.tip = 14
    assert asyncio.run(acc.settle()) == (0, 1)
    chain.tip = 109
    assert asyncio.run(acc.settle()) == (1, 0)
    with engine.connect() as conn:
        assert LedgerRepository.payable_balances(conn) == {"a": 750_000, "b": 250_000}
        kinds = dict(conn.exec_driver_sql("SELECT kind, count(*) FROM credits GROUP BY kind").all())
    assert kinds == {"block": 5, "reversal": 3}


def test_pps_credits_every_share_once(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    acc = Accountant(engine, AccountingConfig(scheme=Scheme.PPS, pool_address="p", fee_percent=2.0), Chain(), 100)
    _shares(engine, [("a", 1.0), ("b", 3.0)], netdiff=100.0, reward=1_000_000)
    assert acc.credit_pps() == 2
    assert acc.credit_pps() == 0
    _shares(engine, [("a", 1.0)], netdiff=100.0, reward=1_000_000)
    acc.credit_pps()
    with engine.connect() as conn:
        assert LedgerRepository.payable_balances(conn) == {"a": 19_600, "b": 29_400}
