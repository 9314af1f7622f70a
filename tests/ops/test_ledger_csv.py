"""Imports and exports of the ledger: every malformed CSV is refused with file:line and the field,
leaving the database unchanged; re-imports never duplicate; the Koinly CSV has exactly its 12
columns; the generic CSV, the printable HTML and (with chromium) the PDF."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from hashforge.ops.ledger import CSVError, Ledger, LedgerError
from hashforge.ops.ledger import export as exports
from hashforge.ops.ledger.money import parse_btc, sat_to_coins

from .test_ledger_year import TX, noon, scripted_year

KOINLY = ["Date", "Sent Amount", "Sent Currency", "Received Amount", "Received Currency", "Fee Amount",
          "Fee Currency", "Net Worth Amount", "Net Worth Currency", "Label", "Description", "TxHash"]


def dump(ledger: Ledger) -> list[tuple[object, ...]]:
    """Every row of every ledger table: to prove a refused import wrote nothing."""
    con = sqlite3.connect(ledger.db.path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'ledger_%' ORDER BY name")]
        return [(t, *row) for t in tables for row in con.execute(f"SELECT * FROM {t} ORDER BY 1, 2")]
    finally:
        con.close()


@pytest.fixture()
def ledger(tmp_path: Path) -> Ledger:
    lg = Ledger(tmp_path / "ops")
    lg.import_prices("date,price\n2024-01-01,40000\n", "seed.csv")
    return lg


BAD_PRICES = [
    ("day,price\n2024-01-02,1\n", 1, "day", "unknown column"),
    ("date,value\n2024-01-02,1\n", 1, "value", "unknown column"),
    ("date\n2024-01-02\n", 1, "price", "missing column"),
    ("date,price,price\n2024-01-02,1,1\n", 1, "price", "column appears twice"),
    ("date,price\n2024-01-02,1\n2024-02-30,1\n", 3, "date", "must be a date"),
    ("date,price\n02/01/2024,1\n", 2, "date", "must be a date"),
    ("date,price\n2024-01-02,-5\n", 2, "price", "greater than zero"),
    ("date,price\n2024-01-02,0\n", 2, "price", "greater than zero"),
    ("date,price\n2024-01-02,abc\n", 2, "price", "must be a number"),
    ("date,price\n2024-01-02,NaN\n", 2, "price", "must be a number"),
    ("date,price\n2024-01-02,4e4\n", 2, "price", "must be a number"),
    ("date,price\n2024-01-02,\"1,234.5\"\n", 2, "price", "must be a number"),
    ("date,price\n2024-01-02,100\n2024-01-03,101\n2024-01-02,102\n", 4, "price", "duplicate dates must agree"),
    ("date,price\n2024-01-02,100,7\n", 2, None, "expected 2 fields"),
    ("date,price,currency\n2024-01-02,100,US\n", 2, "currency", "3-letter"),
    ("date,price\n2024-01-01,41000\n", 2, "price", "already recorded at 40000"),
    ("date,price\n", 1, None, "no price rows"),
    ("", 1, None, "empty file"),
]


@pytest.mark.parametrize(("text", "line", "field", "reason"), BAD_PRICES)
def test_malformed_price_csv_is_refused_whole(ledger: Ledger, text: str, line: int, field: str | None,
                                              reason: str) -> None:
    # a good row first: it must not be imported either
    before = dump(ledger)
    with pytest.raises(CSVError) as err:
        ledger.import_prices(text, "prices.csv")
    msg = str(err.value)
    assert msg.startswith(f"prices.csv:{line}" + (f": {field}" if field else "")), msg
    assert reason in msg
    assert "\n" not in msg
    assert dump(ledger) == before


def test_prices_gaps_duplicates_replace_and_idempotence(ledger: Ledger) -> None:
    text = "Date,Price,Currency\n2024-01-02,40100.5,usd\n2024-01-02,40100.50,USD\n2024-01-05,39000,\n"
    r = ledger.import_prices(text, "p.csv")
    assert (r.added, r.unchanged, r.replaced) == (2, 0, 0)
    assert [d.isoformat() for d in r.gaps] == ["2024-01-03", "2024-01-04"]
    again = ledger.import_prices(text, "p.csv")
    assert (again.added, again.unchanged) == (0, 2)
    assert ledger.prices()[date(2024, 1, 2)] == Decimal("40100.5")
    r = ledger.import_prices("date,price\n2024-01-05,39500\n", "fix.csv", replace=True)
    assert r.replaced == 1
    assert len(ledger.prices()) == 3


def test_income_on_a_day_without_price_needs_price(ledger: Ledger) -> None:
    ledger.add_income(noon("2024-01-01"), 25_000_000, "block", TX["A"])
    ledger.add_income(noon("2024-01-09"), 25_000_000, "pool", TX["B"])
    priced, unpriced = ledger.income()
    assert priced.fmv == Decimal("10000") and priced.fmv_source == "price"
    assert unpriced.fmv is None and unpriced.as_dict()["needs_price"] is True
    assert ledger.report(2024).income_total == Decimal("10000.00")  # never silently 0-valued into totals
    ledger.set_fmv(unpriced.id, Decimal("11000"))
    assert ledger.report(2024).income_total == Decimal("21000.00")
    ledger.import_prices("date,price\n2024-01-09,48000\n", "late.csv")
    assert ledger.income()[1].fmv == Decimal("11000") and ledger.income()[1].fmv_source == "manual"


INCOME_CSV = f"""date,txid,amount_sat,vout,fmv,description
2024-01-01T08:00:00Z,{TX['C']},1500000,0,,ext pool
2024-01-01 09:30:00 UTC,{TX['D']},250000,2,120.5,ext pool
"""


def test_income_csv_reimport_never_duplicates(ledger: Ledger) -> None:
    r = ledger.import_income_csv(INCOME_CSV, "pool.csv")
    assert (r.added, r.unchanged) == (2, 0)
    r = ledger.import_income_csv(INCOME_CSV, "pool.csv")
    assert (r.added, r.unchanged) == (0, 2)
    rows = ledger.income()
    assert [(i.txid, i.vout, i.amount_sat, i.source) for i in rows] == [
        (TX["C"], 0, 1_500_000, "pool"), (TX["D"], 2, 250_000, "pool")]
    assert rows[0].fmv == Decimal("600") and rows[1].fmv == Decimal("120.5")
    with pytest.raises(LedgerError, match="already recorded"):
        ledger.add_income(noon("2024-01-02"), 1, "pool", TX["C"], 0)


BAD_INCOME = [
    ("date,txid\n2024-01-01,{a}\n", 1, "amount_sat | amount_btc", "exactly one of"),
    ("date,txid,amount_sat,amount_btc\n2024-01-01,{a},1,1\n", 1, "amount_sat | amount_btc", "exactly one of"),
    ("date,txid,amount_sat,pool\n2024-01-01,{a},1,x\n", 1, "pool", "unknown column"),
    ("date,txid,amount_sat\n2024-01-01,{a},100\n2024-13-01,{b},100\n", 3, "date", "must be YYYY-MM-DD"),
    ("date,txid,amount_sat\n2024-01-01,xyz,100\n", 2, "txid", "64 hex digits"),
    ("date,txid,amount_sat\n2024-01-01,{a},-100\n", 2, "amount_sat", "whole number"),
    ("date,txid,amount_sat\n2024-01-01,{a},0\n", 2, "amount_sat", "between 1 and"),
    ("date,txid,amount_btc\n2024-01-01,{a},0.123456789\n", 2, "amount_btc", "more than 8 decimals"),
    ("date,txid,amount_sat,vout\n2024-01-01,{a},5,-1\n", 2, "vout", "whole number"),
    ("date,txid,amount_sat,source\n2024-01-01,{a},5,gift\n", 2, "source", "block or pool"),
    ("date,txid,amount_sat,fmv\n2024-01-01,{a},5,-3\n", 2, "fmv", "zero or more"),
    ("date,txid,amount_sat\n2024-01-01,{a},5\n2024-01-01,{a},6\n", 3, "txid", "other values"),
    ("date,txid,amount_sat\n2024-01-01,{c},5\n", 2, "txid", "already recorded with amount 1500000"),
]


@pytest.mark.parametrize(("text", "line", "field", "reason"), BAD_INCOME)
def test_malformed_income_csv_is_refused_whole(ledger: Ledger, text: str, line: int, field: str, reason: str) -> None:
    ledger.import_income_csv(INCOME_CSV, "pool.csv")
    before = dump(ledger)
    with pytest.raises(CSVError) as err:
        ledger.import_income_csv(text.format(a=TX["A"], b=TX["B"], c=TX["C"]), "ext.csv")
    msg = str(err.value)
    assert msg.startswith(f"ext.csv:{line}: {field}"), msg
    assert reason in msg
    assert dump(ledger) == before


def test_bad_entries_are_refused(ledger: Ledger) -> None:
    before = dump(ledger)
    with pytest.raises(LedgerError, match="salvage value must be between 0 and the cost"):
        ledger.add_hardware("rig", Decimal("100"), Decimal("200"), 36, noon_date("2024-01-01"))
    with pytest.raises(LedgerError, match="only pool fees may be entered in satoshis"):
        ledger.add_expense(noon_date("2024-01-01"), "other", amount_sat=5)
    with pytest.raises(LedgerError, match=r"power .* must be zero or more"):
        ledger.add_electricity(noon_date("2024-01-01"), Decimal("-1"), Decimal("1"), Decimal("1"))
    with pytest.raises(LedgerError, match="more than the 0 held"):
        ledger.add_disposal(noon("2024-01-01"), 1, Decimal("1"))
    with pytest.raises(LedgerError, match="source must be block or pool"):
        ledger.add_income(noon("2024-01-01"), 1, "gift")
    assert dump(ledger) == before


def noon_date(day: str) -> date:
    return date.fromisoformat(day)


def test_amounts_are_exact() -> None:
    assert sat_to_coins(1) == "0.00000001"
    assert sat_to_coins(2_100_000_000_000_000) == "21000000"
    assert sat_to_coins(312_500_001) == "3.12500001"
    assert parse_btc("3.12500001") == 312_500_001
    for sat in (1, 7, 99_999_999, 100_000_000, 123_456_789_012):
        assert parse_btc(sat_to_coins(sat)) == sat


def test_koinly_csv(tmp_path: Path) -> None:
    ledger = scripted_year(tmp_path / "ops")
    text = exports.koinly_csv(ledger.report(2024))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == KOINLY
    body = [dict(zip(KOINLY, r, strict=True)) for r in rows[1:]]
    assert len(body) == 6  # B, C, S1, D, S2, E (A was received in 2023)
    mining = [r for r in body if r["Label"] == "mining"]
    assert [(r["Date"], r["Received Amount"], r["Net Worth Amount"], r["TxHash"]) for r in mining] == [
        ("2024-01-10 12:00:00 UTC", "0.5", "20000.00", TX["B"]),
        ("2024-02-15 12:00:00 UTC", "0.2", "10000.00", TX["C"]),
        ("2024-06-01 12:00:00 UTC", "0.1", "3000.00", TX["D"]),
        ("2024-09-01 12:00:00 UTC", "0.01", "", TX["E"]),
    ]
    assert all(r["Received Currency"] == "BTC" and r["Sent Amount"] == "" for r in mining)
    assert "needs price" in mining[-1]["Description"]
    sales = [r for r in body if r["Label"] != "mining"]
    assert [(r["Date"], r["Sent Amount"], r["Sent Currency"], r["Received Amount"], r["Received Currency"],
             r["Fee Amount"], r["Fee Currency"]) for r in sales] == [
        ("2024-03-01 12:00:00 UTC", "0.6", "BTC", "36000", "USD", "60", "USD"),
        ("2024-08-01 12:00:00 UTC", "0.15", "BTC", "9000", "USD", "", ""),
    ]


def test_generic_csv_and_html(tmp_path: Path) -> None:
    ledger = scripted_year(tmp_path / "ops")
    r = ledger.report(2024, "hifo")
    rows = list(csv.DictReader(io.StringIO(exports.generic_csv(r))))
    kinds = [row["type"] for row in rows]
    assert kinds.count("income") == 4 and kinds.count("expense") == 4
    assert kinds.count("depreciation") == 1 and kinds.count("disposal") == 4
    gains = sum(Decimal(row["gain"]) for row in rows if row["type"] == "disposal")
    assert gains == Decimal("13440.00")
    fee = next(row for row in rows if row["category"] == "pool_fee")
    assert (fee["amount_sat"], fee["fiat"]) == ("200000", "100.00")
    html = exports.html_report(r)
    assert "not tax advice" in html and "<script" not in html
    assert html.count("<svg") == 2 and "Mining income by month, 2024 (USD)" in html
    assert "33,000.00" in html and "13,440.00" in html and "needs price" in html


@pytest.mark.slow
def test_pdf_export(tmp_path: Path) -> None:
    if exports.find_chromium() is None:
        pytest.skip("no chromium on PATH: PDF export cannot run here")
    ledger = scripted_year(tmp_path / "ops")
    pdf = exports.pdf_report(ledger.report(2024))
    assert pdf.startswith(b"%PDF-") and len(pdf) > 5_000


def test_pdf_without_chromium_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HASHFORGE_CHROMIUM", str(tmp_path / "no-such-chromium"))
    ledger = scripted_year(tmp_path / "ops")
    with pytest.raises(LedgerError, match="PDF export needs chromium"):
        exports.pdf_report(ledger.report(2024))
