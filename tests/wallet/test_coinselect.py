"""Coin selection and transaction planning: BnB exactness, fallbacks, change never dust, fees."""

from __future__ import annotations

import hashlib
import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashforge.consensus.address import p2tr_script, p2wpkh_script
from hashforge.consensus.tx import OutPoint, TxOut
from hashforge.wallet.builder import estimate_weight, plan_transaction
from hashforge.wallet.coinselect import Candidate, SelectionParams, branch_and_bound, select_coins
from hashforge.wallet.errors import DustError, FeeRateError, InsufficientFundsError
from hashforge.wallet.keys import ScriptType
from hashforge.wallet.policy import FeeRate, dust_threshold
from hashforge.wallet.signer import Coin

RATE = FeeRate(5_000)
DEST = p2wpkh_script(b"\x11" * 20)
CHANGE = p2wpkh_script(b"\x22" * 20)


def _params(target: int) -> SelectionParams:
    return SelectionParams(target, RATE, change_output_fee=155, change_spend_fee=680, min_change=294)


def _coin(i: int, value: int, st_: ScriptType = ScriptType.P2WPKH) -> Coin:
    spk = p2wpkh_script(bytes([i % 256]) * 20) if st_ is ScriptType.P2WPKH else p2tr_script(bytes([i % 256]) * 32)
    return Coin(OutPoint(hashlib.sha256(b"%d" % i).digest(), 0), TxOut(value, spk), st_, b"\x02" + b"\x01" * 32, (0, i), b"\0" * 4)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(1_000, 300_000), min_size=1, max_size=9), st.integers(1_000, 600_000))
def test_bnb_finds_a_changeless_match_iff_one_exists(values: list[int], target: int) -> None:
    pool = [Candidate(i, v, 272) for i, v in enumerate(values)]
    p = _params(target)
    res = branch_and_bound(pool, p)
    positive = [c for c in pool if c.effective_value(RATE) > 0]
    exists = any(
        target <= sum(c.effective_value(RATE) for c in combo) <= target + p.cost_of_change
        for k in range(1, len(positive) + 1) for combo in itertools.combinations(positive, k)
    )
    assert (res is not None) == exists
    if res is not None:
        assert not res.with_change
        assert target <= sum(c.effective_value(RATE) for c in res.chosen) <= target + p.cost_of_change


def test_fallback_when_no_exact_match() -> None:
    pool = [Candidate(i, v, 272) for i, v in enumerate([1_000_000, 3_000_000, 7_000])]
    res = select_coins(pool, _params(1_500_000), random.Random(1))
    assert res is not None and res.algorithm in ("srd", "largest-first") and res.with_change
    assert select_coins(pool, _params(10_000_000)) is None


def test_plan_adds_change_and_pays_the_rate() -> None:
    coins = [_coin(i, 100_000 * (i + 1)) for i in range(5)]
    plan = plan_transaction(coins, [TxOut(250_000, DEST)], RATE, CHANGE, ScriptType.P2WPKH, locktime=7)
    tx = plan.tx
    assert sum(c.value for c in plan.coins) == tx.value_out() + plan.fee
    assert plan.fee >= RATE.fee(plan.estimated_vsize)
    assert tx.locktime == 7 and all(i.sequence == 0xFFFFFFFD for i in tx.vin)
    if plan.change_index is not None:
        assert tx.vout[plan.change_index].script_pubkey == CHANGE
        assert tx.vout[plan.change_index].value >= dust_threshold(CHANGE)


def test_no_dust_change() -> None:
    # inputs exceed outputs + fee by less than the dust threshold: the excess goes to the fee
    coin = _coin(1, 100_000)
    fee_no_change = RATE.fee((estimate_weight([ScriptType.P2WPKH], [TxOut(1, DEST)]) + 3) // 4)
    amount = 100_000 - fee_no_change - 200
    plan = plan_transaction([coin], [TxOut(amount, DEST)], RATE, CHANGE, ScriptType.P2WPKH)
    assert plan.change_index is None and len(plan.tx.vout) == 1
    assert plan.fee == 100_000 - amount


def test_taproot_inputs_are_cheaper() -> None:
    assert ScriptType.P2TR.input_weight < ScriptType.P2WPKH.input_weight
    plan = plan_transaction([_coin(1, 50_000, ScriptType.P2TR)], [TxOut(20_000, DEST)], RATE, CHANGE, ScriptType.P2WPKH)
    assert plan.coins[0].script_type is ScriptType.P2TR


def test_errors() -> None:
    with pytest.raises(DustError):
        plan_transaction([_coin(1, 10_000)], [TxOut(293, DEST)], RATE, CHANGE, ScriptType.P2WPKH)
    assert dust_threshold(p2tr_script(b"\x01" * 32)) == 330 and dust_threshold(DEST) == 294
    with pytest.raises(InsufficientFundsError, match="insufficient funds"):
        plan_transaction([_coin(1, 10_000)], [TxOut(9_990, DEST)], RATE, CHANGE, ScriptType.P2WPKH)
    with pytest.raises(FeeRateError):
        FeeRate.from_sat_per_vb("0.5")
    with pytest.raises(FeeRateError):
        FeeRate.from_sat_per_vb("nan")
    assert FeeRate.from_sat_per_vb("2.5").sat_per_kvb == 2_500


def test_preset_inputs_always_spent() -> None:
    preset = [_coin(9, 30_000)]
    plan = plan_transaction([_coin(1, 500_000)], [TxOut(100_000, DEST)], RATE, CHANGE, ScriptType.P2WPKH,
                            preset=preset, min_fee=5_000)
    assert plan.coins[0] == preset[0] and len(plan.coins) == 2 and plan.fee >= 5_000
