"""Contract accounting on a real SQLite pool database with a scripted farm (books.py): allocation
sums per period, the operator's remainder, fees, start/expiry/cancel boundaries, orphans, PPS."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from hashforge.pool.config import Scheme
from hashforge.pool.contracts import ContractConflict, ContractError, Sale, book
from hashforge.pool.contracts import farm as farms

from .books import CUST_A, CUST_B, DAY, FARM_HPS, OP, Farmland, valid

H = 3600.0
PPLNS_OP = 74_250_000  # 1 BTC less the 1 % fee, x 150/200 of the PPLNS window (OP 15, M 5 per minute)


def _allocs(land: Farmland) -> dict[tuple[int, int], tuple[int, int, int]]:
    """(block height, contract id) -> (gross, fee, net)."""
    rows = land.q("SELECT b.height, a.contract_id, a.gross, a.fee, a.net FROM contract_allocations a "
                  "JOIN contract_periods p ON p.id = a.period_id JOIN blocks b ON b.id = p.block_id")
    return {(h, c): (g, f, n) for h, c, g, f, n in rows}


def _ledger_by_block(land: Farmland) -> dict[int, int]:
    return dict(land.q("SELECT block_id, sum(amount) FROM credits GROUP BY block_id"))


def test_allocation_sums_and_operator_remainder(tmp_path: Path) -> None:
    land = Farmland.create(tmp_path)
    t0 = land.t0
    land.block(t0)  # warm-up period: nothing sold yet
    a = land.sell(t0, FARM_HPS // 4, 2)  # 25 % of the farm, t0 .. t0+48h
    b = land.sell(t0, FARM_HPS // 2, 1, CUST_B, "bob", start=t0 + 6 * H)  # 50 %, t0+6h .. t0+30h
    assert a["state"] == "active" and b["state"] == "pending"
    for hours in (12, 36, 60, 72):
        land.block(t0 + hours * H)
    before = _ledger_by_block(land)
    assert land.allocate() == 5
    assert land.allocate() == 0  # idempotent: every credit is allocated once
    earned = dict(land.q(f"SELECT b.height, c.amount FROM credits c JOIN blocks b ON b.id = c.block_id "
                         f"WHERE c.address = '{OP}' AND c.kind = 'block'"))
    assert set(earned.values()) == {PPLNS_OP}
    e = PPLNS_OP
    got = _allocs(land)
    # 12h period: A full (1/4); B 6 of 12 h at 1/2 -> 1/4.  36h: A 1/4, B 18 of 24 h -> 3/8.
    # 60h: A until 48h -> 12 of 24 h -> 1/8; B expired.  72h: nothing active.
    assert got == {
        (12, a["id"]): (e // 4, 0, e // 4), (12, b["id"]): (e // 4, 0, e // 4),
        (13, a["id"]): (e // 4, 0, e // 4), (13, b["id"]): (e * 3 // 8, 0, e * 3 // 8),
        (14, a["id"]): (e // 8, 0, e // 8),
    }
    periods = land.q("SELECT p.earned, p.allocated, p.farm_hashrate, b.height FROM contract_periods p "
                     "JOIN blocks b ON b.id = p.block_id ORDER BY p.id")
    for earned_p, allocated, farm_hps, height in periods:
        assert earned_p == e and allocated == sum(n for (h, _), (_, _, n) in got.items() if h == height)
        assert allocated <= earned_p
        if height > 11:
            assert farm_hps == pytest.approx(FARM_HPS, rel=1e-12)
    # the ledger only moves money: per block, the credits still sum to what the block credited
    assert _ledger_by_block(land) == before
    land.confirm_all()
    total_a = e // 4 + e // 4 + e // 8
    total_b = e // 4 + e * 3 // 8
    assert land.balance(CUST_A)["payable"] == total_a
    assert land.balance(CUST_B)["payable"] == total_b
    assert land.balance(OP)["payable"] == 5 * e - total_a - total_b  # reduced by exactly what was allocated
    with land.engine.connect() as conn:
        view = book.get(conn, a["id"], now=t0 + 72 * H)
        assert view["state"] == "expired" and view["earned_sat"] == total_a and view["immature_sat"] == 0
        # the farm ran at its measured rate throughout: the contract got exactly what it bought
        assert view["delivered_hps"] == pytest.approx(FARM_HPS // 4, rel=1e-9)
        assert view["accrued_seconds"] == pytest.approx(48 * H)
        audit = book.periods(conn)
        assert sum(p["operator_sat"] for p in audit) == 5 * e - total_a - total_b


def test_capping_when_the_farm_under_delivers(tmp_path: Path) -> None:
    land = Farmland.create(tmp_path)
    t0 = land.t0
    land.block(t0)
    a = land.sell(t0, FARM_HPS // 2, 2)
    b = land.sell(t0, FARM_HPS // 2, 2, CUST_B, "bob")
    land.block(t0 + 12 * H, op_diff=3.75)  # the farm drops to a quarter of its rate; sold: 100 % of the old rate
    land.allocate()
    got = _allocs(land)
    e = int(land.q(f"SELECT amount FROM credits WHERE address = '{OP}' AND kind = 'block' ORDER BY id DESC")[0][0])
    # capped: the two contracts split 100 % (1/2 each), never more than what was mined
    assert got[(12, a["id"])][2] + got[(12, b["id"])][2] == e
    assert got[(12, a["id"])][2] == e // 2


def test_maintenance_fees_are_deducted_and_kept_by_the_operator(tmp_path: Path) -> None:
    land = Farmland.create(tmp_path)
    t0 = land.t0
    land.block(t0)
    a = land.sell(t0, FARM_HPS // 4, 2, fee_sat_per_day=1_000_000, fee_percent="2.5")
    b = land.sell(t0, FARM_HPS // 4, 2, CUST_B, "bob", fee_sat_per_day=10**12)  # fee above earnings
    land.block(t0 + 12 * H)
    land.allocate()
    e = PPLNS_OP
    gross = e // 4
    fee_a = gross * 25 // 1000 + 500_000  # 2.5 % + half a day of 1,000,000 sat/day
    got = _allocs(land)
    assert got[(12, a["id"])] == (gross, fee_a, gross - fee_a)
    assert got[(12, b["id"])] == (gross, gross, 0)  # a fee never takes more than the period's gross
    land.confirm_all()
    assert land.balance(CUST_A)["payable"] == gross - fee_a
    assert land.balance(CUST_B)["payable"] == 0
    assert land.balance(OP)["payable"] == 2 * e - (gross - fee_a)
    [(fees, allocated)] = land.q("SELECT fees, allocated FROM contract_periods WHERE block_id = 2")
    assert fees == fee_a + gross and allocated == gross - fee_a


def test_start_expiry_and_cancel_boundaries(tmp_path: Path) -> None:
    land = Farmland.create(tmp_path)
    t0 = land.t0
    land.block(t0)
    ends_at_block = land.sell(t0, FARM_HPS // 8, 1)  # ends exactly at t0+24h
    starts_at_block = land.sell(t0, FARM_HPS // 8, 1, CUST_B, "bob", start=t0 + 24 * H)
    cancelled = land.sell(t0, FARM_HPS // 8, 2, CUST_A, "carol")
    with land.engine.begin() as conn:
        assert book.cancel(conn, cancelled["id"], now=t0 + 6 * H)["state"] == "cancelled"
        with pytest.raises(ContractConflict, match="cancelled already"):
            book.cancel(conn, cancelled["id"], now=t0 + 7 * H)
    land.block(t0 + 24 * H)
    land.block(t0 + 48 * H)
    land.allocate()
    e = PPLNS_OP
    got = _allocs(land)
    assert got[(12, ends_at_block["id"])][2] == e // 8  # the whole first day, not a second more
    assert (13, ends_at_block["id"]) not in got
    assert (12, starts_at_block["id"]) not in got  # nothing before the start
    assert got[(13, starts_at_block["id"])][2] == e // 8
    assert got[(12, cancelled["id"])][2] == e // 8 // 4  # 6 h of 24, then nothing
    assert (13, cancelled["id"]) not in got
    with land.engine.connect() as conn:
        view = book.get(conn, cancelled["id"], now=t0 + 48 * H)
    assert view["state"] == "cancelled" and view["accrued_seconds"] == pytest.approx(6 * H)


def test_over_selling_is_refused(tmp_path: Path) -> None:
    land = Farmland.create(tmp_path)
    t0 = land.t0
    land.mine_until(t0)
    a = land.sell(t0, FARM_HPS // 2, 1)
    land.sell(t0, FARM_HPS // 2, 1, CUST_B, "bob", start=t0 + 3 * DAY)
    land.sell(t0, FARM_HPS // 2, 2, CUST_B, "bob", start=t0 + DAY / 2)  # overlaps A, not B
    with pytest.raises(ContractConflict, match="over-selling refused"):
        land.sell(t0, 1, 2, CUST_B, "dave", start=t0 + DAY / 2)
    with pytest.raises(ContractConflict, match="over-selling refused"):
        land.sell(t0, FARM_HPS // 2 + 1, 1)
    assert land.q("SELECT count(*) FROM contracts") == [(3,)]
    assert land.q("SELECT count(*) FROM contract_customers WHERE id = 'dave'") == [(0,)]  # nothing half-written
    with land.engine.begin() as conn:
        book.cancel(conn, a["id"], now=t0)
    land.sell(t0, 1, 2, CUST_B, "dave", start=t0 + DAY / 2)  # A's capacity is free again
    # an asserted capacity below the measured rate is the limit
    with land.engine.begin() as conn:
        farms.save(conn, farms.Farm((OP,), capacity_hps=FARM_HPS // 4))
        cap = book.capacity(conn, False, now=t0)
    assert cap["measured_hps"] == pytest.approx(FARM_HPS, rel=1e-12)
    assert cap["capacity_hps"] == FARM_HPS // 4 and cap["available_hps"] == 0
    with pytest.raises(ContractConflict, match="capacity is 268,435,456 H/s"):
        land.sell(t0 + 1, 10, 1, CUST_A, "erin", start=t0 + DAY)


def test_bad_sales_are_refused_with_one_line(tmp_path: Path) -> None:
    land = Farmland.create(tmp_path)
    land.mine_until(land.t0)
    cases = [
        (Sale("bad id!", "X", CUST_A, 10, 1), "customer id"),
        (Sale("x", "X", "nope", 10, 1), "not a valid address"),
        (Sale("x", "X", OP, 10, 1), "farm's own addresses"),
        (Sale("x", "X", CUST_A, 0, 1), "hash rate"),
        (Sale("x", "X", CUST_A, 10, 0), "days"),
        (Sale("x", "X", CUST_A, 10, 1, start_time=land.t0 - DAY), "past"),
    ]
    for sale, msg in cases:
        with land.engine.begin() as conn, pytest.raises(ContractError, match=msg) as info:
            book.sell(conn, sale, scrypt=False, valid_address=valid, now=land.t0)
        assert "\n" not in str(info.value)
    with land.engine.begin() as conn:
        farms.save(conn, farms.Farm(("x",)))
    with land.engine.begin() as conn, pytest.raises(ContractConflict, match="capacity is 0"):
        book.sell(conn, Sale("x", "X", CUST_A, 10, 1), scrypt=False, valid_address=valid, now=land.t0)
    assert land.q("SELECT count(*) FROM contracts") == [(0,)]


def test_orphaned_block_reverses_the_allocation(tmp_path: Path) -> None:
    land = Farmland.create(tmp_path)
    t0 = land.t0
    land.block(t0)
    a = land.sell(t0, FARM_HPS // 4, 2)
    lost = land.block(t0 + 12 * H)
    land.allocate()
    assert land.balance(CUST_A)["immature"] == PPLNS_OP // 4  # immature until the block confirms
    land.chain.hashes = {f.height: f.hash_hex for f in land.found if f is not lost}
    land.chain.hashes[lost.height] = "ff" * 32
    land.chain.tip = lost.height + 3
    asyncio.run(land.accountant.settle())
    assert land.balance(CUST_A) == {"payable": 0, "immature": 0, "paid": 0}
    with land.engine.connect() as conn:
        assert book.get(conn, a["id"], now=t0 + 13 * H)["reversed_sat"] == PPLNS_OP // 4


def test_pps_credits_are_periods_too(tmp_path: Path) -> None:
    land = Farmland.create(tmp_path, scheme=Scheme.PPS)
    t0 = land.t0
    land.mine_until(t0)
    a = land.sell(t0, FARM_HPS // 2, 5)
    land.mine_until(t0 + DAY)
    acc = land.accountant
    acc.credit_pps()
    time.sleep(0.01)
    land.mine_until(t0 + 2 * DAY)
    acc.credit_pps()
    assert land.allocate() == 2
    rows = land.q("SELECT p.earned, p.allocated, p.start_time, p.end_time FROM contract_periods p ORDER BY p.id")
    assert len(rows) == 2 and rows[0][3] <= rows[1][2] + 1e-6  # periods tile the timeline
    for earned, allocated, _, _ in rows:
        assert 0 < allocated <= earned
    paid_in = sum(r[1] for r in rows)
    assert land.balance(CUST_A)["payable"] == paid_in  # PPS credits are payable at once
    earned_total = sum(r[0] for r in rows)
    assert land.balance(OP)["payable"] == earned_total - paid_in
    with land.engine.connect() as conn:
        assert book.get(conn, a["id"], now=time.time())["earned_sat"] == paid_in


def test_concurrent_sales_cannot_both_pass_the_capacity_check(tmp_path: Path) -> None:
    land = Farmland.create(tmp_path)
    t0 = land.t0
    land.mine_until(t0)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def one(i: int) -> None:
        barrier.wait()
        try:
            land.sell(t0, FARM_HPS // 2 + 1, 1, CUST_A, f"c{i}")  # any two together over-sell
            outcomes.append("sold")
        except ContractConflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["refused", "refused", "refused", "sold"]
    assert land.q("SELECT count(*) FROM contracts") == [(1,)]
