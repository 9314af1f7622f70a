"""The profitability calculator: hand-checked cases, projections across a halving, property tests
(profit monotone in price and hash rate, decreasing in electricity price), lenient units, presets."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashforge.ops.profit import (
    CalcRequest,
    Chain,
    InputError,
    Inputs,
    build,
    calculate,
    hashes_per_block,
    project,
    units,
)
from hashforge.ops.profit import presets as presets_mod
from hashforge.ops.profit.calc import MONTH_DAYS, sig
from hashforge.ops.profit.presets import PresetError
from hashforge.ops.profit.service import compare

S21: dict[str, Any] = dict(hashrate_hps=Decimal("200e12"), power_w=Decimal(3500))


def approx(value: Decimal | None, expected: str, places: int) -> None:
    assert value is not None
    assert abs(value - Decimal(expected)) < Decimal(1).scaleb(-places), (value, expected)


def test_s21_hand_checked() -> None:
    """200 TH/s at difficulty 1.1e14, 3.125 BTC, $95,000, $0.08/kWh, 2 % pool fee, $5,000 hardware.

    hashes/block = 1.1e14 x 2^48/65535 = 1.1e14 x 4,295,032,833.0000153 = 4.7245361163e23
    blocks/day   = 200e12 x 86,400 / 4.7245361163e23 = 3.6575019e-5
    gross sat    = 3.6575019e-5 x 312,500,000 = 11,429.6936 sat/day; after 2 %: 11,201.0997
    revenue      = 0.000112010997 BTC x $95,000 = $10.6410447
    electricity  = 3.5 kW x 24 h x $0.08 = $6.72;  profit = $3.9210447/day
    margin       = 3.9210447 / 10.6410447 = 36.848 %
    break-even   electricity 10.6410447 / 84 kWh = $0.126679/kWh; price 6.72 / 0.000112010997 = $59,994.11;
                 hardware 5,000 / 3.9210447 = 1,275.17 days
    """
    r = calculate(Inputs(**S21, difficulty=Decimal("1.1e14"), subsidy_sat=312_500_000, price=Decimal(95_000),
                         electricity=Decimal("0.08"), pool_fee_pct=Decimal(2), hardware_cost=Decimal(5000)))
    # 1.1e14 x 4,295,032,833 = 4.7245361163e23, plus 1.1e14 x 1/65535 = 1,678,492,408.6
    approx(r.hashes_per_block, "472453611630001678492408.6", 0)
    approx(r.blocks_per_day, "0.0000365750194", 12)
    approx(r.gross_sat_per_day, "11429.6936", 3)
    approx(r.sat_per_day, "11201.0997", 3)
    approx(r.revenue_per_day, "10.6410447", 6)
    assert r.energy_kwh_per_day == 84 and r.cost_per_day == Decimal("6.72")
    approx(r.profit_per_day, "3.9210447", 6)
    approx(r.margin_pct, "36.848", 3)
    approx(r.break_even_electricity, "0.126679", 6)
    approx(r.break_even_price, "59994.11", 2)
    approx(r.break_even_days, "1275.17", 2)
    assert r.efficiency_j_per_th == Decimal("17.5")


def test_exact_case_one_block_a_day() -> None:
    """H = 2^48 H/s at D = 65535 x 86400: hashes/block = 86400 x 2^48, so exactly one block a day.
    Reward 3.125 + 0.025 = 315,000,000 sat; 1 % pool fee -> 311,850,000 sat = 3.1185 coins;
    x $10,000 = $31,185; 1 kW x 24 h x $0.25 = $6; profit $31,179; 311,790 of hardware = 10 days."""
    r = calculate(Inputs(hashrate_hps=Decimal(2**48), power_w=Decimal(1000), difficulty=Decimal(65535 * 86400),
                         subsidy_sat=312_500_000, fees_sat=2_500_000, price=Decimal(10_000),
                         electricity=Decimal("0.25"), pool_fee_pct=Decimal(1), hardware_cost=Decimal(311_790)))
    assert r.hashes_per_block == 86400 * 2**48
    assert r.blocks_per_day == 1
    assert r.gross_sat_per_day == 315_000_000 and r.pool_fee_sat_per_day == 3_150_000
    assert r.sat_per_day == 311_850_000 and r.coins_per_day == Decimal("3.1185")
    assert r.revenue_per_day == 31_185 and r.cost_per_day == 6 and r.profit_per_day == 31_179
    assert r.break_even_electricity == Decimal("1299.375")  # 31,185 / 24 kWh
    assert r.break_even_days == 10
    assert r.profit_per_year == 31_179 * 365 and r.profit_per_month == 31_179 * MONTH_DAYS


def test_hashes_per_block_is_about_d_times_2_pow_32() -> None:
    assert hashes_per_block(Decimal(65535)) == 2**48
    ratio = hashes_per_block(Decimal(1)) / 2**32  # 2^48 / 0xFFFF / 2^32 = 65536 / 65535
    assert abs(ratio - Decimal(65536) / Decimal(65535)) < Decimal("1e-40")


def test_figures_that_do_not_exist_are_none() -> None:
    r = calculate(Inputs(hashrate_hps=Decimal(0), power_w=Decimal(0), difficulty=Decimal(1), subsidy_sat=0))
    assert r.margin_pct is None and r.break_even_electricity is None and r.break_even_price is None
    assert r.efficiency_j_per_th is None and r.break_even_days is None
    losing = calculate(Inputs(**S21, difficulty=Decimal("1.5e14"), subsidy_sat=312_500_000, price=Decimal(10_000),
                              electricity=Decimal("0.2"), hardware_cost=Decimal(3000)))
    assert losing.profit_per_day < 0 and losing.break_even_days is None


@pytest.mark.parametrize(("field", "kwargs"), [
    ("difficulty", {"difficulty": Decimal(0)}),
    ("difficulty", {"difficulty": Decimal(-1)}),
    ("power", {"power_w": Decimal(-5)}),
    ("price", {"price": Decimal("NaN")}),
    ("electricity", {"electricity": Decimal("Infinity")}),
    ("pool_fee", {"pool_fee_pct": Decimal(101)}),
    ("hashrate", {"hashrate_hps": Decimal(-1)}),
])
def test_impossible_inputs_name_the_field(field: str, kwargs: dict[str, Decimal]) -> None:
    base: dict[str, object] = dict(**S21, difficulty=Decimal(1), subsidy_sat=1)
    base.update(kwargs)
    with pytest.raises(InputError) as info:
        Inputs(**base)  # type: ignore[arg-type]
    assert info.value.field == field


# --- projection ---------------------------------------------------------------------------------

ONE_A_DAY: dict[str, Any] = dict(hashrate_hps=Decimal(2**48), power_w=Decimal(1000), difficulty=Decimal(65535 * 86400))


def test_projection_halving_mid_month_and_growth() -> None:
    """One block a day; the halving is 2,160 blocks (15 days at 10 min) away. Month 1: 15 days at
    50 BTC + 15.4375 days at 25 BTC = 113,593,750,000 sat. Month 2 (difficulty doubled): 30.4375 x
    25 BTC / 2 = 38,046,875,000 sat. Price $1/BTC, no electricity cost."""
    chain = Chain(height=210_000 - 2160 - 1)
    assert chain.next_halving_height == 210_000 and chain.days_until(210_000) == 15
    p = project(Inputs(**ONE_A_DAY, subsidy_sat=50 * 10**8, price=Decimal(1)), chain, 3, Decimal(100))
    m1, m2, m3 = p.months
    assert m1.sat == 113_593_750_000 and m1.halving and m1.subsidy_sat == 50 * 10**8
    assert m2.sat == 38_046_875_000 and not m2.halving and m2.subsidy_sat == 25 * 10**8
    assert m2.difficulty == 2 * m1.difficulty and m3.difficulty == 4 * m1.difficulty
    assert m3.sat == m2.sat / 2
    assert p.next_halving_day == 15
    assert m1.revenue == Decimal("1135.9375") and p.total_profit == m1.profit + m2.profit + m3.profit


def test_projection_payback_month() -> None:
    """Flat difficulty, no halving in reach: $31,179/day profit (the exact case) is $949,010.8125
    a month; $2,000,000 of hardware is paid back in month 3 (cumulative 2,847,032.4375)."""
    i = Inputs(**ONE_A_DAY, subsidy_sat=312_500_000, fees_sat=2_500_000, price=Decimal(10_000),
               electricity=Decimal("0.25"), pool_fee_pct=Decimal(1), hardware_cost=Decimal(2_000_000))
    p = project(i, Chain(height=0), 4, Decimal(0))
    assert [m.profit for m in p.months] == [Decimal("949010.8125")] * 4
    assert p.payback_month == 3 and p.months[2].cumulative_profit == Decimal("2847032.4375")


def test_projection_bad_months_and_growth() -> None:
    i = Inputs(**ONE_A_DAY, subsidy_sat=1)
    with pytest.raises(InputError, match="months"):
        project(i, Chain(0), 0, Decimal(0))
    with pytest.raises(InputError, match="growth"):
        project(i, Chain(0), 12, Decimal(-100))


# --- properties -----------------------------------------------------------------------------------

def _dec(lo: str, hi: str, places: int = 4) -> st.SearchStrategy[Decimal]:
    return st.decimals(Decimal(lo), Decimal(hi), places=places, allow_nan=False, allow_infinity=False)


inputs = st.builds(
    Inputs, hashrate_hps=_dec("1", "1e18", 0), power_w=_dec("0", "10000", 1), difficulty=_dec("0.001", "1e15", 3),
    subsidy_sat=st.integers(1, 50 * 10**8), fees_sat=st.integers(0, 10**8), price=_dec("0", "1e6", 2),
    electricity=_dec("0", "2", 4), pool_fee_pct=_dec("0", "99", 2),
)


@settings(max_examples=150, deadline=None)
@given(inputs, _dec("0.01", "1e5", 2))
def test_profit_increases_with_price(i: Inputs, more: Decimal) -> None:
    higher = calculate(Inputs(**{**i.__dict__, "price": i.price + more}))
    assert higher.profit_per_day > calculate(i).profit_per_day


@settings(max_examples=150, deadline=None)
@given(inputs, _dec("1", "1e17", 0))
def test_profit_increases_with_hashrate(i: Inputs, more: Decimal) -> None:
    base = calculate(i)
    higher = calculate(Inputs(**{**i.__dict__, "hashrate_hps": i.hashrate_hps + more}))
    if i.price > 0:
        assert higher.profit_per_day > base.profit_per_day
    else:
        assert higher.profit_per_day == base.profit_per_day


@settings(max_examples=150, deadline=None)
@given(inputs, _dec("0.0001", "1", 4))
def test_profit_decreases_with_electricity_price(i: Inputs, more: Decimal) -> None:
    base = calculate(i)
    dearer = calculate(Inputs(**{**i.__dict__, "electricity": i.electricity + more}))
    if i.power_w > 0:
        assert dearer.profit_per_day < base.profit_per_day
    else:
        assert dearer.profit_per_day == base.profit_per_day


@settings(max_examples=100, deadline=None)
@given(inputs)
def test_break_even_figures_zero_the_profit(i: Inputs) -> None:
    r = calculate(i)
    if r.break_even_electricity is not None:
        at = calculate(Inputs(**{**i.__dict__, "electricity": r.break_even_electricity}))
        assert abs(at.profit_per_day) <= abs(r.revenue_per_day) * Decimal("1e-30") + Decimal("1e-30")
    if r.break_even_price is not None:
        at = calculate(Inputs(**{**i.__dict__, "price": r.break_even_price}))
        assert abs(at.profit_per_day) <= r.cost_per_day * Decimal("1e-30") + Decimal("1e-30")


# --- units ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "hps"), [
    ("200TH/s", "200e12"), ("200 TH", "200e12"), ("200th/s", "200e12"), ("9.5 GH/s", "9.5e9"), ("1.2e12", "1.2e12"),
    ("1,000 H/s", "1000"), ("3 MH", "3e6"), ("1.5 PH/s", "1.5e15"), ("750khps", "750e3"),
])
def test_hashrate_units(text: str, hps: str) -> None:
    assert units.hashrate("hashrate", text) == Decimal(hps)


def test_other_units() -> None:
    assert units.power("power", "3.5kW") == 3500 and units.power("power", "18 W") == 18
    assert units.scaled("difficulty", "110T") == Decimal("1.1e14") == units.scaled("difficulty", "1.1e14")
    assert units.money("price", "$95,000") == 95_000 and units.money("price", "95k") == 95_000
    assert units.money("electricity", "$0.08/kWh") == Decimal("0.08")
    assert units.percent("pool_fee", "2%") == 2 == units.percent("pool_fee", "2")
    assert units.percent("growth", "-1.5%", allow_negative=True) == Decimal("-1.5")
    assert units.coins_to_sat("subsidy", "3.125") == 312_500_000 and units.coins_to_sat("fees", "0.02 BTC") == 2_000_000


@pytest.mark.parametrize(("fn", "text", "message"), [
    (lambda t: units.hashrate("hashrate", t), "fast", "cannot read 'fast'"),
    (lambda t: units.power("power", t), "-5W", "must not be negative"),
    (lambda t: units.scaled("difficulty", t, positive=True), "0", "greater than zero"),
    (lambda t: units.money("price", t), "nan", "not a finite number"),
    (lambda t: units.money("price", t), "inf", "not a finite number"),
    (lambda t: units.percent("pool_fee", t), "120%", "at most 100"),
    (lambda t: units.coins_to_sat("subsidy", t), "0.000000001", "more than 8 decimal places"),
])
def test_bad_units(fn: object, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        fn(text)  # type: ignore[operator]


def test_sig_has_no_exponent() -> None:
    assert sig(Decimal("1.1e14")) == "110000000000000"
    assert sig(Decimal("0.000000000012345678901234")) == "0.0000000000123456789012"
    assert sig(Decimal("2.50")) == "2.5" and sig(None) is None


# --- presets, building, comparison -----------------------------------------------------------------

def test_builtin_presets() -> None:
    p = presets_mod.builtin()
    s21, pro, bitaxe, l7, cpu = (p.hardware[k] for k in ("s21", "s21-pro", "bitaxe-gamma", "l7", "cpu"))
    assert (s21.hashrate_hps, s21.power_w) == (Decimal("200e12"), Decimal(3500))
    assert (pro.hashrate_hps, pro.power_w) == (Decimal("234e12"), Decimal(3531))
    assert (bitaxe.hashrate_hps, bitaxe.power_w) == (Decimal("1.2e12"), Decimal(18))
    assert (l7.algorithm, l7.hashrate_hps, l7.power_w) == ("scrypt", Decimal("9.5e9"), Decimal(3425))
    assert cpu.measured and cpu.algorithm == "sha256d"
    assert not p.coins["eth"].mineable and "proof of stake" in p.coins["eth"].note
    assert p.coins["btc"].subsidy_sat == 312_500_000 and p.coins["ltc"].algorithm == "scrypt"


def test_user_presets_extend_and_override(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text('[hardware.s21]\npower = "3300 W"\n\n[hardware.garage]\nname = "Garage rig"\nalgorithm = "scrypt"\n'
                 'hashrate = "1 GH/s"\npower = "500 W"\n\n[coins.btc]\nprice_usd = "100000"\n')
    p = presets_mod.load(f)
    assert p.hardware["s21"].power_w == 3300 and p.hardware["s21"].hashrate_hps == Decimal("200e12")
    assert p.hardware["garage"].source == str(f) and p.hardware["garage"].algorithm == "scrypt"
    assert p.coins["btc"].price_usd == 100_000 and p.coins["btc"].difficulty == Decimal("1.5e14")


@pytest.mark.parametrize(("text", "message"), [
    ("[hardware.x]\nname = 'x'\nalgorithm = 'ethash'\nhashrate = '1 TH/s'\npower = '1 W'\n", r"\[hardware.x\]: algorithm"),
    ("[hardware.x]\nname = 'x'\nalgorithm = 'sha256d'\nhashrate = '1 TH/s'\npower = '-1 W'\n", r"\[hardware.x\].power"),
    ("[hardware.x]\nname = 'x'\nalgorithm = 'sha256d'\nhashrate = '1 TH/s'\npower = '1 W'\nspeed = 3\n", "unknown field"),
    ("[coins.y]\nname = 'Y'\nsymbol = 'Y'\nalgorithm = 'scrypt'\ndifficulty = '0'\n", r"\[coins.y\].difficulty"),
    ("[gadgets.z]\n", "unknown table"),
    ("[hardware.x\n", "not valid TOML"),
])
def test_bad_presets_name_file_and_entry(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(PresetError, match=message) as info:
        presets_mod.load(f)
    assert str(f) in str(info.value)


def test_build_sources_and_reference_defaults() -> None:
    r = build(CalcRequest(preset="s21", price="95000"), presets_mod.builtin())
    assert r.sources["hashrate"] == "preset s21" and r.sources["price"] == "user"
    assert r.sources["difficulty"].startswith("reference BTC") and r.inputs.difficulty == Decimal("1.5e14")
    assert r.sources["electricity"].startswith("default") and r.inputs.electricity == Decimal("0.10")
    scrypt = build(CalcRequest(preset="l7"), presets_mod.builtin())
    assert scrypt.sources["difficulty"].startswith("reference LTC") and scrypt.chain.block_time_s == 150
    with pytest.raises(InputError) as info:
        build(CalcRequest(preset="s21", coin="ltc"), presets_mod.builtin())
    assert info.value.field == "coin"
    with pytest.raises(InputError, match="proof of stake"):
        build(CalcRequest(preset="s21", coin="eth"), presets_mod.builtin())
    with pytest.raises(InputError) as info:
        build(CalcRequest(hashrate="1TH/s"), presets_mod.builtin())
    assert info.value.field == "power"


def test_cpu_preset_uses_the_benchmark() -> None:
    calls: list[str] = []

    def bench(algo: str) -> Decimal:
        calls.append(algo)
        return Decimal("2.5e6")

    r = build(CalcRequest(preset="cpu"), presets_mod.builtin(), bench=bench)
    assert calls == ["sha256d"] and r.inputs.hashrate_hps == Decimal("2.5e6")
    assert r.sources["hashrate"].startswith("measured now")


def test_compare_puts_only_mineable_coins_first() -> None:
    p = presets_mod.builtin()
    rows = compare(p, "scrypt", Decimal("9.5e9"), Decimal(3425), Decimal("0.05"), Decimal(0))
    mineable = [r.coin.key for r in rows if r.mineable]
    assert set(mineable) == {"ltc", "doge"}
    assert rows[0].result is not None and rows[1].result is not None
    assert rows[0].result.profit_per_day >= rows[1].result.profit_per_day
    reasons = {r.coin.key: r.reason for r in rows if not r.mineable}
    assert "sha256d machine" in reasons["btc"] and "proof of stake" in reasons["eth"]
