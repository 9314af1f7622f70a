"""The contract book: selling (with the capacity check), cancelling, and the read views for the
operator and for customers. Every function takes the caller's Connection (one transaction)."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ..db.models import (
    blocks,
    contract_allocations,
    contract_customers,
    contract_periods,
    contracts,
)
from ..db.repositories import LedgerRepository, PayoutRepository
from . import farm as farms
from .allocation import DAY, Terms
from .errors import ContractConflict, ContractError, ContractNotFound

CUSTOMER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CURRENCY = re.compile(r"^[A-Z]{3,8}$")
MAX_SAT = 2**63 - 1  # amounts are stored as 64-bit integers
MAX_HASHRATE = MAX_SAT
MAX_DAYS = 3650
MAX_FEE_PER_DAY = MAX_SAT // MAX_DAYS
EARLIEST_TIME = 1231006505.0  # Bitcoin's genesis block: no contract starts before it
LATEST_TIME = 7258118400.0  # 2200-01-01 UTC: later is a typo (or an attack), not a plan
PAST_SLACK = 300.0  # a start this far in the past is still "now" (clocks, slow clients)


@dataclass(frozen=True)
class Sale:
    customer_id: str
    customer_name: str
    payout_address: str
    hashrate_hps: int
    days: int
    start_time: float | None = None  # None: now
    price_sat: int | None = None
    price_fiat: Decimal | None = None
    fiat_currency: str | None = None
    fee_sat_per_day: int = 0
    fee_percent: Decimal = Decimal(0)


def state_of(row: Any, now: float) -> str:
    if row.cancelled_at is not None:
        return "cancelled"
    if now < row.start_time:
        return "pending"
    return "active" if now < row.end_time else "expired"


def effective_end(row: Any) -> float:
    end = float(row.end_time)
    return end if row.cancelled_at is None else max(float(row.start_time), min(end, float(row.cancelled_at)))


def terms_of(row: Any) -> Terms:
    return Terms(int(row.id), str(row.payout_address), int(row.hashrate), float(row.start_time), effective_end(row),
                 int(row.fee_sat_per_day), Decimal(row.fee_percent))


def sold_peak(conn: Connection, start: float, end: float, exclude: int | None = None) -> int:
    """The most hash rate sold at any instant of [start, end) (cancelled contracts count until cancelled)."""
    rows = [r for r in conn.execute(select(contracts).where(contracts.c.start_time < end, contracts.c.end_time > start))
            if r.id != exclude and effective_end(r) > start and effective_end(r) > r.start_time]
    # the sum is piecewise constant and only rises at a contract's start (or at `start`)
    points = {start} | {float(r.start_time) for r in rows if r.start_time > start}
    return max((sum(int(r.hashrate) for r in rows if r.start_time <= t < effective_end(r)) for t in points), default=0)


def _check(sale: Sale, now: float, valid_address: Callable[[str], bool]) -> None:
    if not CUSTOMER_ID.match(sale.customer_id):
        raise ContractError("customer id: 1..64 letters, digits, '-' or '_'")
    if not sale.customer_name.strip() or len(sale.customer_name) > 128 or not sale.customer_name.isprintable():
        raise ContractError("customer name: 1..128 printable characters")
    if not 0 < sale.hashrate_hps <= MAX_HASHRATE:
        raise ContractError("hash rate must be a positive number of H/s")
    if not 1 <= sale.days <= MAX_DAYS:
        raise ContractError(f"days must be 1..{MAX_DAYS}")
    if sale.start_time is not None and (not math.isfinite(sale.start_time) or sale.start_time < now - PAST_SLACK):
        raise ContractError("a contract cannot start in the past")
    if sale.start_time is not None and sale.start_time > LATEST_TIME:
        raise ContractError("a contract must start before 2200")
    if sale.price_sat is not None and not 0 <= sale.price_sat <= MAX_SAT:
        raise ContractError(f"price must be 0..{MAX_SAT} sats")
    if sale.price_fiat is not None:
        if not sale.price_fiat.is_finite() or sale.price_fiat < 0:
            raise ContractError("fiat price must be a non-negative decimal")
        if sale.fiat_currency is None or not CURRENCY.match(sale.fiat_currency):
            raise ContractError("a fiat price needs its currency code (e.g. USD)")
    if not 0 <= sale.fee_sat_per_day <= MAX_FEE_PER_DAY:
        raise ContractError(f"maintenance fee must be 0..{MAX_FEE_PER_DAY} sats/day")
    if not sale.fee_percent.is_finite() or not 0 <= sale.fee_percent < 100:
        raise ContractError("maintenance fee percent must be in [0, 100)")
    if not valid_address(sale.payout_address):
        raise ContractError(f"{sale.payout_address!r} is not a valid address on this network")


def _serialize_sales(conn: Connection) -> None:
    """Two sales at once must not both pass the capacity check: PostgreSQL takes an advisory lock,
    SQLite takes its write lock now (a write before any read), so each sale sees the one before."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727276)")
    else:
        conn.execute(update(contract_customers).where(contract_customers.c.id == "").values(name=""))


