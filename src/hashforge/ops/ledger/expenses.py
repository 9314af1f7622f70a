"""Expenses (electricity, pool fees, other) and hardware with straight-line depreciation.

Electricity is an entered bill or computed as kW × hours × price per kWh. A pool fee may be
entered in satoshis: its fiat value is the day's price (or "needs price"). Depreciation is
straight-line by month from the in-service month: (cost − salvage) × months in service / life,
rounded to cents cumulatively so the years always add up to cost − salvage exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from .db import LedgerDB
from .errors import LedgerError
from .money import cents, sat_to_coins
from .prices import table, value

CATEGORIES = ("electricity", "pool_fee", "other")
LIFE = re.compile(r"^\s*(\d+)\s*(m|months?|y|years?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Expense:
    id: int
    day: date
    category: str
    amount: Decimal | None  # fiat as entered
    amount_sat: int | None  # or satoshis (a pool fee)
    fiat: Decimal | None  # what counts: `amount`, else the satoshis at the day's price; None: needs price
    description: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "date": self.day.isoformat(), "category": self.category,
                "amount": None if self.amount is None else str(self.amount), "amount_sat": self.amount_sat,
                "amount_coins": None if self.amount_sat is None else sat_to_coins(self.amount_sat),
                "fiat": None if self.fiat is None else str(self.fiat), "needs_price": self.fiat is None,
                "description": self.description, "detail": self.detail}


@dataclass(frozen=True)
class Hardware:
    id: int
    name: str
    cost: Decimal
    salvage: Decimal
    life_months: int
    in_service: date

    def depreciated_through(self, year: int) -> Decimal:
        """Accumulated depreciation at the end of `year`."""
        start = self.in_service.year * 12 + self.in_service.month - 1
        months = min(max(year * 12 + 11 - start + 1, 0), self.life_months)
        return cents((self.cost - self.salvage) * months / self.life_months)

    def depreciation(self, year: int) -> Decimal:
        return self.depreciated_through(year) - self.depreciated_through(year - 1)

    def schedule(self) -> list[tuple[int, Decimal]]:
        last_month = self.in_service.year * 12 + self.in_service.month - 1 + self.life_months - 1
        return [(y, self.depreciation(y)) for y in range(self.in_service.year, last_month // 12 + 1)]

    def as_dict(self, year: int | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "name": self.name, "cost": str(self.cost), "salvage": str(self.salvage),
                             "life_months": self.life_months, "in_service": self.in_service.isoformat(),
                             "schedule": [{"year": y, "depreciation": str(v)} for y, v in self.schedule()]}
        if year is not None:
            d["depreciation"] = str(self.depreciation(year))
        return d


def parse_life(text: str) -> int:
    """`36m`, `3y`, `5 years` -> months."""
    m = LIFE.match(text)
    if m is None:
        raise LedgerError(f"life must be months or years such as 36m or 3y, not {text!r}")
    months = int(m.group(1)) * (12 if m.group(2).lower().startswith("y") else 1)
    if not 1 <= months <= 1200:
        raise LedgerError(f"life must be 1 month to 100 years, not {text!r}")
    return months


def electricity_cost(kw: Decimal, hours: Decimal, price_per_kwh: Decimal) -> Decimal:
    for what, v in (("power (kW)", kw), ("hours", hours), ("price per kWh", price_per_kwh)):
        if not v.is_finite() or v < 0:
            raise LedgerError(f"{what} must be zero or more, not {v}")
    return cents(kw * hours * price_per_kwh)


def add(db: LedgerDB, day: date, category: str, amount: Decimal | None = None, amount_sat: int | None = None,
        description: str = "", detail: str = "") -> int:
    if category not in CATEGORIES:
        raise LedgerError(f"category must be one of {', '.join(CATEGORIES)}, not {category!r}")
    if (amount is None) == (amount_sat is None):
        raise LedgerError("give exactly one of a fiat amount or an amount in satoshis")
    if amount is not None and (not amount.is_finite() or amount <= 0):
        raise LedgerError(f"amount must be greater than zero, not {amount}")
    if amount_sat is not None and not 0 < amount_sat <= 21_000_000 * 100_000_000:
        raise LedgerError(f"amount must be 1 to 21e14 satoshis, not {amount_sat}")
    if amount_sat is not None and category != "pool_fee":
        raise LedgerError("only pool fees may be entered in satoshis")
    with db.transaction() as c:
        cur = c.execute("INSERT INTO ledger_expenses(day, category, amount, amount_sat, description, detail) "
                        "VALUES(?, ?, ?, ?, ?, ?)", (day.isoformat(), category,
                                                      None if amount is None else str(amount), amount_sat,
                                                      description, detail))
        return int(cur.lastrowid or 0)


def add_electricity(db: LedgerDB, day: date, kw: Decimal, hours: Decimal, price_per_kwh: Decimal,
                    description: str = "") -> int:
    cost = electricity_cost(kw, hours, price_per_kwh)
    if cost == 0:
        raise LedgerError("the computed electricity cost is 0; check power, hours and price")
    return add(db, day, "electricity", cost, description=description or "electricity (measured)",
               detail=f"{kw} kW × {hours} h × {price_per_kwh}/kWh")


def entries(db: LedgerDB, currency: str, year: int | None = None) -> list[Expense]:
    sql = "SELECT * FROM ledger_expenses"
    params: tuple[str, ...] = ()
    if year is not None:
        sql, params = sql + " WHERE day >= ? AND day <= ?", (f"{year:04d}-01-01", f"{year:04d}-12-31")
    prices = table(db, currency)
    out = []
    for r in db.query(sql + " ORDER BY day, id", params):
        day = date.fromisoformat(r["day"])
        amount = None if r["amount"] is None else Decimal(r["amount"])
        fiat = amount
        if fiat is None:
            price = prices.get(day)
            fiat = None if price is None else cents(value(r["amount_sat"], price))
        out.append(Expense(r["id"], day, r["category"], amount, r["amount_sat"], fiat, r["description"], r["detail"]))
    return out


def add_hardware(db: LedgerDB, name: str, cost: Decimal, salvage: Decimal, life_months: int, in_service: date) -> int:
    if not name.strip():
        raise LedgerError("hardware needs a name")
    if not cost.is_finite() or cost <= 0:
        raise LedgerError(f"cost must be greater than zero, not {cost}")
    if not salvage.is_finite() or salvage < 0 or salvage > cost:
        raise LedgerError(f"salvage value must be between 0 and the cost ({cost}), not {salvage}")
    if life_months <= 0:
        raise LedgerError(f"life must be at least one month, not {life_months}")
    with db.transaction() as c:
        cur = c.execute("INSERT INTO ledger_hardware(name, cost, salvage, life_months, in_service) VALUES(?, ?, ?, ?, ?)",
                        (name.strip(), str(cost), str(salvage), life_months, in_service.isoformat()))
        return int(cur.lastrowid or 0)


def hardware(db: LedgerDB) -> list[Hardware]:
    return [Hardware(r["id"], r["name"], Decimal(r["cost"]), Decimal(r["salvage"]), r["life_months"],
                     date.fromisoformat(r["in_service"]))
            for r in db.query("SELECT * FROM ledger_hardware ORDER BY in_service, id")]
