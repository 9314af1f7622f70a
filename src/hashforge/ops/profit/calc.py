"""The profitability calculator: pure functions over Decimal and integer satoshis, no I/O.

Expected coins per day = H x 86400 x R / (D x 2^48 / 0xFFFF), with H the hash rate (H/s), R the
block reward (subsidy + average fees, satoshis) and D the network difficulty: a block needs a hash
under target = diff1_target / D, so D x 2^48 / 0xFFFF hashes on average (about D x 2^32). This
holds for scrypt chains too (Litecoin's difficulty is relative to the same diff1 target).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from decimal import Context, Decimal, localcontext
from itertools import pairwise
from typing import Any

from .units import COIN, InputError

PRECISION = 50
DAY_S = 86400
HOURS = 24
MONTH_DAYS = Decimal("30.4375")  # 365.25 / 12
MAX_MONTHS = 240


def _ctx() -> Context:
    return Context(prec=PRECISION)


@dataclass(frozen=True)
class Inputs:
    """Everything one calculation needs; money in fiat Decimal, rewards in satoshis."""

    hashrate_hps: Decimal
    power_w: Decimal
    difficulty: Decimal
    subsidy_sat: int
    fees_sat: int = 0
    price: Decimal = Decimal(0)
    electricity: Decimal = Decimal(0)
    pool_fee_pct: Decimal = Decimal(0)
    hardware_cost: Decimal | None = None

    def __post_init__(self) -> None:
        checks: list[tuple[str, Decimal | int | None, bool]] = [
            ("hashrate", self.hashrate_hps, False), ("power", self.power_w, False),
            ("difficulty", self.difficulty, True), ("subsidy", self.subsidy_sat, False),
            ("fees", self.fees_sat, False), ("price", self.price, False),
            ("electricity", self.electricity, False), ("pool_fee", self.pool_fee_pct, False),
            ("hardware_cost", self.hardware_cost, False),
        ]
        for name, value, positive in checks:
            if value is None:
                continue
            d = Decimal(value)
            if not d.is_finite():
                raise InputError(name, f"{value} is not a finite number")
            if positive and d <= 0:
                raise InputError(name, f"must be greater than zero (got {value})")
            if d < 0:
                raise InputError(name, f"must not be negative (got {value})")
        if self.pool_fee_pct > 100:
            raise InputError("pool_fee", f"must be at most 100 (got {self.pool_fee_pct})")

    @property
    def reward_sat(self) -> int:
        return self.subsidy_sat + self.fees_sat


@dataclass(frozen=True)
class Result:
    """Figures per day unless named otherwise. None where the figure does not exist (e.g. a
    break-even price with no coins mined, break-even days when the rig never pays back)."""

    hashes_per_block: Decimal
    blocks_per_day: Decimal
    gross_sat_per_day: Decimal
    pool_fee_sat_per_day: Decimal
    sat_per_day: Decimal
    coins_per_day: Decimal
    revenue_per_day: Decimal
    energy_kwh_per_day: Decimal
    cost_per_day: Decimal
    profit_per_day: Decimal
    profit_per_month: Decimal
    profit_per_year: Decimal
    margin_pct: Decimal | None
    break_even_electricity: Decimal | None
    break_even_price: Decimal | None
    break_even_days: Decimal | None
    efficiency_j_per_th: Decimal | None


def hashes_per_block(difficulty: Decimal) -> Decimal:
    """D x 2^48 / 0xFFFF: the expected number of hashes to find a block at difficulty D."""
    with localcontext(_ctx()):
        return difficulty * Decimal(2**48) / Decimal(0xFFFF)


def calculate(i: Inputs) -> Result:
    with localcontext(_ctx()):
        hpb = hashes_per_block(i.difficulty)
        blocks = i.hashrate_hps * DAY_S / hpb
        gross = blocks * i.reward_sat
        fee = gross * i.pool_fee_pct / 100
        net = gross - fee
        coins = net / COIN
        revenue = coins * i.price
        kwh = i.power_w * HOURS / 1000
        cost = kwh * i.electricity
        profit = revenue - cost
        return Result(
            hashes_per_block=hpb,
            blocks_per_day=blocks,
            gross_sat_per_day=gross,
            pool_fee_sat_per_day=fee,
            sat_per_day=net,
            coins_per_day=coins,
            revenue_per_day=revenue,
            energy_kwh_per_day=kwh,
            cost_per_day=cost,
            profit_per_day=profit,
            profit_per_month=profit * MONTH_DAYS,
            profit_per_year=profit * 365,
            margin_pct=profit / revenue * 100 if revenue > 0 else None,
            break_even_electricity=revenue / kwh if kwh > 0 else None,
            break_even_price=cost / coins if coins > 0 else None,
            break_even_days=(i.hardware_cost / profit
                             if i.hardware_cost is not None and profit > 0 else None),
            efficiency_j_per_th=i.power_w / (i.hashrate_hps / Decimal(10) ** 12) if i.hashrate_hps > 0 else None,
        )


@dataclass(frozen=True)
class Chain:
    """Where the chain is, for projections: the next block's height and how halvings fall."""

    height: int  # the current tip; the next block is height + 1
    halving_interval: int = 210_000
    block_time_s: int = 600
    initial_subsidy_sat: int = 50 * COIN

    def subsidy_at(self, height: int) -> int:
        halvings = height // self.halving_interval
        return 0 if halvings >= 64 else self.initial_subsidy_sat >> halvings

    @property
    def next_halving_height(self) -> int:
        return ((self.height + 1) // self.halving_interval + 1) * self.halving_interval

    def days_until(self, height: int) -> Decimal:
        with localcontext(_ctx()):
            return Decimal(height - (self.height + 1)) * self.block_time_s / DAY_S


@dataclass(frozen=True)
class Month:
    month: int
    start_day: Decimal
    difficulty: Decimal
    subsidy_sat: int  # at the month's start
    sat: Decimal
    revenue: Decimal
    cost: Decimal
    profit: Decimal
    cumulative_profit: Decimal
    halving: bool  # a halving falls in this month


@dataclass(frozen=True)
class Projection:
    months: list[Month]
    growth_pct: Decimal
    next_halving_height: int
    next_halving_day: Decimal
    total_profit: Decimal
    payback_month: int | None  # first month whose cumulative profit covers the hardware cost
    notes: list[str] = field(default_factory=list)


def project(i: Inputs, chain: Chain, months: int, growth_pct: Decimal) -> Projection:
    """Month by month (365.25/12 days each): difficulty grows by `growth_pct` a month (compounded,
    applied at each month's start), the subsidy halves on the day the halving height is expected at
    the chain's target block time; price, fees and electricity stay as given."""
    if not 1 <= months <= MAX_MONTHS:
        raise InputError("months", f"must be between 1 and {MAX_MONTHS} (got {months})")
    if not growth_pct.is_finite() or growth_pct <= -100:
        raise InputError("growth", f"must be a finite percentage above -100 (got {growth_pct})")
    with localcontext(_ctx()):
        rows: list[Month] = []
        cumulative = Decimal(0)
        payback: int | None = None
        factor = 1 + growth_pct / 100
        kwh = i.power_w * HOURS / 1000
        share = 1 - i.pool_fee_pct / 100
        total_days = MONTH_DAYS * months
        # (day, subsidy from then on) for every halving inside the projection
        days: list[Decimal] = []
        subsidies: list[int] = []
        h = chain.next_halving_height
        while (d := chain.days_until(h)) < total_days and (not subsidies or subsidies[-1] > 0):
            days.append(d)
            subsidies.append(i.subsidy_sat >> len(days))  # the given subsidy halves at each halving
            h += chain.halving_interval
        first = i.subsidy_sat

        def subsidy_from(day: Decimal) -> int:
            n = bisect_right(days, day)
            return subsidies[n - 1] if n else first

        for m in range(months):
            start, end = MONTH_DAYS * m, MONTH_DAYS * (m + 1)
            difficulty = i.difficulty * factor**m
            hpb = hashes_per_block(difficulty)
            inside = [d for d in days if start < d < end]
            points = [start, *inside, end]
            sat = Decimal(0)
            for a, b in pairwise(points):
                sat += i.hashrate_hps * DAY_S * (b - a) * (subsidy_from(a) + i.fees_sat) / hpb
            sat *= share
            revenue = sat / COIN * i.price
            cost = kwh * MONTH_DAYS * i.electricity
            profit = revenue - cost
            cumulative += profit
            if payback is None and i.hardware_cost is not None and cumulative >= i.hardware_cost:
                payback = m + 1
            rows.append(Month(month=m + 1, start_day=start, difficulty=difficulty, subsidy_sat=subsidy_from(start),
                              sat=sat, revenue=revenue, cost=cost, profit=profit, cumulative_profit=cumulative,
                              halving=bool(inside)))
        return Projection(
            months=rows, growth_pct=growth_pct, next_halving_height=chain.next_halving_height,
            next_halving_day=chain.days_until(chain.next_halving_height), total_profit=cumulative,
            payback_month=payback,
        )


def profit_at_electricity(i: Inputs, prices: list[Decimal]) -> list[tuple[Decimal, Decimal]]:
    """(electricity price, profit per day) for each price: the profit-vs-electricity curve."""
    r = calculate(i)
    with localcontext(_ctx()):
        return [(p, r.revenue_per_day - r.energy_kwh_per_day * p) for p in prices]


def sig(value: Decimal | None, digits: int = 12) -> str | None:
    """A Decimal as plain text (no exponent) rounded to `digits` significant digits."""
    if value is None:
        return None
    if value == 0:
        return "0"
    with localcontext(Context(prec=digits)):
        rounded = +value
    text = format(rounded, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def to_json(obj: Any) -> Any:
    """Dataclasses, lists and Decimals to JSON-ready values (Decimals as text, never floats)."""
    if hasattr(obj, "__dataclass_fields__"):
        return {k: to_json(v) for k, v in asdict(obj).items()}
    if isinstance(obj, dict):
        return {k: to_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_json(v) for v in obj]
    if isinstance(obj, Decimal):
        return sig(obj)
    return obj
