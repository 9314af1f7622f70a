"""Disposals (sales and spends) and their matching to income lots: FIFO, LIFO or HIFO, partial
lots, short- or long-term by the jurisdiction's holding period. A lot's cost basis is the fair
market value recognised as income when it was received."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from .db import LedgerDB
from .errors import LedgerError, OverDisposalError
from .income import Income
from .money import cents, day_of, iso, sat_to_coins
from .settings import Jurisdiction

METHODS = ("fifo", "lifo", "hifo")


@dataclass(frozen=True)
class Disposal:
    id: int
    ts: int
    amount_sat: int
    proceeds: Decimal
    fee: Decimal
    txid: str | None
    description: str

    @property
    def day(self) -> date:
        return day_of(self.ts)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "time": iso(self.ts), "date": self.day.isoformat(), "amount_sat": self.amount_sat,
                "amount": sat_to_coins(self.amount_sat), "proceeds": str(self.proceeds), "fee": str(self.fee),
                "txid": self.txid, "description": self.description}


@dataclass(frozen=True)
class GainPart:
    """One disposal's share of one lot."""

    disposal_id: int
    disposed: date
    income_id: int
    acquired: date
    amount_sat: int
    proceeds: Decimal
    fee: Decimal
    basis: Decimal | None  # None: the lot needs a price
    term: str  # short | long

    @property
    def gain(self) -> Decimal | None:
        return None if self.basis is None else self.proceeds - self.fee - self.basis

    def as_dict(self) -> dict[str, Any]:
        return {"disposal_id": self.disposal_id, "disposed": self.disposed.isoformat(), "income_id": self.income_id,
                "acquired": self.acquired.isoformat(), "amount_sat": self.amount_sat,
                "amount": sat_to_coins(self.amount_sat), "proceeds": str(self.proceeds), "fee": str(self.fee),
                "basis": None if self.basis is None else str(self.basis),
                "gain": None if self.gain is None else str(self.gain), "term": self.term,
                "needs_price": self.basis is None}


def entries(db: LedgerDB) -> list[Disposal]:
    return [Disposal(r["id"], r["ts"], r["amount_sat"], Decimal(r["proceeds"]), Decimal(r["fee"]), r["txid"],
                     r["description"])
            for r in db.query("SELECT * FROM ledger_disposals ORDER BY ts, id")]


def check_holdings(received: list[tuple[int, int]], disposed: list[tuple[int, int]]) -> None:
    """Refuses a timeline where any disposal spends more than was received by then (an income
    at the same second as a disposal counts as received first)."""
    events = sorted([(ts, 0, sat) for ts, sat in received] + [(ts, 1, sat) for ts, sat in disposed])
    held = 0
    for ts, kind, sat in events:
        if kind == 0:
            held += sat
            continue
        if sat > held:
            raise OverDisposalError(
                f"the disposal of {sat_to_coins(sat)} on {iso(ts)} is more than the "
                f"{sat_to_coins(held)} held then (income recorded up to that time, less earlier disposals)")
        held -= sat


def add(db: LedgerDB, ts: int, amount_sat: int, proceeds: Decimal, fee: Decimal = Decimal(0),
        txid: str | None = None, description: str = "") -> int:
    if not 0 < amount_sat <= 21_000_000 * 100_000_000:
        raise LedgerError(f"amount must be 1 to 21e14 satoshis, not {amount_sat}")
    for what, v in (("proceeds", proceeds), ("fee", fee)):
        if not v.is_finite() or v < 0:
            raise LedgerError(f"{what} must be zero or more, not {v}")
    with db.transaction() as c:
        received = [(r[0], r[1]) for r in c.execute("SELECT ts, amount_sat FROM ledger_income")]
        disposed = [(r[0], r[1]) for r in c.execute("SELECT ts, amount_sat FROM ledger_disposals")]
        check_holdings(received, [*disposed, (ts, amount_sat)])
        cur = c.execute("INSERT INTO ledger_disposals(ts, amount_sat, proceeds, fee, txid, description) "
                        "VALUES(?, ?, ?, ?, ?, ?)", (ts, amount_sat, str(proceeds), str(fee), txid, description))
        return int(cur.lastrowid or 0)


@dataclass
class _Lot:
    income: Income
    sat_left: int
    basis_left: Decimal | None

    def unit_cost(self) -> Decimal:
        return Decimal(-1) if self.income.fmv is None else self.income.fmv / self.income.amount_sat


def _order(method: str, lots: list[_Lot]) -> list[_Lot]:
    if method == "fifo":
        return sorted(lots, key=lambda lot: (lot.income.ts, lot.income.id))
    if method == "lifo":
        return sorted(lots, key=lambda lot: (-lot.income.ts, -lot.income.id))
    return sorted(lots, key=lambda lot: (-lot.unit_cost(), lot.income.ts, lot.income.id))


def _share(total: Decimal, part: int, whole: int, last: bool, used: Decimal) -> Decimal:
    return total - used if last else cents(total * part / whole)


def match(method: str, incomes: list[Income], disposals: list[Disposal], j: Jurisdiction) -> list[GainPart]:
    """Every disposal (oldest first) matched to the lots held at its time."""
    if method not in METHODS:
        raise LedgerError(f"method must be fifo, lifo or hifo, not {method!r}")
    lots = [_Lot(i, i.amount_sat, None if i.fmv is None else cents(i.fmv)) for i in incomes]
    parts: list[GainPart] = []
    for d in sorted(disposals, key=lambda x: (x.ts, x.id)):
        need = d.amount_sat
        used_p = used_f = Decimal(0)
        held = [lot for lot in lots if lot.sat_left > 0 and lot.income.ts <= d.ts]
        for lot in _order(method, held):
            if need == 0:
                break
            take = min(need, lot.sat_left)
            last = take == need
            proceeds = _share(d.proceeds, take, d.amount_sat, last, used_p)
            fee = _share(d.fee, take, d.amount_sat, last, used_f)
            used_p += proceeds
            used_f += fee
            basis = None
            if lot.basis_left is not None:
                basis = lot.basis_left if take == lot.sat_left else cents(lot.basis_left * take / lot.sat_left)
                lot.basis_left -= basis
            lot.sat_left -= take
            need -= take
            term = "long" if j.is_long_term(lot.income.day, d.day) else "short"
            parts.append(GainPart(d.id, d.day, lot.income.id, lot.income.day, take, proceeds, fee, basis, term))
        if need:
            raise OverDisposalError(f"the disposal of {sat_to_coins(d.amount_sat)} on {iso(d.ts)} is more than "
                                    "the coins held then")
    return parts
