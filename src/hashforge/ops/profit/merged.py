"""Merged-mining revenue: one machine's hashes earning on a parent chain and its auxiliary chains
at once (Litecoin + Dogecoin for a scrypt machine), each figure labelled with its coin.

Merged mining (AuxPoW) checks the same parent-header hash against every chain's own target, so
each chain pays what solo mining it alone would: H x 86400 x R_c / (D_c x 2^48 / 0xFFFF) of coin c
per day, at that chain's difficulty D_c and reward R_c. The revenues add; the electricity is paid
once. Pure functions over Decimal and integer satoshis, like `calc`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext

from .calc import HOURS, MONTH_DAYS, PRECISION, Inputs, calculate
from .units import COIN, InputError


@dataclass(frozen=True)
class ChainInputs:
    """One chain of a merged operation: its coin's ticker, difficulty, reward and price."""

    coin: str  # ticker: LTC, DOGE
    difficulty: Decimal
    subsidy_sat: int
    fees_sat: int = 0
    price: Decimal = Decimal(0)


@dataclass(frozen=True)
class ChainRevenue:
    """What one chain pays per day (after the pool fee), in its own coin and in fiat."""

    coin: str
    difficulty: Decimal
    subsidy_sat: int
    fees_sat: int
    price: Decimal
    blocks_per_day: Decimal
    sat_per_day: Decimal
    coins_per_day: Decimal
    revenue_per_day: Decimal
    revenue_share_pct: Decimal | None  # of the operation's total revenue


@dataclass(frozen=True)
class MergedResult:
    chains: list[ChainRevenue]  # the parent first
    revenue_per_day: Decimal
    energy_kwh_per_day: Decimal
    cost_per_day: Decimal
    profit_per_day: Decimal
    profit_per_month: Decimal
    profit_per_year: Decimal
    merged_gain_per_day: Decimal  # what the auxiliary chains add to the parent's revenue


def merged(hashrate_hps: Decimal, power_w: Decimal, electricity: Decimal, pool_fee_pct: Decimal,
           chains: Sequence[ChainInputs]) -> MergedResult:
    """Per-chain and total figures for `chains` (parent first) mined together by one machine."""
    if not chains:
        raise InputError("merge", "a merged calculation needs at least one chain")
    tickers = [c.coin.upper() for c in chains]
    if len(set(tickers)) != len(tickers):
        raise InputError("merge", f"each chain may be merged once (got {', '.join(tickers)})")
    with localcontext(Context(prec=PRECISION)):
        results = [
            calculate(Inputs(hashrate_hps=hashrate_hps, power_w=power_w, difficulty=c.difficulty,
                             subsidy_sat=c.subsidy_sat, fees_sat=c.fees_sat, price=c.price,
                             pool_fee_pct=pool_fee_pct))
            for c in chains
        ]
        total = sum((r.revenue_per_day for r in results), Decimal(0))
        rows = [
            ChainRevenue(coin=c.coin.upper(), difficulty=c.difficulty, subsidy_sat=c.subsidy_sat,
                         fees_sat=c.fees_sat, price=c.price, blocks_per_day=r.blocks_per_day,
                         sat_per_day=r.sat_per_day, coins_per_day=r.sat_per_day / COIN,
                         revenue_per_day=r.revenue_per_day,
                         revenue_share_pct=r.revenue_per_day / total * 100 if total > 0 else None)
            for c, r in zip(chains, results, strict=True)
        ]
        kwh = power_w * HOURS / 1000
        cost = kwh * electricity
        profit = total - cost
        return MergedResult(chains=rows, revenue_per_day=total, energy_kwh_per_day=kwh, cost_per_day=cost,
                            profit_per_day=profit, profit_per_month=profit * MONTH_DAYS, profit_per_year=profit * 365,
                            merged_gain_per_day=total - results[0].revenue_per_day)
