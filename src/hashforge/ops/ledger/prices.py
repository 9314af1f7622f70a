"""Daily coin prices from a user CSV (`date,price[,currency]`), the gaps between them, and the
fair market value of an amount on a day. Decimal only; an import is one transaction."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from .csvutil import rows
from .db import LedgerDB
from .errors import CSVError, LedgerError
from .money import SAT_PER_COIN, parse_date, parse_decimal
from .settings import CURRENCY


@dataclass(frozen=True)
class PriceImport:
    added: int
    unchanged: int
    replaced: int
    first: date | None
    last: date | None
    gaps: list[date]


def parse(text: str, name: str, default_currency: str) -> dict[tuple[date, str], tuple[Decimal, int]]:
    """{(day, currency): (price, line)}; raises CSVError on the first bad row."""
    out: dict[tuple[date, str], tuple[Decimal, int]] = {}
    for line, row in rows(text, name, ("date", "price"), ("currency",)):
        try:
            day = parse_date(row["date"])
        except ValueError as e:
            raise CSVError(name, line, "date", str(e)) from None
        try:
            price = parse_decimal(row["price"], "price", positive=True)
        except ValueError as e:
            raise CSVError(name, line, "price", str(e)) from None
        currency = (row.get("currency") or default_currency).upper()
        if not CURRENCY.match(currency):
            raise CSVError(name, line, "currency", f"must be a 3-letter code such as USD, not {currency!r}")
        key = (day, currency)
        if key in out and out[key][0] != price:
            raise CSVError(name, line, "price", f"{day} {currency} already has price {out[key][0]} "
                           f"(line {out[key][1]}); duplicate dates must agree")
        out.setdefault(key, (price, line))
    if not out:
        raise CSVError(name, 1, None, "no price rows after the header")
    return out


def import_csv(db: LedgerDB, text: str, name: str, default_currency: str, replace: bool = False) -> PriceImport:
    parsed = parse(text, name, default_currency)
    added = unchanged = replaced = 0
    with db.transaction() as c:
        for (day, currency), (price, line) in sorted(parsed.items(), key=lambda kv: kv[1][1]):
            old = c.execute("SELECT price FROM ledger_prices WHERE day = ? AND currency = ?",
                            (day.isoformat(), currency)).fetchone()
            if old is None:
                added += 1
            elif Decimal(old["price"]) == price:
                unchanged += 1
                continue
            elif not replace:
                raise CSVError(name, line, "price", f"{day} {currency} is already recorded at {old['price']}; "
                               "import with replace to overwrite")
            else:
                replaced += 1
            c.execute("INSERT INTO ledger_prices(day, currency, price) VALUES(?, ?, ?) ON CONFLICT(day, currency) "
                      "DO UPDATE SET price = excluded.price", (day.isoformat(), currency, str(price)))
    days = sorted(d for d, cur in parsed if cur == default_currency)
    return PriceImport(added, unchanged, replaced, days[0] if days else None, days[-1] if days else None,
                       gaps(db, default_currency))


def add(db: LedgerDB, day: date, price: Decimal, currency: str) -> None:
    if not price.is_finite() or price <= 0:
        raise LedgerError(f"price must be greater than zero, not {price}")
    with db.transaction() as c:
        c.execute("INSERT INTO ledger_prices(day, currency, price) VALUES(?, ?, ?) ON CONFLICT(day, currency) "
                  "DO UPDATE SET price = excluded.price", (day.isoformat(), currency, str(price)))


def table(db: LedgerDB, currency: str) -> dict[date, Decimal]:
    return {date.fromisoformat(r["day"]): Decimal(r["price"])
            for r in db.query("SELECT day, price FROM ledger_prices WHERE currency = ? ORDER BY day", (currency,))}


def gaps(db: LedgerDB, currency: str) -> list[date]:
    """Days without a price between the first and the last priced day."""
    days = sorted(table(db, currency))
    missing = []
    for a, b in itertools.pairwise(days):
        d = a + timedelta(days=1)
        while d < b:
            missing.append(d)
            d += timedelta(days=1)
    return missing


def value(amount_sat: int, price: Decimal) -> Decimal:
    """Fiat value of satoshis at a coin price (exact Decimal; round only for display)."""
    return Decimal(amount_sat) * price / SAT_PER_COIN
