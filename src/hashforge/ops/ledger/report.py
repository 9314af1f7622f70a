"""The tax-year report: income (total fair market value, by source and month), expenses (by
category, depreciation), capital gains (short/long, by the chosen lot method) and the net."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import expenses, income, lots, prices
from .db import LedgerDB
from .errors import LedgerError
from .expenses import Expense, Hardware
from .income import Income
from .lots import Disposal, GainPart
from .money import cents, sat_to_coins, year_bounds
from .settings import NOTE, Jurisdiction

ZERO = Decimal("0.00")


@dataclass
class Report:
    year: int
    method: str
    jurisdiction: Jurisdiction
    incomes: list[Income]
    expenses: list[Expense]
    hardware: list[Hardware]
    disposals: list[Disposal]
    gains: list[GainPart]
    price_gaps: list[str] = field(default_factory=list)

    # --- income -----------------------------------------------------------------------------------
    @property
    def income_total(self) -> Decimal:
        return cents(sum((i.fmv for i in self.incomes if i.fmv is not None), ZERO))

    @property
    def income_sat(self) -> int:
        return sum(i.amount_sat for i in self.incomes)

    def income_by_source(self) -> dict[str, dict[str, Any]]:
        out = {}
        for source in income.SOURCES:
            rows = [i for i in self.incomes if i.source == source]
            out[source] = {"count": len(rows), "amount_sat": sum(i.amount_sat for i in rows),
                           "fmv": cents(sum((i.fmv for i in rows if i.fmv is not None), ZERO))}
        return out

    def income_by_month(self) -> list[dict[str, Any]]:
        months = []
        for m in range(1, 13):
            rows = [i for i in self.incomes if i.day.month == m]
            months.append({"month": f"{self.year:04d}-{m:02d}", "amount_sat": sum(i.amount_sat for i in rows),
                           "fmv": cents(sum((i.fmv for i in rows if i.fmv is not None), ZERO))})
        return months

    @property
    def needs_price(self) -> list[Income]:
        return [i for i in self.incomes if i.fmv is None]

    # --- expenses ---------------------------------------------------------------------------------
    def expenses_by_category(self) -> dict[str, Decimal]:
        return {c: cents(sum((e.fiat for e in self.expenses if e.category == c and e.fiat is not None), ZERO))
                for c in expenses.CATEGORIES}

    @property
    def expenses_total(self) -> Decimal:
        return sum(self.expenses_by_category().values(), ZERO)

    def depreciation_rows(self) -> list[tuple[Hardware, Decimal]]:
        return [(h, h.depreciation(self.year)) for h in self.hardware if h.depreciation(self.year) != 0]

    @property
    def depreciation_total(self) -> Decimal:
        return sum((d for _, d in self.depreciation_rows()), ZERO)

    # --- gains ------------------------------------------------------------------------------------
    @property
    def year_gains(self) -> list[GainPart]:
        return [g for g in self.gains if g.disposed.year == self.year]

    def gain(self, term: str) -> Decimal:
        return sum((g.gain for g in self.year_gains if g.term == term and g.gain is not None), ZERO)

    @property
    def net(self) -> Decimal:
        return self.income_total + self.gain("short") + self.gain("long") - self.expenses_total - self.depreciation_total

    def warnings(self) -> list[str]:
        out = []
        if self.needs_price:
            n = len(self.needs_price)
            out.append(f"{n} income {'entry needs' if n == 1 else 'entries need'} a price (import prices for "
                       "those days or enter a manual FMV); not counted in totals")
        unpriced_exp = [e for e in self.expenses if e.fiat is None]
        if unpriced_exp:
            out.append(f"{len(unpriced_exp)} expense(s) in satoshis need a price; not counted in totals")
        unpriced_gains = [g for g in self.year_gains if g.basis is None]
        if unpriced_gains:
            out.append(f"{len(unpriced_gains)} disposal lot(s) have no cost basis (their income needs a price); "
                       "gains not counted")
        if self.price_gaps:
            out.append(f"{len(self.price_gaps)} day(s) without a price in {self.year}: "
                       f"{', '.join(self.price_gaps[:5])}{' …' if len(self.price_gaps) > 5 else ''}")
        return out

    def as_dict(self) -> dict[str, Any]:
        year_gains = self.year_gains
        return {
            "year": self.year, "method": self.method, "jurisdiction": self.jurisdiction.as_dict(), "note": NOTE,
            "currency": self.jurisdiction.currency, "coin": self.jurisdiction.coin,
            "income": {
                "total": str(self.income_total), "amount_sat": self.income_sat, "amount": sat_to_coins(self.income_sat),
                "count": len(self.incomes), "needs_price": [i.id for i in self.needs_price],
                "by_source": {k: {**v, "fmv": str(v["fmv"])} for k, v in self.income_by_source().items()},
                "by_month": [{**m, "fmv": str(m["fmv"])} for m in self.income_by_month()],
            },
            "expenses": {
                "total": str(self.expenses_total),
                "by_category": {k: str(v) for k, v in self.expenses_by_category().items()},
                "depreciation": str(self.depreciation_total),
                "depreciation_by_hardware": [{"id": h.id, "name": h.name, "depreciation": str(d)}
                                             for h, d in self.depreciation_rows()],
            },
            "gains": {
                "short": str(self.gain("short")), "long": str(self.gain("long")),
                "total": str(self.gain("short") + self.gain("long")),
                "proceeds": str(sum((g.proceeds for g in year_gains), ZERO)),
                "basis": str(sum((g.basis for g in year_gains if g.basis is not None), ZERO)),
                "disposals": len({g.disposal_id for g in year_gains}),
                "parts": [g.as_dict() for g in year_gains],
            },
            "net": str(self.net),
            "warnings": self.warnings(),
        }


def build(db: LedgerDB, j: Jurisdiction, year: int, method: str = "fifo") -> Report:
    if not 1970 <= year <= 9999:
        raise LedgerError(f"year must be 1970 to 9999, not {year}")
    _, end = year_bounds(year)
    everything = income.entries(db, j.currency, until=end)
    disposals = [d for d in lots.entries(db) if d.ts < end]
    gains = lots.match(method, everything, disposals, j)
    gaps = [d.isoformat() for d in prices.gaps(db, j.currency) if d.year == year]
    return Report(year, method, j, [i for i in everything if i.day.year == year],
                  expenses.entries(db, j.currency, year), expenses.hardware(db), disposals, gains, gaps)
