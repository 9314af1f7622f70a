"""Coin selection: branch-and-bound for a changeless match, single random draw and largest-first
as fallbacks; the result with the least waste wins (Bitcoin Core's SelectCoins, simplified).

Pure functions over `Candidate`s: no database, no node.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from .policy import FeeRate

T = TypeVar("T")
BNB_MAX_TRIES = 100_000
LONG_TERM_FEE_RATE = FeeRate(10_000)  # what spending an output later is assumed to cost


@dataclass(frozen=True)
class Candidate(Generic[T]):
    """A spendable output: its value and the weight of the input that spends it."""

    coin: T
    value: int
    input_weight: int

    def fee(self, rate: FeeRate) -> int:
        return rate.fee_weight(self.input_weight)

    def effective_value(self, rate: FeeRate) -> int:
        return self.value - self.fee(rate)


@dataclass(frozen=True)
class Selection(Generic[T]):
    chosen: tuple[Candidate[T], ...]
    algorithm: str
    waste: int
    with_change: bool

    @property
    def total(self) -> int:
        return sum(c.value for c in self.chosen)


@dataclass(frozen=True)
class SelectionParams:
    """`target` = outputs + fee of everything but the inputs (and without a change output)."""

    target: int
    fee_rate: FeeRate
    change_output_fee: int  # fee of adding the change output at `fee_rate`
    change_spend_fee: int  # fee of spending the change later at the long-term rate
    min_change: int  # smallest change worth creating (at least the dust threshold)
    long_term_fee_rate: FeeRate = LONG_TERM_FEE_RATE

    @property
    def cost_of_change(self) -> int:
        return self.change_output_fee + self.change_spend_fee


def _waste(chosen: Sequence[Candidate[T]], p: SelectionParams, with_change: bool) -> int:
    w = sum(c.fee(p.fee_rate) - c.fee(p.long_term_fee_rate) for c in chosen)
    if with_change:
        return w + p.cost_of_change
    return w + sum(c.effective_value(p.fee_rate) for c in chosen) - p.target


def branch_and_bound(pool: Sequence[Candidate[T]], p: SelectionParams) -> Selection[T] | None:
    """Depth-first search for inputs whose effective value lands in [target, target + cost of
    change], so no change output is needed; least waste among the matches (Core's
    SelectCoinsBnB: inputs by descending effective value, include-branch first)."""
    cands = sorted((c for c in pool if c.effective_value(p.fee_rate) > 0),
                   key=lambda c: c.effective_value(p.fee_rate), reverse=True)
    values = [c.effective_value(p.fee_rate) for c in cands]
    waste = [c.fee(p.fee_rate) - c.fee(p.long_term_fee_rate) for c in cands]
    feerate_high = p.fee_rate > p.long_term_fee_rate
    upper = p.target + p.cost_of_change
    available = sum(values)
    if available < p.target:
        return None
    cur_value = cur_waste = 0
    selection: list[int] = []
    best: list[int] | None = None
    best_waste = 0
    index = 0
    for _ in range(BNB_MAX_TRIES):
        backtrack = False
        if (cur_value + available < p.target or cur_value > upper
                or (best is not None and feerate_high and cur_waste > best_waste)):
            backtrack = True
        elif cur_value >= p.target:
            w = cur_waste + cur_value - p.target
            if best is None or w <= best_waste:
                best, best_waste = list(selection), w
            backtrack = True
        if backtrack:
            if not selection:
                break  # every branch explored
            index -= 1
            while index > selection[-1]:  # give the omitted inputs back to the lookahead
                available += values[index]
                index -= 1
            cur_value -= values[index]
            cur_waste -= waste[index]
            selection.pop()  # now try the branch that omits it
        else:
            available -= values[index]
            if not (selection and selection[-1] != index - 1 and values[index] == values[index - 1]
                    and waste[index] == waste[index - 1]):
                selection.append(index)  # (an equal twin of an omitted input is skipped)
                cur_value += values[index]
                cur_waste += waste[index]
        index += 1
    if best is None:
        return None
    chosen = tuple(cands[j] for j in best)
    return Selection(chosen, "bnb", _waste(chosen, p, False), False)


def _accumulate(order: Sequence[Candidate[T]], p: SelectionParams, name: str) -> Selection[T] | None:
    need = p.target + p.change_output_fee + p.min_change
    chosen: list[Candidate[T]] = []
    total = 0
    for c in order:
        ev = c.effective_value(p.fee_rate)
        if ev <= 0:
            continue
        chosen.append(c)
        total += ev
        if total >= need:
            return Selection(tuple(chosen), name, _waste(chosen, p, True), True)
    if total >= p.target:  # enough without change (the excess goes to the fee)
        return Selection(tuple(chosen), name, _waste(chosen, p, False), False)
    return None


def single_random_draw(pool: Sequence[Candidate[T]], p: SelectionParams, rng: random.Random) -> Selection[T] | None:
    order = list(pool)
    rng.shuffle(order)
    return _accumulate(order, p, "srd")


def largest_first(pool: Sequence[Candidate[T]], p: SelectionParams) -> Selection[T] | None:
    return _accumulate(sorted(pool, key=lambda c: c.value, reverse=True), p, "largest-first")


def select_coins(
    pool: Sequence[Candidate[T]], p: SelectionParams, rng: random.Random | None = None
) -> Selection[T] | None:
    """The least-waste selection among BnB, SRD and largest-first; None if the pool is short."""
    rng = rng or random.Random()
    results = [r for r in (branch_and_bound(pool, p), single_random_draw(pool, p, rng), largest_first(pool, p)) if r]
    if not results:
        return None
    return min(results, key=lambda r: (r.waste, len(r.chosen)))
