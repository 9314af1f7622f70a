"""`Ledger`: the tax ledger over one ops directory, as the CLI, the API and the dashboard use it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from .. import DB_FILE
from . import expenses, income, lots, prices, report, settings
from .db import LedgerDB
from .errors import LedgerError, NotFoundError, OverDisposalError
from .expenses import Expense, Hardware
from .settings import Jurisdiction

if TYPE_CHECKING:
    from hashforge.wallet import Wallet

TABLES = {"income": "ledger_income", "expense": "ledger_expenses", "hardware": "ledger_hardware",
          "disposal": "ledger_disposals"}


class Ledger:
    def __init__(self, ops_dir: Path) -> None:
        self.dir = ops_dir
        self.db = LedgerDB(ops_dir / DB_FILE)

    # --- settings ---------------------------------------------------------------------------------
    @property
    def jurisdiction(self) -> Jurisdiction:
        return settings.load(self.db)

    def configure(self, name: str | None = None, currency: str | None = None, long_term_days: int | None = None,
                  coin: str | None = None) -> Jurisdiction:
        old = self.jurisdiction
        name = name or old.name
        j = settings.validated(name, currency or ("USD" if name == "us" else old.currency),
                               old.long_term_days if long_term_days is None else long_term_days, coin or old.coin)
        settings.save(self.db, j)
        return j

    # --- prices -----------------------------------------------------------------------------------
    def import_prices(self, text: str, name: str, replace: bool = False) -> prices.PriceImport:
        return prices.import_csv(self.db, text, name, self.jurisdiction.currency, replace)

    def add_price(self, day: date, price: Decimal) -> None:
        prices.add(self.db, day, price, self.jurisdiction.currency)

    def prices(self) -> dict[date, Decimal]:
        return prices.table(self.db, self.jurisdiction.currency)

    def price_gaps(self) -> list[date]:
        return prices.gaps(self.db, self.jurisdiction.currency)

    # --- income -----------------------------------------------------------------------------------
    def add_income(self, ts: int, amount_sat: int, source: str, txid: str | None = None, vout: int | None = None,
                   fmv: Decimal | None = None, description: str = "") -> int:
        return income.add(self.db, ts, amount_sat, source, txid, vout, fmv, description)

    def set_fmv(self, income_id: int, fmv: Decimal | None) -> None:
        income.set_fmv(self.db, income_id, fmv)

    def import_income_csv(self, text: str, name: str) -> income.ImportResult:
        return income.import_csv(self.db, text, name)

    def import_wallet(self, wallet: Wallet, payout_addresses: set[str] | None = None,
                      payments: bool = True) -> income.ImportResult:
        return income.import_wallet(self.db, wallet, payout_addresses, payments)

    def income(self, year: int | None = None) -> list[income.Income]:
        return income.entries(self.db, self.jurisdiction.currency, year)

    # --- expenses ---------------------------------------------------------------------------------
    def add_expense(self, day: date, category: str, amount: Decimal | None = None, amount_sat: int | None = None,
                    description: str = "") -> int:
        return expenses.add(self.db, day, category, amount, amount_sat, description)

    def add_electricity(self, day: date, kw: Decimal, hours: Decimal, price_per_kwh: Decimal,
                        description: str = "") -> int:
        return expenses.add_electricity(self.db, day, kw, hours, price_per_kwh, description)

    def expenses(self, year: int | None = None) -> list[Expense]:
        return expenses.entries(self.db, self.jurisdiction.currency, year)

    def add_hardware(self, name: str, cost: Decimal, salvage: Decimal, life_months: int, in_service: date) -> int:
        return expenses.add_hardware(self.db, name, cost, salvage, life_months, in_service)

    def hardware(self) -> list[Hardware]:
        return expenses.hardware(self.db)

    # --- disposals and reports --------------------------------------------------------------------
    def add_disposal(self, ts: int, amount_sat: int, proceeds: Decimal, fee: Decimal = Decimal(0),
                     txid: str | None = None, description: str = "") -> int:
        return lots.add(self.db, ts, amount_sat, proceeds, fee, txid, description)

    def disposals(self, year: int | None = None) -> list[lots.Disposal]:
        return [d for d in lots.entries(self.db) if year is None or d.day.year == year]

    def delete(self, kind: str, record_id: int) -> None:
        """Removes one record (a mistake); an income entry a later disposal needs is refused."""
        table = TABLES.get(kind)
        if table is None:
            raise LedgerError(f"kind must be one of {', '.join(TABLES)}, not {kind!r}")
        with self.db.transaction() as c:
            if c.execute(f"DELETE FROM {table} WHERE id = ?", (record_id,)).rowcount == 0:
                raise NotFoundError(f"no {kind} with id {record_id}")
            if kind == "income":
                received = [(r[0], r[1]) for r in c.execute("SELECT ts, amount_sat FROM ledger_income")]
                disposed = [(r[0], r[1]) for r in c.execute("SELECT ts, amount_sat FROM ledger_disposals")]
                try:
                    lots.check_holdings(received, disposed)
                except LedgerError as e:
                    raise OverDisposalError(f"income {record_id} is needed: without it, {e}") from None

    def report(self, year: int, method: str = "fifo") -> report.Report:
        return report.build(self.db, self.jurisdiction, year, method)

    def record_years(self) -> list[int]:
        """Years with income, expenses or disposals, newest first."""
        rows = self.db.query(
            "SELECT CAST(strftime('%Y', ts, 'unixepoch') AS INTEGER) AS y FROM ledger_income "
            "UNION SELECT CAST(strftime('%Y', ts, 'unixepoch') AS INTEGER) FROM ledger_disposals "
            "UNION SELECT CAST(substr(day, 1, 4) AS INTEGER) FROM ledger_expenses ORDER BY 1 DESC")
        return [int(r[0]) for r in rows]

    def years(self) -> list[int]:
        """Years with any record, or depreciation up to this year, newest first."""
        years = set(self.record_years())
        this_year = datetime.now(UTC).year
        for h in self.hardware():  # a year with only depreciation still has a deduction to report
            years.update(y for y, v in h.schedule() if v and y <= this_year)
        return sorted(years, reverse=True)
