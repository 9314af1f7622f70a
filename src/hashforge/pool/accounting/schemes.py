"""Payout-scheme arithmetic. Pure functions over integers and weights; no I/O, no coin facts.

- SOLO: nothing to split; the coinbase already paid the finder (less the fee output).
- PPLNS: the block's reward less the fee, split by difficulty over the last N share-difficulty
  units, N = factor x network difficulty at the block (ShareRepository.last_n_difficulty).
- PROP: the same split over the round: shares since the previous block.
- PPS: every share earns difficulty / network difficulty x block reward x (1 - fee) when it is
  accepted, paid from the pool's balance whatever the pool's luck; blocks go to the pool.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction


def fee_amount(reward: int, fee_percent: float) -> int:
    return reward * round(fee_percent * 10_000) // 1_000_000


def split_proportional(amount: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Splits `amount` satoshis by weight with the largest-remainder method: the parts are
    integers and sum to exactly `amount` (nothing is lost to rounding)."""
    positive = {k: Fraction(w) for k, w in weights.items() if w > 0}  # exact: floats are dyadic
    total = sum(positive.values(), Fraction(0))
    if amount <= 0 or total <= 0:
        return {}
    exact = {k: amount * w / total for k, w in positive.items()}
    parts = {k: math.floor(v) for k, v in exact.items()}
    left = amount - sum(parts.values())
    for k in sorted(exact, key=lambda k: (-(exact[k] - parts[k]), k))[:left]:
        parts[k] += 1
    return {k: v for k, v in parts.items() if v > 0}


def pplns_window(network_difficulty: float, factor: float) -> float:
    return network_difficulty * factor


def pps_values(difficulty: Mapping[str, float], network_difficulty: float, reward: int) -> dict[str, float]:
    """Expected values (satoshis, before fee) of share difficulty per address on a chain of this
    difficulty (in the same share units) and block reward."""
    if network_difficulty <= 0:
        return {}
    return {a: d / network_difficulty * reward for a, d in difficulty.items()}


def pps_credits(values: Mapping[str, float], fee_percent: float) -> dict[str, int]:
    """Expected values (satoshis before fee) -> integer credits after the fee (rounded down)."""
    keep = 1.0 - fee_percent / 100.0
    return {a: int(v * keep) for a, v in values.items() if int(v * keep) > 0}
