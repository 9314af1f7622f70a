"""Edge models of /v1/ops/profit. Fiat, hash rates, difficulty and rates are decimal strings (never
floats, 12 significant digits), rewards integer satoshis."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HardwareRef(_Model):
    key: str
    name: str
    algorithm: str


class ProfitInputs(_Model):
    hashrate_hps: Decimal
    power_w: Decimal
    difficulty: Decimal
    subsidy_sat: int = Field(ge=0, description="Block subsidy of the next block.")
    fees_sat: int = Field(ge=0, description="Average fees per block.")
    price_usd: Decimal = Field(description="Coin price.")
    electricity_usd_per_kwh: Decimal
    pool_fee_pct: Decimal
    hardware_cost_usd: Decimal | None


class ProfitFigures(_Model):
    """Per day unless named otherwise; null where a figure does not exist."""

    hashes_per_block: Decimal = Field(description="D x 2^48 / 0xFFFF.")
    blocks_per_day: Decimal = Field(description="Expected blocks this hash rate finds per day.")
    gross_sat_per_day: Decimal
    pool_fee_sat_per_day: Decimal
    sat_per_day: Decimal = Field(description="After the pool fee; an expectation, so fractional.")
    coins_per_day: Decimal
    revenue_per_day: Decimal
    energy_kwh_per_day: Decimal
    cost_per_day: Decimal
    profit_per_day: Decimal
    profit_per_month: Decimal = Field(description="Per 365.25/12 days.")
    profit_per_year: Decimal
    margin_pct: Decimal | None
    break_even_electricity: Decimal | None = Field(description="USD/kWh at which profit is zero.")
    break_even_price: Decimal | None = Field(description="Coin price at which profit is zero.")
    break_even_days: Decimal | None = Field(description="Days to pay back the hardware; null if never.")
    efficiency_j_per_th: Decimal | None


class ProjectionMonth(_Model):
    month: int = Field(ge=1)
    start_day: Decimal
    difficulty: Decimal
    subsidy_sat: int = Field(ge=0)
    sat: Decimal
    revenue: Decimal
    cost: Decimal
    profit: Decimal
    cumulative_profit: Decimal
    halving: bool = Field(description="A halving falls in this month.")


class Projection(_Model):
    months: list[ProjectionMonth]
    growth_pct: Decimal = Field(description="Difficulty growth per month, compounded.")
    next_halving_height: int
    next_halving_day: Decimal
    total_profit: Decimal
    payback_month: int | None
    notes: list[str]


class ChainInfo(_Model):
    height: int
    halving_interval: int
    block_time_s: int


class Live(_Model):
    source: str
    chain: str
    algorithm: str
    height: int = Field(ge=0)
    difficulty: Decimal
    subsidy_sat: int = Field(ge=0, description="Of the next block.")
    fees_sat: int | None = Field(description="Average totalfee (getblockstats) of the last fee_blocks blocks.")
    fee_blocks: int
    halving_interval: int
    block_time_s: int


class MergedChain(_Model):
    coin: str = Field(description="Ticker of this chain's coin figures (LTC, DOGE).")
    difficulty: Decimal
    subsidy_sat: int = Field(ge=0)
    fees_sat: int = Field(ge=0)
    price: Decimal = Field(description="USD per coin.")
    blocks_per_day: Decimal
    sat_per_day: Decimal = Field(description="In this chain's base unit, after the pool fee.")
    coins_per_day: Decimal
    revenue_per_day: Decimal
    revenue_share_pct: Decimal | None


class MergedFigures(_Model):
    """Merged mining: the same hashes earn on the parent and each auxiliary chain at its own difficulty."""

    chains: list[MergedChain] = Field(description="The parent chain first.")
    revenue_per_day: Decimal
    energy_kwh_per_day: Decimal
    cost_per_day: Decimal
    profit_per_day: Decimal
    profit_per_month: Decimal
    profit_per_year: Decimal
    merged_gain_per_day: Decimal = Field(description="What the auxiliary chains add to the parent's revenue.")
    sources: dict[str, str] = Field(description="Where each auxiliary-chain input came from.")


class ProfitReport(_Model):
    coin: str = Field(description="Ticker of the coin figures in `result` and `inputs` (BTC, LTC, DOGE).")
    merged: MergedFigures | None = Field(default=None, description="With `merge`: per-coin merged revenue.")
    hardware: HardwareRef | None
    algorithm: str
    inputs: ProfitInputs
    sources: dict[str, str] = Field(description="Where each input came from: user, preset, node, reference, default.")
    result: ProfitFigures
    chain: ChainInfo
    live: Live | None
    projection: Projection
    notes: list[str]


class HardwarePreset(_Model):
    key: str
    name: str
    algorithm: str
    hashrate_hps: Decimal | None = Field(description="null: measured by `hashforge bench` when used.")
    measured: bool
    power_w: Decimal
    cost_usd: Decimal | None
    note: str
    source: str = Field(description="builtin, or the user file it came from.")


class CoinPreset(_Model):
    key: str
    name: str
    symbol: str
    algorithm: str
    mineable: bool
    block_time_s: int
    subsidy_sat: int
    fees_sat: int
    halving_interval: int
    height: int
    difficulty: Decimal | None
    price_usd: Decimal | None
    as_of: str
    note: str
    source: str


class PresetList(_Model):
    hardware: list[HardwarePreset]
    coins: list[CoinPreset]


class CompareCoin(_Model):
    coin: str
    name: str
    symbol: str
    algorithm: str
    mineable: bool = Field(description="Whether this hardware can mine it (and whether it is mineable at all).")
    reason: str
    as_of: str = Field(description="When the coin's reference figures were taken.")
    result: ProfitFigures | None


class Comparison(_Model):
    algorithm: str
    hashrate_hps: Decimal
    power_w: Decimal
    coins: list[CompareCoin]


class LiveInputs(_Model):
    live: Live
    measured_hashrate_hps: Decimal | None = Field(description="Our pool's (else our miner's) hash rate now.")
    measured_source: str | None
