"""Allocation arithmetic (pure): one period's farm earnings -> each active contract's share, less fees.

For a period [start, end) with farm earnings E (sats) and measured farm hash rate H:
    active_i = overlap of the contract's [start, end) (cut at cancellation) with the period
    w_i      = hashrate_i x active_i / (end - start)        time-averaged contracted rate
    share_i  = w_i / max(H, sum w)                          capped: the shares never sum past 1
    gross_i  = floor(E x share_i)                           the rounding remainder stays with the operator
    fee_i    = min(gross_i, floor(gross_i x pct / 100) + floor(fee_per_day x active_i / 86400))
    net_i    = gross_i - fee_i
Exact rational arithmetic (floats are dyadic, so Fraction(x) is exact): the same inputs always give
the same sats, and sum(net) <= sum(gross) <= E.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

DAY = 86400


@dataclass(frozen=True)
class Terms:
    """What allocation needs of a contract."""

    id: int
    address: str
    hashrate: int  # H/s
    start: float
    end: float  # already cut at cancellation
    fee_sat_per_day: int = 0
    fee_percent: Decimal = Decimal(0)


@dataclass(frozen=True)
class Allocation:
    contract_id: int
    address: str
    active_seconds: float
    share: Fraction
    hashes: float  # share x H x period length: the farm's work this contract is credited with
    gross: int
    fee: int

    @property
    def net(self) -> int:
        return self.gross - self.fee


def active_seconds(t: Terms, start: float, end: float) -> Fraction:
    lo, hi = max(Fraction(start), Fraction(t.start)), min(Fraction(end), Fraction(t.end))
    return hi - lo if hi > lo else Fraction(0)


def allocate(earned: int, start: float, end: float, farm_hashrate: float, terms: Iterable[Terms]) -> list[Allocation]:
    """One period's allocation; one entry per contract active in it (net may be 0), by contract id."""
    length = Fraction(end) - Fraction(start)
    if length <= 0:
        return []
    active = [(t, a) for t in sorted(terms, key=lambda t: t.id) if (a := active_seconds(t, start, end)) > 0]
    weights = [Fraction(t.hashrate) * a / length for t, a in active]
    denominator = max(Fraction(max(farm_hashrate, 0.0)), sum(weights, Fraction(0)))
    out = []
    for (t, a), w in zip(active, weights, strict=True):
        share = w / denominator if denominator > 0 else Fraction(0)
        gross = math.floor(max(earned, 0) * share)
        pct = Fraction(t.fee_percent) / 100
        fee = min(gross, math.floor(gross * pct) + math.floor(t.fee_sat_per_day * a / DAY))
        hashes = float(share * Fraction(max(farm_hashrate, 0.0)) * length)
        out.append(Allocation(t.id, t.address, float(a), share, hashes, gross, fee))
    return out