def sell(conn: Connection, sale: Sale, *, scrypt: bool, valid_address: Callable[[str], bool],
         now: float | None = None) -> dict[str, Any]:
    """Records a contract, or refuses it (ContractError/ContractConflict) leaving nothing written."""
    now = time.time() if now is None else now
    _check(sale, now, valid_address)
    _serialize_sales(conn)
    farm = farms.load(conn)
    if not farm.addresses:
        raise ContractConflict("no farm is configured: set the operator's addresses first (contracts farm)")
    if sale.payout_address in farm.addresses:
        raise ContractError("a contract cannot pay out to one of the farm's own addresses")
    start = now if sale.start_time is None else max(now, sale.start_time)
    end = start + sale.days * DAY
    measured = farms.measured(conn, farm, scrypt, now)
    capacity = farms.sellable(measured, farm)
    peak = sold_peak(conn, start, end)
    if peak + sale.hashrate_hps > capacity:
        raise ContractConflict(
            f"over-selling refused: {peak + sale.hashrate_hps:,} H/s would be sold but the farm's capacity is "
            f"{capacity:,.0f} H/s (measured {measured:,.0f} H/s; {max(0, math.floor(capacity) - peak):,} H/s left)")
    known = conn.execute(select(contract_customers.c.name).where(contract_customers.c.id == sale.customer_id)).scalar()
    if known is None:
        conn.execute(insert(contract_customers).values(id=sale.customer_id, name=sale.customer_name.strip(),
                                                       created_at=now))
    r = conn.execute(insert(contracts).values(
        customer_id=sale.customer_id, payout_address=sale.payout_address, hashrate=sale.hashrate_hps,
        start_time=start, end_time=end, price_sat=sale.price_sat,
        price_fiat=None if sale.price_fiat is None else str(sale.price_fiat), fiat_currency=sale.fiat_currency,
        fee_sat_per_day=sale.fee_sat_per_day, fee_percent=str(sale.fee_percent), created_at=now, cancelled_at=None,
    ))
    pk = r.inserted_primary_key
    assert pk is not None
    return get(conn, int(pk[0]), now)


