"""Jurisdiction settings: how income is valued and when a holding becomes long-term.

`us` (default): income at fair market value on the day of receipt (IRS Notice 2014-21), long-term
when held more than one year (the day after the anniversary of receipt). `generic`: the same income
rule with a configurable long-term threshold in days (0 = no long-term distinction) and currency.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from .db import LedgerDB
from .errors import LedgerError
from .money import add_years

JURISDICTIONS = ("us", "generic")
NOTE = ("Record-keeping, not tax advice: these figures come from the records you entered and the "
        "jurisdiction settings; check them with a tax professional.")
CURRENCY = re.compile(r"^[A-Z]{3}$")
COIN = re.compile(r"^[A-Z0-9]{2,10}$")


@dataclass(frozen=True)
class Jurisdiction:
    name: str = "us"
    currency: str = "USD"
    long_term_days: int = 365  # `generic` only: held more than this many days is long-term
    coin: str = "BTC"

    def is_long_term(self, acquired: date, disposed: date) -> bool:
        if self.name == "us":
            return disposed > add_years(acquired, 1)
        return self.long_term_days > 0 and (disposed - acquired).days > self.long_term_days

    def describe(self) -> str:
        if self.name == "us":
            return "US: income at fair market value on receipt; long-term when held more than one year"
        if self.long_term_days == 0:
            return f"generic ({self.currency}): income at fair market value on receipt; no long-term distinction"
        return (f"generic ({self.currency}): income at fair market value on receipt; long-term when held "
                f"more than {self.long_term_days} days")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "description": self.describe(), "note": NOTE}


def validated(name: str, currency: str, long_term_days: int, coin: str) -> Jurisdiction:
    if name not in JURISDICTIONS:
        raise LedgerError(f"jurisdiction must be one of {', '.join(JURISDICTIONS)}, not {name!r}")
    currency = currency.strip().upper()
    if not CURRENCY.match(currency):
        raise LedgerError(f"currency must be a 3-letter code such as USD or EUR, not {currency!r}")
    if name == "us" and currency != "USD":
        raise LedgerError("the us jurisdiction reports in USD; use --jurisdiction generic for another currency")
    if not 0 <= long_term_days <= 36500:
        raise LedgerError(f"long-term threshold must be 0 to 36500 days, not {long_term_days}")
    coin = coin.strip().upper()
    if not COIN.match(coin):
        raise LedgerError(f"coin must be a ticker such as BTC, not {coin!r}")
    return Jurisdiction(name, currency, long_term_days if name == "generic" else 365, coin)


def load(db: LedgerDB) -> Jurisdiction:
    values = {r["key"]: r["value"] for r in db.query("SELECT key, value FROM ledger_settings")}
    d = Jurisdiction()
    return Jurisdiction(values.get("jurisdiction", d.name), values.get("currency", d.currency),
                        int(values.get("long_term_days", d.long_term_days)), values.get("coin", d.coin))


def save(db: LedgerDB, j: Jurisdiction) -> None:
    with db.transaction() as c:
        for key, value in (("jurisdiction", j.name), ("currency", j.currency),
                           ("long_term_days", str(j.long_term_days)), ("coin", j.coin)):
            c.execute("INSERT INTO ledger_settings(key, value) VALUES(?, ?) "
                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))
