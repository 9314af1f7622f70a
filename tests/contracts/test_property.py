"""Property: for random contracts, periods and earnings, no customer is credited more than the
operator mined, and the sum of what contracts get never exceeds it (per period and in total)."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashforge.pool.contracts import ContractConflict, Terms, allocate, book

from .books import FARM_HPS, OP, OP_DIFF, Farmland, addr

CUSTOMERS = [addr(0xD00 + i) for i in range(4)]

times = st.floats(min_value=0, max_value=10 * 86400, allow_nan=False)


@st.composite
def contract(draw: st.DrawFn, i: int) -> Terms:
    start = draw(times)
    return Terms(
        id=i, address=f"c{draw(st.integers(0, 3))}", hashrate=draw(st.integers(1, 10**18)), start=start,
        end=start + draw(st.floats(min_value=0, max_value=5 * 86400, allow_nan=False)),
        fee_sat_per_day=draw(st.integers(0, 10**9)),
        fee_percent=draw(st.decimals(min_value=0, max_value=Decimal("99.99"), places=2)),
    )


@st.composite
def books_and_periods(draw: st.DrawFn) -> tuple[list[Terms], list[tuple[int, float, float, float]]]:
    n = draw(st.integers(0, 8))
    contracts = [draw(contract(i)) for i in range(1, n + 1)]
    cuts = sorted(draw(st.lists(times, min_size=2, max_size=8)))
    periods = [(draw(st.integers(0, 21 * 10**14)), a, b, draw(st.floats(min_value=0, max_value=1e19)))
               for a, b in itertools.pairwise(cuts)]
    return contracts, periods


@settings(max_examples=300, deadline=None)
@given(books_and_periods())
def test_nobody_gets_more_than_was_mined(data: tuple[list[Terms], list[tuple[int, float, float, float]]]) -> None:
    contracts, periods = data
    per_address: dict[str, int] = {}
    mined = 0
    for earned, start, end, farm_hps in periods:
        mined += earned
        parts = allocate(earned, start, end, farm_hps, contracts)
        assert sum(p.net for p in parts) <= sum(p.gross for p in parts) <= earned
        weights = {}
        for p in parts:
            assert 0 <= p.fee <= p.gross and 0 <= p.net <= earned
            assert 0 < p.active_seconds <= end - start
            weights[p.contract_id] = p.share
            per_address[p.address] = per_address.get(p.address, 0) + p.net
        assert sum(weights.values(), Fraction(0)) <= 1
        # below capacity each contract gets exactly floor(E x rate x active / (H x length))
        t = {c.id: c for c in contracts}

        def active(c: Terms, lo: float = start, hi: float = end) -> Fraction:
            return max(Fraction(0), min(Fraction(hi), Fraction(c.end)) - max(Fraction(lo), Fraction(c.start)))

        assert set(weights) == {c.id for c in contracts if active(c) > 0}
        total_w = sum((Fraction(c.hashrate) * active(c) for c in contracts), Fraction(0))
        length = Fraction(end) - Fraction(start)
        if parts and farm_hps > 0 and total_w / length <= Fraction(farm_hps):
            for p in parts:
                c = t[p.contract_id]
                assert p.gross == math.floor(Fraction(earned) * c.hashrate * active(c) / length / Fraction(farm_hps))
    assert all(v <= mined for v in per_address.values())
    assert sum(per_address.values()) <= mined


@st.composite
def scripts(draw: st.DrawFn) -> dict[str, Any]:
    sales = [(draw(st.integers(1, FARM_HPS // 2)), draw(st.integers(0, 47)), draw(st.integers(1, 2)),
              draw(st.integers(0, 10**7)), draw(st.sampled_from(["0", "1.5", "50"])), draw(st.booleans()))
             for _ in range(draw(st.integers(1, 4)))]
    blocks = sorted(set(draw(st.lists(st.integers(1, 60), min_size=1, max_size=4))))
    rates = [draw(st.sampled_from([OP_DIFF, OP_DIFF / 4, OP_DIFF * 2])) for _ in blocks]
    return {"sales": sales, "blocks": blocks, "rates": rates}


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
@given(scripts())
def test_ledger_never_credits_customers_more_than_the_farm_mined(tmp_path_factory: Any, script: dict[str, Any]) -> None:
    """The same property through the real allocator and ledger (SQLite), for random scripted books."""
    land = Farmland.create(tmp_path_factory.mktemp("prop"))
    t0 = land.t0
    land.block(t0)
    sold = []
    for i, (rate, start_h, days, fee_day, fee_pct, cancel) in enumerate(script["sales"]):
        try:
            c = land.sell(t0, rate, days, CUSTOMERS[i], f"c{i}", start=t0 + start_h * 3600,
                          fee_sat_per_day=fee_day, fee_percent=fee_pct)
        except ContractConflict:
            continue  # over capacity: refused, as it should be
        sold.append(c)
        if cancel:
            with land.engine.begin() as conn:
                book.cancel(conn, c["id"], now=t0 + (start_h + 5) * 3600)
    for hours, diff in zip(script["blocks"], script["rates"], strict=True):
        land.block(t0 + hours * 3600, op_diff=diff)
    land.allocate()
    land.confirm_all()
    mined = sum(v for (v,) in land.q(f"SELECT amount FROM credits WHERE address = '{OP}' AND kind = 'block'"))
    customers = {c["payout_address"] for c in sold}
    got = {a: land.balance(a)["payable"] for a in customers}
    assert all(0 <= v <= mined for v in got.values())
    assert sum(got.values()) <= mined
    assert land.balance(OP)["payable"] == mined - sum(got.values())  # every sat accounted for
    [(journal,)] = land.q("SELECT coalesce(sum(net), 0) FROM contract_allocations")
    assert journal == sum(got.values())
    land.engine.dispose()
