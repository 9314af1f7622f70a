"""A scripted farm on a real SQLite pool database: the operator's address `OP` and another miner
`M` send shares on a fixed grid (so the farm's measured rate is known exactly), blocks are found
at chosen times and credited by the pool's real Accountant (PPLNS), and contracts are sold with
the real book at chosen times."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from hashforge.consensus.address import script_to_address
from hashforge.consensus.params import REGTEST
from hashforge.pool.accounting import Accountant
from hashforge.pool.config import AccountingConfig, Scheme
from hashforge.pool.contracts import Sale, allocate_pending, book
from hashforge.pool.contracts import farm as farms
from hashforge.pool.db import make_engine, migrate
from hashforge.pool.db.repositories import LedgerRepository, ShareRepository
from hashforge.pool.records import BlockFound, ShareRecord
from tests.helpers.txbuilder import Key


def addr(n: int) -> str:
    a = script_to_address(Key.from_int(n).p2wpkh, REGTEST)
    assert a is not None
    return a


OP, M, POOL = addr(0x0A0A), addr(0x0B0B), addr(0x0C0C)
CUST_A, CUST_B = addr(0xC1), addr(0xC2)
STEP = 60.0
OP_DIFF = 15.0  # every STEP seconds: 15 x 2^32 / 60 = 2^30 H/s
FARM_HPS = 2**30
M_DIFF = 5.0
DAY = 86400.0


class ScriptChain:
    def __init__(self) -> None:
        self.tip = 0
        self.hashes: dict[int, str] = {}

    async def tip_height(self) -> int:
        return self.tip

    async def hash_at(self, height: int) -> str | None:
        return self.hashes.get(height)


def valid(address: str) -> bool:
    return address.startswith("bcrt1")


@dataclass
class Farmland:
    engine: Engine
    t0: float
    scheme: Scheme = Scheme.PPLNS
    chain: ScriptChain = field(default_factory=ScriptChain)
    upto: float = 0.0
    seq: int = 0
    height: int = 10
    found: list[BlockFound] = field(default_factory=list)

    @classmethod
    def create(cls, tmp: Path, t0: float | None = None, scheme: Scheme = Scheme.PPLNS,
               url: str | None = None) -> Farmland:
        tmp.mkdir(parents=True, exist_ok=True)
        engine = make_engine(url or f"sqlite:///{tmp / 'pool.sqlite3'}")
        migrate(engine)
        t0 = round(time.time() - 3 * DAY) // 60 * 60 if t0 is None else t0
        land = cls(engine, float(t0), scheme)
        land.upto = land.t0 - DAY - STEP  # the farm has mined for a day before t0
        with engine.begin() as conn:
            farms.save(conn, farms.Farm((OP,)))
        return land

    @property
    def accountant(self) -> Accountant:
        cfg = AccountingConfig(scheme=self.scheme, pool_address=POOL, fee_percent=1.0, pplns_factor=2.0)
        return Accountant(self.engine, cfg, self.chain, maturity=100)

    def _hash(self) -> bytes:
        self.seq += 1
        return self.seq.to_bytes(8, "big") + bytes(24)

    def mine_until(self, t: float, op_diff: float = OP_DIFF, block: bool = False) -> bytes | None:
        """Shares on the grid in (upto, t]: OP at multiples of STEP, M half a step later; the OP share
        at `t` is a block when `block`."""
        recs: list[ShareRecord] = []
        block_hash = None
        k = self.upto + STEP
        while k <= t:
            is_block = block and k == t
            h = self._hash()
            if is_block:
                block_hash = h
            recs.append(ShareRecord(k, 0, OP, "rig", op_diff, op_diff, 100.0, self.height, 100_000_000, h, is_block))
            if k + STEP / 2 <= t:
                recs.append(ShareRecord(k + STEP / 2, 0, M, "m", M_DIFF, M_DIFF, 100.0, self.height, 100_000_000,
                                        self._hash(), False))
            k += STEP
        self.upto = k - STEP
        with self.engine.begin() as conn:
            ShareRepository.insert_many(conn, recs)
        return block_hash

    def block(self, t: float, op_diff: float = OP_DIFF) -> BlockFound:
        """Mines up to `t`, where the farm finds a block (reward 1 BTC), credited by the Accountant."""
        assert (t - self.t0) % STEP == 0
        h = self.mine_until(t, op_diff, block=True)
        assert h is not None
        self.height += 1
        found = BlockFound(t, 0, self.height, h, OP, "rig", 100_000_000, 100.0, None)
        acc = self.accountant
        assert acc.record_block(found) is not None
        acc.credit_blocks()
        self.found.append(found)
        return found

    def allocate(self) -> int:
        return allocate_pending(self.engine)

    def confirm_all(self) -> None:
        for f in self.found:
            self.chain.hashes[f.height] = f.hash_hex
        self.chain.tip = self.height + 100
        asyncio.run(self.accountant.settle())

    def sell(self, at: float, hashrate: int, days: int, address: str = CUST_A, customer: str = "alice", *,
             start: float | None = None, fee_sat_per_day: int = 0, fee_percent: str = "0") -> dict[str, Any]:
        sale = Sale(customer, customer.title(), address, hashrate, days, start, price_sat=1_000_000,
                    fee_sat_per_day=fee_sat_per_day, fee_percent=Decimal(fee_percent))
        with self.engine.begin() as conn:
            return book.sell(conn, sale, scrypt=False, valid_address=valid, now=at)

    def q(self, sql: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.exec_driver_sql(sql).all())

    def balance(self, address: str) -> dict[str, int]:
        with self.engine.connect() as conn:
            return LedgerRepository.balance(conn, address)
