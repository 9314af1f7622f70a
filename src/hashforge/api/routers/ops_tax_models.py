"""Request bodies of /v1/ops/tax. Money is text (`"123.45"`): fiat is Decimal, never float."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Fiat = Annotated[str, Field(pattern=r"^\d{1,15}(\.\d{1,12})?$", examples=["123.45"], description="Fiat, as decimal text.")]
Sats = Annotated[int, Field(gt=0, le=2_100_000_000_000_000, description="Satoshis.")]
When = Annotated[str, Field(min_length=10, max_length=32, examples=["2024-03-01T12:00:00Z"],
                            description="YYYY-MM-DD (midnight UTC) or an ISO 8601 date-time (UTC unless an offset is given).")]
Day = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2024-03-01"])]
Txid = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]
Text = Annotated[str, Field(max_length=500)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SettingsIn(_In):
    jurisdiction: Literal["us", "generic"] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")] | None = None
    long_term_days: Annotated[int, Field(ge=0, le=36500)] | None = None
    coin: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{2,10}$")] | None = None


class CsvImport(_In):
    csv: Annotated[str, Field(max_length=5_000_000, description="The CSV file's text.")]
    name: Annotated[str, Field(min_length=1, max_length=200, description="File name used in error messages.")] = "upload.csv"
    replace: bool = Field(default=False, description="Prices only: overwrite days already recorded.")


class IncomeIn(_In):
    time: When
    amount_sat: Sats
    source: Literal["block", "pool"] = "pool"
    txid: Txid | None = None
    vout: Annotated[int, Field(ge=0, le=100_000)] | None = None
    fmv: Fiat | None = Field(default=None, description="Manual fair market value at receipt.")
    description: Text = ""


class FmvIn(_In):
    fmv: Fiat | None = Field(description="Manual fair market value; null clears it (back to the day's price).")


class WalletImport(_In):
    payout_addresses: Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=1000)] | None = Field(
        default=None, description="Your payout addresses given to pools: only payments received there count as pool payouts.")
    payments: bool = Field(default=True, description="Record incoming payments as pool payouts.")


class ExpenseIn(_In):
    date: Day
    category: Literal["electricity", "pool_fee", "other"]
    amount: Fiat | None = Field(default=None, description="Fiat amount (a bill).")
    amount_sat: Sats | None = Field(default=None, description="A pool fee in satoshis (valued at the day's price).")
    kw: Fiat | None = Field(default=None, description="Electricity computed: measured power in kW …")
    hours: Fiat | None = Field(default=None, description="… hours run …")
    price_kwh: Fiat | None = Field(default=None, description="… and price per kWh.")
    description: Text = ""


class HardwareIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    cost: Fiat
    salvage: Fiat = "0"
    life: Annotated[str, Field(max_length=20, examples=["36m", "3y"])]
    in_service: Day


class DisposalIn(_In):
    time: When
    amount_sat: Sats
    proceeds: Fiat
    fee: Fiat = "0"
    txid: Txid | None = None
    description: Text = ""


# --- responses (money as decimal text; null where a price is needed) ------------------------------

class SettingsOut(BaseModel):
    name: str = Field(description="us or generic.")
    currency: str
    long_term_days: int
    coin: str
    description: str
    note: str = Field(description="Record-keeping, not tax advice.")


class PriceRow(BaseModel):
    date: str
    price: str


class PriceList(BaseModel):
    currency: str
    prices: list[PriceRow]
    gaps: list[str] = Field(description="Days without a price between the first and the last.")


class PriceImportOut(BaseModel):
    added: int
    unchanged: int
    replaced: int
    first: str | None
    last: str | None
    gaps: list[str]


class IncomeOut(BaseModel):
    id: int
    time: str
    date: str
    amount_sat: int
    amount: str = Field(description="Coins, exact decimal.")
    source: str = Field(description="block or pool.")
    txid: str | None
    vout: int | None
    fmv: str | None = Field(description="Fair market value at receipt; null: needs price.")
    fmv_source: str | None = Field(description="manual or price.")
    needs_price: bool
    origin: str = Field(description="wallet, csv or manual.")
    description: str


class ImportOut(BaseModel):
    added: int
    unchanged: int
    skipped: int = Field(default=0, description="Wallet: unconfirmed, or not income.")
    removed: int = Field(default=0, description="Wallet: recorded before, taken out of the chain by a reorg.")


class ExpenseOut(BaseModel):
    id: int
    date: str
    category: str
    amount: str | None
    amount_sat: int | None
    amount_coins: str | None
    fiat: str | None = Field(description="What counts; null: a fee in satoshis on a day without a price.")
    needs_price: bool
    description: str
    detail: str


class DepreciationYear(BaseModel):
    year: int
    depreciation: str


class HardwareOut(BaseModel):
    id: int
    name: str
    cost: str
    salvage: str
    life_months: int
    in_service: str
    schedule: list[DepreciationYear]
    depreciation: str | None = Field(default=None, description="The asked year's depreciation.")


class DisposalOut(BaseModel):
    id: int
    time: str
    date: str
    amount_sat: int
    amount: str
    proceeds: str
    fee: str
    txid: str | None
    description: str


class SourceTotal(BaseModel):
    count: int
    amount_sat: int
    fmv: str


class MonthTotal(BaseModel):
    month: str
    amount_sat: int
    fmv: str


class IncomeSummary(BaseModel):
    total: str
    amount_sat: int
    amount: str
    count: int
    needs_price: list[int] = Field(description="Ids of income entries without a value (not in the total).")
    by_source: dict[str, SourceTotal]
    by_month: list[MonthTotal]


class HardwareDepreciation(BaseModel):
    id: int
    name: str
    depreciation: str


class ExpenseSummary(BaseModel):
    total: str
    by_category: dict[str, str]
    depreciation: str
    depreciation_by_hardware: list[HardwareDepreciation]


class GainPartOut(BaseModel):
    disposal_id: int
    disposed: str
    income_id: int
    acquired: str
    amount_sat: int
    amount: str
    proceeds: str
    fee: str
    basis: str | None
    gain: str | None
    term: str = Field(description="short or long.")
    needs_price: bool


class GainSummary(BaseModel):
    short: str
    long: str
    total: str
    proceeds: str
    basis: str
    disposals: int
    parts: list[GainPartOut]


class ReportOut(BaseModel):
    year: int
    method: str
    jurisdiction: SettingsOut
    note: str
    currency: str
    coin: str
    income: IncomeSummary
    expenses: ExpenseSummary
    gains: GainSummary
    net: str = Field(description="Income + gains − expenses − depreciation.")
    warnings: list[str]
