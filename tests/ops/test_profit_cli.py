"""`hashforge calc`, `calc presets`, `calc compare` in-process: --json figures, user presets files,
and one-line `error: ...` with exit 2 for bad input (nothing on stdout)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hashforge.cli import app


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["calc", *args])


def calc_json(*args: str) -> dict[str, Any]:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_issue_example_json() -> None:
    """The issue's example plus 0 fees: 11,429.69 sat gross, $3.92/day (see test_profit_calc)."""
    body = calc_json("--preset", "s21", "--difficulty", "1.1e14", "--price-usd", "95000", "--electricity", "0.08",
                     "--pool-fee", "2", "--subsidy", "3.125", "--fees", "0", "--hardware-cost", "5000",
                     "--months", "12", "--growth", "3%")
    res = body["result"]
    assert abs(Decimal(res["gross_sat_per_day"]) - Decimal("11429.6936")) < Decimal("0.001")
    assert abs(Decimal(res["profit_per_day"]) - Decimal("3.9210447")) < Decimal("0.000001")
    assert Decimal(res["break_even_days"]).quantize(Decimal("0.01")) == Decimal("1275.17")
    assert body["inputs"]["subsidy_sat"] == 312_500_000 and body["inputs"]["fees_sat"] == 0
    months = body["projection"]["months"]
    assert len(months) == 12 and Decimal(months[1]["difficulty"]) == Decimal("1.133e14")
    # profit per month falls as difficulty grows 3 % a month
    profits = [Decimal(m["profit"]) for m in months]
    assert profits == sorted(profits, reverse=True)
    assert body["sources"]["hashrate"] == "preset s21"


def test_hashrate_and_power_override_and_human_output() -> None:
    body = calc_json("--hashrate", "200TH/s", "--power", "3.5kW", "--difficulty", "110T", "--price-usd", "$95,000")
    assert Decimal(body["inputs"]["hashrate_hps"]) == Decimal("2e14") and Decimal(body["inputs"]["power_w"]) == 3500
    assert Decimal(body["inputs"]["difficulty"]) == Decimal("1.1e14") and body["hardware"] is None
    human = run("--preset", "bitaxe-gamma", "--price-usd", "95000", "--hardware-cost", "300", "--months", "3")
    assert human.exit_code == 0, human.output
    assert "Bitaxe Gamma" in human.stdout and "Break-even:" in human.stdout and "Projection: 3 months" in human.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--preset", "s21", "--difficulty", "0"], "error: --difficulty: must be greater than zero"),
    (["--preset", "s21", "--difficulty", "-3"], "error: --difficulty: must be greater than zero"),
    (["--hashrate", "1TH/s", "--power", "-10W"], "error: --power: must not be negative"),
    (["--preset", "s21", "--price-usd", "NaN"], "error: --price-usd: 'NaN' is not a finite number"),
    (["--preset", "s21", "--electricity", "cheap"], "error: --electricity: cannot read 'cheap'"),
    (["--preset", "s21", "--pool-fee", "101"], "error: --pool-fee: must be at most 100"),
    (["--preset", "s99"], "error: --preset: no hardware preset 's99'"),
    (["--hashrate", "1TH/s"], "error: --power: give the power draw"),
    (["--preset", "s21", "--months", "0"], "error: --months: must be between 1 and 240"),
    (["--preset", "s21", "--coin", "eth"], "error: --coin: Ethereum is not mineable"),
    (["--preset", "s21", "--presets", "/nonexistent/p.toml"], "error: --presets: /nonexistent/p.toml: no such file"),
])
def test_bad_input_one_line_exit_2(args: list[str], message: str) -> None:
    result = run(*args, "--json")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr


def test_presets_command_and_user_file(tmp_path: Path) -> None:
    listed = json.loads(run("presets", "--json").stdout)
    assert {h["key"] for h in listed["hardware"]} >= {"s21", "s21-pro", "bitaxe-gamma", "l7", "cpu"}
    user = tmp_path / "rigs.toml"
    user.write_text('[hardware.rig]\nname = "Rig"\nalgorithm = "sha256d"\nhashrate = "50 TH/s"\npower = "1 kW"\n')
    listed = json.loads(run("presets", "--presets", str(user), "--json").stdout)
    rig = next(h for h in listed["hardware"] if h["key"] == "rig")
    assert rig["source"] == str(user) and Decimal(rig["power_w"]) == 1000
    body = calc_json("--preset", "rig", "--presets", str(user), "--price-usd", "1")
    assert Decimal(body["inputs"]["hashrate_hps"]) == Decimal("5e13")
    ops = tmp_path / "ops"
    ops.mkdir()
    (ops / "presets.toml").write_text('[hardware.s21]\npower = "3000 W"\n')
    assert Decimal(calc_json("--preset", "s21", "--ops-dir", str(ops))["inputs"]["power_w"]) == 3000
    (ops / "presets.toml").write_text('[hardware.s21]\npower = "lots"\n')
    bad = run("--preset", "s21", "--ops-dir", str(ops))
    assert bad.exit_code == 2 and bad.stderr.startswith(f"error: {ops / 'presets.toml'}: [hardware.s21].power")


def test_compare_command() -> None:
    body = json.loads(run("compare", "--preset", "s21", "--electricity", "0.05", "--json").stdout)
    coins = {c["coin"]: c for c in body["coins"]}
    assert coins["btc"]["mineable"] and coins["bch"]["mineable"]
    assert not coins["ltc"]["mineable"] and "scrypt machine" in coins["ltc"]["reason"]
    assert not coins["eth"]["mineable"] and "proof of stake" in coins["eth"]["reason"]
    assert body["coins"][0]["mineable"] and body["coins"][1]["mineable"]
    human = run("compare", "--hashrate", "9.5GH/s", "--power", "3425W", "--algorithm", "scrypt")
    assert human.exit_code == 0 and "Litecoin" in human.stdout and "Ethereum" in human.stdout
    bad = run("compare", "--hashrate", "1TH/s", "--power", "1W", "--algorithm", "x11")
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --algorithm: must be one of sha256d, scrypt")


def test_cpu_preset_measures_this_machine() -> None:
    body = calc_json("--preset", "cpu", "--bench-seconds", "0.2", "--price-usd", "95000", "--months", "1")
    assert Decimal(body["inputs"]["hashrate_hps"]) > 0
    assert body["sources"]["hashrate"].startswith("measured now (hashforge bench")
    assert Decimal(body["inputs"]["power_w"]) == 65
