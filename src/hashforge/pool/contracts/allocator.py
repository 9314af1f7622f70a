"""Runs allocation over the ledger: each new accounting period of the farm's credits is split
between the contracts active in it, in one transaction per run.

A period is the farm's credits of one block (PPLNS/PROP: one `credits` row per farm address with
that block_id) or of one PPS run (rows written together: same `ts`, no block). It spans from the
previous period's end (or the farm's first share) to the block's find time (PPS: the credit time).
The contracts' net shares are written as ledger entries (kind `contract`): + to each customer's
payout address, and - to the farm's addresses (split in proportion to their credits), carrying the
block's id, so they are immature until the block confirms and reversed with it if it is orphaned.
The operator's balance thus drops by exactly what the customers get; payouts pay both as usual.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.engine import Engine

from ..accounting.lifecycle import LOCK_KEY
from ..accounting.schemes import split_proportional
from ..db.models import blocks, contract_allocations, contract_periods, contracts, credits
from ..db.repositories import LedgerRepository, StateRepository
from ..hashrate import hashrate
from . import farm as farms
from .allocation import allocate
from .book import terms_of

log = logging.getLogger(__name__)
CURSOR = "contracts.last_credit_id"


@contextmanager
def _tx(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # the accountant's lock: no credit is written meanwhile
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")
        yield conn


def allocate_pending(engine: Engine, scrypt: bool = False) -> int:
    """Allocates every period not allocated yet; returns how many periods were written."""
    with engine.connect() as conn:
        if not farms.load(conn).addresses:  # no contracts business: no lock taken
            return 0
    with _tx(engine) as conn:
        return allocate_in(conn, scrypt)


def allocate_in(conn: Connection, scrypt: bool = False) -> int:
    farm = farms.load(conn)
    if not farm.addresses:
        return 0
    last = int(StateRepository.get(conn, CURSOR, "0") or 0)
    rows = list(conn.execute(
        select(credits.c.id, credits.c.ts, credits.c.address, credits.c.amount, credits.c.block_id)
        .where(credits.c.id > last, credits.c.address.in_(farm.addresses), credits.c.kind.in_(("block", "pps")),
               credits.c.chain.is_(None))  # contracts are in the pool's own coin (not merged-mined ones)
        .order_by(credits.c.id)))
    if not rows:
        return 0
    groups: dict[tuple[str, Any], list[Any]] = {}
    for r in rows:
        key = ("block", int(r.block_id)) if r.block_id is not None else ("pps", float(r.ts))
        groups.setdefault(key, []).append(r)
    written = 0
    for (kind, ident), members in groups.items():
        if kind == "block":
            source = f"block:{ident}"
            end = float(conn.execute(select(blocks.c.found_at).where(blocks.c.id == ident)).scalar_one())
        else:
            source = f"pps:{members[0].id}"
            end = float(ident)
        if conn.execute(select(contract_periods.c.id).where(contract_periods.c.source == source)).first():
            continue  # written by an earlier run that crashed before moving the cursor (same transaction: never)
        _period(conn, farm, source, None if kind == "pps" else int(ident), end, members, scrypt)
        written += 1
    StateRepository.set(conn, CURSOR, str(max(int(r.id) for r in rows)))
    return written


def _period(conn: Connection, farm: farms.Farm, source: str, block_id: int | None, end: float,
            members: list[Any], scrypt: bool) -> None:
    earned_by: dict[str, int] = {}
    for r in members:
        earned_by[r.address] = earned_by.get(r.address, 0) + int(r.amount)
    earned = sum(earned_by.values())
    prev = conn.execute(select(func.max(contract_periods.c.end_time))).scalar()
    if prev is None:
        prev = farms.first_share_time(conn, farm.addresses)
    start = min(float(prev if prev is not None else end), end)
    # the first share is inside the first period: measure from just before it
    if conn.execute(select(func.count()).select_from(contract_periods)).scalar() == 0 and start < end:
        start = start - 1e-6
    farm_diff = farms.difficulty(conn, farm.addresses, start, end)
    farm_hps = hashrate(farm_diff, end - start, scrypt) if end > start else 0.0
    live = [terms_of(c) for c in conn.execute(
        select(contracts).where(contracts.c.start_time < end, contracts.c.end_time > start))]
    parts = allocate(earned, start, end, farm_hps, live) if earned > 0 else []
    allocated = sum(p.net for p in parts)
    fees = sum(p.fee for p in parts)
    assert 0 <= allocated <= max(earned, 0), "allocation exceeds the farm's earnings"
    r = conn.execute(insert(contract_periods).values(
        source=source, block_id=block_id, start_time=start, end_time=end, earned=earned, farm_hashrate=farm_hps,
        allocated=allocated, fees=fees, created_at=time.time()))
    pk = r.inserted_primary_key
    assert pk is not None
    period_id = int(pk[0])
    if parts:
        conn.execute(insert(contract_allocations), [
            {"period_id": period_id, "contract_id": p.contract_id, "address": p.address,
             "active_seconds": p.active_seconds, "share": float(p.share), "hashes": p.hashes,
             "gross": p.gross, "fee": p.fee, "net": p.net} for p in parts])
    if allocated > 0:
        taken = split_proportional(allocated, {a: float(v) for a, v in earned_by.items() if v > 0})
        LedgerRepository.add(conn, [
            *({"address": p.address, "amount": p.net, "kind": "contract", "block_id": block_id}
              for p in parts if p.net > 0),
            *({"address": a, "amount": -v, "kind": "contract", "block_id": block_id} for a, v in taken.items()),
        ])
    log.info("contracts: period %s earned %d sat, allocated %d to %d contract(s)", source, earned, allocated,
             sum(1 for p in parts if p.net > 0))