def cancel(conn: Connection, contract_id: int, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    row = _row(conn, contract_id)
    state = state_of(row, now)
    if state in ("cancelled", "expired"):
        raise ContractConflict(f"contract {contract_id} is {state} already")
    conn.execute(update(contracts).where(contracts.c.id == contract_id, contracts.c.cancelled_at.is_(None))
                 .values(cancelled_at=now))
    return get(conn, contract_id, now)


def _row(conn: Connection, contract_id: int) -> Any:
    row = conn.execute(select(contracts, contract_customers.c.name.label("customer_name"))
                       .join(contract_customers, contract_customers.c.id == contracts.c.customer_id)
                       .where(contracts.c.id == contract_id)).first()
    if row is None:
        raise ContractNotFound(f"no contract {contract_id}")
    return row


def _stats(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per contract: allocated sats by their block's status, fees, delivered work."""
    if not ids:
        return {}
    status = func.coalesce(blocks.c.status, "payable")
    q = (select(contract_allocations.c.contract_id, status.label("status"),
                func.sum(contract_allocations.c.gross), func.sum(contract_allocations.c.fee),
                func.sum(contract_allocations.c.net), func.sum(contract_allocations.c.hashes),
                func.sum(contract_allocations.c.active_seconds))
         .join(contract_periods, contract_periods.c.id == contract_allocations.c.period_id)
         .outerjoin(blocks, blocks.c.id == contract_periods.c.block_id)
         .where(contract_allocations.c.contract_id.in_(ids))
         .group_by(contract_allocations.c.contract_id, status))
    out = {i: {"gross": 0, "fees": 0, "confirmed": 0, "immature": 0, "reversed": 0, "hashes": 0.0, "seconds": 0.0}
           for i in ids}
    for cid, st, gross, fee, net, hashes, seconds in conn.execute(q):
        s = out[int(cid)]
        s["gross"] += int(gross)
        s["fees"] += int(fee)
        s["hashes"] += float(hashes)
        s["seconds"] += float(seconds)
        key = {"pending": "immature", "orphaned": "reversed"}.get(str(st), "confirmed")
        s[key] += int(net)
    return out


def _view(row: Any, stats: dict[str, Any], now: float) -> dict[str, Any]:
    delivered = stats["hashes"] / stats["seconds"] if stats["seconds"] > 0 else 0.0
    return {
        "id": int(row.id), "customer_id": row.customer_id, "customer_name": row.customer_name,
        "payout_address": row.payout_address, "hashrate_hps": int(row.hashrate),
        "start_time": float(row.start_time), "end_time": float(row.end_time),
        "days": round((row.end_time - row.start_time) / DAY), "state": state_of(row, now),
        "price_sat": row.price_sat, "price_fiat": row.price_fiat, "fiat_currency": row.fiat_currency,
        "fee_sat_per_day": int(row.fee_sat_per_day), "fee_percent": row.fee_percent,
        "created_at": float(row.created_at), "cancelled_at": row.cancelled_at,
        "earned_sat": stats["confirmed"], "immature_sat": stats["immature"], "reversed_sat": stats["reversed"],
        "gross_sat": stats["gross"], "fees_sat": stats["fees"],
        "delivered_hps": delivered, "accrued_seconds": stats["seconds"],
    }


def get(conn: Connection, contract_id: int, now: float | None = None) -> dict[str, Any]:
    row = _row(conn, contract_id)
    return _view(row, _stats(conn, [int(row.id)])[int(row.id)], time.time() if now is None else now)


def listing(conn: Connection, customer_id: str | None = None, now: float | None = None) -> list[dict[str, Any]]:
    now = time.time() if now is None else now
    q = (select(contracts, contract_customers.c.name.label("customer_name"))
         .join(contract_customers, contract_customers.c.id == contracts.c.customer_id).order_by(contracts.c.id))
    if customer_id is not None:
        q = q.where(contracts.c.customer_id == customer_id)
    rows = list(conn.execute(q))
    stats = _stats(conn, [int(r.id) for r in rows])
    return [_view(r, stats[int(r.id)], now) for r in rows]


def capacity(conn: Connection, scrypt: bool, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    farm = farms.load(conn)
    measured = farms.measured(conn, farm, scrypt, now)
    cap = farms.sellable(measured, farm)
    sold_now = sold_peak(conn, now, now + 1e-3)
    far = conn.execute(select(func.max(contracts.c.end_time))).scalar()
    peak = sold_peak(conn, now, max(now + 1, float(far or now)))
    return {"farm": farm.to_json(), "measured_hps": measured, "capacity_hps": cap, "sold_hps": sold_now,
            "sold_peak_hps": peak, "available_hps": max(0, math.floor(cap) - peak),
            "utilization": (sold_now / cap) if cap > 0 else None}


def allocations(conn: Connection, contract_id: int, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    _row(conn, contract_id)
    a, p = contract_allocations.c, contract_periods.c
    q = (select(p.id.label("period_id"), p.source, p.block_id, blocks.c.status.label("block_status"),
                p.start_time, p.end_time, p.earned, p.farm_hashrate, a.active_seconds, a.share, a.hashes,
                a.gross, a.fee, a.net)
         .join(contract_periods, p.id == a.period_id).outerjoin(blocks, blocks.c.id == p.block_id)
         .where(a.contract_id == contract_id).order_by(p.id.desc()).limit(limit).offset(offset))
    return [dict(r._mapping) for r in conn.execute(q)]


def periods(conn: Connection, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """The operator's audit view: each period's earnings, what contracts got, what the operator kept."""
    p = contract_periods.c
    q = (select(contract_periods, blocks.c.status.label("block_status"))
         .outerjoin(blocks, blocks.c.id == p.block_id).order_by(p.id.desc()).limit(limit).offset(offset))
    return [{**dict(r._mapping), "operator_sat": int(r.earned) - int(r.allocated)} for r in conn.execute(q)]


def customer(conn: Connection, customer_id: str, now: float | None = None) -> dict[str, Any]:
    name = conn.execute(select(contract_customers.c.name).where(contract_customers.c.id == customer_id)).scalar()
    if name is None:
        raise ContractNotFound(f"no customer {customer_id!r}")
    mine = listing(conn, customer_id, now)
    addresses = sorted({c["payout_address"] for c in mine})
    return {
        "id": customer_id, "name": name, "contracts": mine,
        "earned_sat": sum(c["earned_sat"] for c in mine), "immature_sat": sum(c["immature_sat"] for c in mine),
        "fees_sat": sum(c["fees_sat"] for c in mine),
        "balances": {a: LedgerRepository.balance(conn, a) for a in addresses},
        "payouts": [{**p, "address": a} for a in addresses for p in PayoutRepository.page(conn, 50, 0, a)],
    }


def customer_of(conn: Connection, contract_id: int) -> str:
    return str(_row(conn, contract_id).customer_id)
