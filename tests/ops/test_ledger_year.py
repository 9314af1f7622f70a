"""Acceptance: a scripted year (rewards, payouts, expenses with depreciation, two sales) gives the
hand-computed income, expenses and gains under FIFO, LIFO and HIFO.

The year (US rules, prices from prices.csv; every receipt at noon UTC):
  lot A 2023-03-01 block 1.0 BTC @ 20,000 -> FMV 20,000 (previous year: basis only)
  lot B 2024-01-10 block 0.5 BTC @ 40,000 -> 20,000
  lot C 2024-02-15 pool  0.2 BTC @ 50,000 -> 10,000
  lot D 2024-06-01 pool  0.1 BTC, no price, manual FMV 3,000 (30,000/BTC)
  lot E 2024-09-01 pool  0.01 BTC, no price -> "needs price", not in totals
  income 2024 = 20,000 + 10,000 + 3,000 = 33,000.00 (block 20,000; pool 13,000)
Expenses 2024: bill 250.00 + 3.5 kW × 720 h × 0.10 = 252.00 + pool fee 0.002 BTC @ 50,000 = 100.00
  + other 49.99 = 651.99. Depreciation: S21 (5,000 − 500) over 36 months from April 2024:
  9 months in 2024 -> 4,500 × 9/36 = 1,125.00; 2025: 1,500; 2026: 1,500; 2027: 375.
Sales: S1 2024-03-01 0.6 BTC for 36,000, fee 60; S2 2024-08-01 0.15 BTC for 9,000, fee 0.
FIFO: S1 <- A 0.6 (basis 12,000): 36,000 − 60 − 12,000 = 23,940, SHORT (held exactly one year:
        2023-03-01 -> 2024-03-01 is not *more* than a year).
      S2 <- A 0.15 of the 0.4 left (8,000 × 0.15/0.4 = 3,000): 9,000 − 3,000 = 6,000, LONG.
      short 23,940.00, long 6,000.00; net = 33,000 + 29,940 − 651.99 − 1,125 = 61,163.01
LIFO: S1 <- C 0.2 (10,000; proceeds 12,000, fee 20: 1,980) + B 0.4 (16,000; 24,000, fee 40: 7,960)
        = 9,940 short.
      S2 <- D 0.1 (3,000; proceeds 6,000: 3,000) + B 0.05 of the 0.1 left (4,000 × 0.5 = 2,000;
        3,000: 1,000) = 4,000 short.  short 13,940.00, long 0.
HIFO: unit costs A 20,000 < D 30,000 < B 40,000 < C 50,000 per BTC.
      S1 <- C 0.2 then B 0.4: as LIFO, 9,940 short.
      S2 <- B 0.1 (4,000; 6,000: 2,000) + D 0.05 (1,500; 3,000: 1,500) = 3,500 short.
      short 13,440.00, long 0.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from hashforge.ops.ledger import Ledger, LedgerError, OverDisposalError
from hashforge.ops.ledger.expenses import parse_life
from hashforge.ops.ledger.money import parse_date, parse_when

PRICES = """date,price
2023-03-01,20000
2024-01-10,40000
2024-02-15,50000
2024-02-15,50000
2024-03-01,60000
"""
TX = {name: (ch * 64) for name, ch in (("A", "a"), ("B", "b"), ("C", "c"), ("D", "d"), ("E", "e"))}
POOL_CSV = f"""date,txid,amount_btc,vout,source,description
2024-02-15T12:00:00Z,{TX['C']},0.2,0,pool,external pool payout
2024-06-01T12:00:00Z,{TX['D']},0.1,1,pool,external pool payout (manual FMV)
"""


def noon(day: str) -> int:
    return parse_when(f"{day}T12:00:00")


def scripted_year(ops_dir: Path) -> Ledger:
    ledger = Ledger(ops_dir)
    ledger.import_prices(PRICES, "prices.csv")
    ledger.add_income(noon("2023-03-01"), 100_000_000, "block", TX["A"], 0)
    ledger.add_income(noon("2024-01-10"), 50_000_000, "block", TX["B"], 0)
    ledger.import_income_csv(POOL_CSV, "pool.csv")
    [d] = [i for i in ledger.income() if i.txid == TX["D"]]
    ledger.set_fmv(d.id, Decimal("3000"))
    ledger.add_income(noon("2024-09-01"), 1_000_000, "pool", TX["E"], 0)  # no price that day
    ledger.add_expense(parse_date("2024-01-31"), "electricity", Decimal("250.00"), description="January bill")
    ledger.add_electricity(parse_date("2024-02-29"), Decimal("3.5"), Decimal("720"), Decimal("0.10"))
    ledger.add_expense(parse_date("2024-02-15"), "pool_fee", amount_sat=200_000, description="pool fee 1%")
    ledger.add_expense(parse_date("2024-05-01"), "other", Decimal("49.99"), description="shelf")
    ledger.add_hardware("Antminer S21", Decimal("5000"), Decimal("500"), parse_life("3y"), parse_date("2024-04-15"))
    ledger.add_disposal(noon("2024-03-01"), 60_000_000, Decimal("36000"), Decimal("60"), description="sale 1")
    ledger.add_disposal(noon("2024-08-01"), 15_000_000, Decimal("9000"), Decimal("0"), description="sale 2")
    return ledger


@pytest.fixture()
def ledger(tmp_path: Path) -> Ledger:
    return scripted_year(tmp_path / "ops")


def test_income_of_the_year(ledger: Ledger) -> None:
    r = ledger.report(2024, "fifo")
    assert r.income_total == Decimal("33000.00")
    by = r.income_by_source()
    assert by["block"]["fmv"] == Decimal("20000.00") and by["block"]["amount_sat"] == 50_000_000
    assert by["pool"]["fmv"] == Decimal("13000.00") and by["pool"]["amount_sat"] == 31_000_000
    months = {m["month"]: m["fmv"] for m in r.income_by_month()}
    assert months["2024-01"] == Decimal("20000.00") and months["2024-02"] == Decimal("10000.00")
    assert months["2024-06"] == Decimal("3000.00") and months["2024-09"] == Decimal("0.00")
    [e] = r.needs_price
    assert e.amount_sat == 1_000_000 and e.fmv is None
    assert any("1 income entry needs a price" in w for w in r.warnings())


def test_expenses_and_depreciation(ledger: Ledger) -> None:
    r = ledger.report(2024)
    assert r.expenses_by_category() == {"electricity": Decimal("502.00"), "pool_fee": Decimal("100.00"),
                                        "other": Decimal("49.99")}
    assert r.expenses_total == Decimal("651.99")
    assert r.depreciation_total == Decimal("1125.00")
    [hw] = ledger.hardware()
    assert hw.schedule() == [(2024, Decimal("1125.00")), (2025, Decimal("1500.00")), (2026, Decimal("1500.00")),
                             (2027, Decimal("375.00"))]
    assert ledger.report(2025).depreciation_total == Decimal("1500.00")
    assert ledger.years()[-3:] == [2025, 2024, 2023]  # 2025: depreciation only


@pytest.mark.parametrize(("method", "short", "long", "net"), [
    ("fifo", "23940.00", "6000.00", "61163.01"),
    ("lifo", "13940.00", "0", "45163.01"),
    ("hifo", "13440.00", "0", "44663.01"),
])
def test_gains_by_method(ledger: Ledger, method: str, short: str, long: str, net: str) -> None:
    r = ledger.report(2024, method)
    assert r.gain("short") == Decimal(short)
    assert r.gain("long") == Decimal(long)
    assert r.net == Decimal(net)
    d = r.as_dict()
    assert d["gains"]["short"] == str(r.gain("short")) and d["net"] == str(r.net)
    assert sum(g.amount_sat for g in r.year_gains) == 75_000_000  # 0.6 + 0.15 BTC, split over lots


def test_lifo_parts(ledger: Ledger) -> None:
    parts = [(g.amount_sat, g.proceeds, g.fee, g.basis, g.gain, g.term) for g in ledger.report(2024, "lifo").year_gains]
    assert parts == [
        (20_000_000, Decimal("12000.00"), Decimal("20.00"), Decimal("10000.00"), Decimal("1980.00"), "short"),
        (40_000_000, Decimal("24000.00"), Decimal("40.00"), Decimal("16000.00"), Decimal("7960.00"), "short"),
        (10_000_000, Decimal("6000.00"), Decimal("0.00"), Decimal("3000.00"), Decimal("3000.00"), "short"),
        (5_000_000, Decimal("3000.00"), Decimal("0.00"), Decimal("2000.00"), Decimal("1000.00"), "short"),
    ]


def test_disposing_more_than_held_is_refused(ledger: Ledger) -> None:
    before = len(ledger.disposals())
    # held on 2024-03-02: 1.0 + 0.5 + 0.2 − 0.6 = 1.1 BTC
    with pytest.raises(OverDisposalError, match=r"more than the 1\.1 held"):
        ledger.add_disposal(noon("2024-03-02"), 110_000_001, Decimal("1"))
    # an early disposal that leaves a later one uncovered is refused too: 1.7 − 1.1 − 0.6 (S1)
    # + 0.1 (D) = 0.1 held when S2 sells 0.15
    with pytest.raises(OverDisposalError, match=r"disposal of 0\.15 on 2024-08-01T12:00:00Z is more than the 0\.1 held"):
        ledger.add_disposal(noon("2024-02-20"), 110_000_000, Decimal("1"))
    assert len(ledger.disposals()) == before
    # the most that leaves S2 covered: 1.1 + 0.1 (D) − 0.15 (S2) = 1.05
    with pytest.raises(OverDisposalError, match=r"disposal of 0\.15 on 2024-08-01"):
        ledger.add_disposal(noon("2024-03-02"), 105_000_001, Decimal("1"))
    ledger.add_disposal(noon("2024-03-02"), 105_000_000, Decimal("1"))
    assert len(ledger.disposals()) == before + 1


def test_generic_jurisdiction_threshold(ledger: Ledger) -> None:
    ledger.configure("generic", currency="USD", long_term_days=300)
    r = ledger.report(2024, "fifo")
    # held 366 days (2024 is a leap year) > 300: S1 from lot A is long-term now
    assert r.gain("long") == Decimal("29940.00") and r.gain("short") == Decimal("0")
    ledger.configure("generic", long_term_days=0)
    assert ledger.report(2024, "fifo").gain("long") == Decimal("0")


def test_delete_mistakes(ledger: Ledger) -> None:
    [bill] = [e for e in ledger.expenses() if e.description == "January bill"]
    ledger.delete("expense", bill.id)
    assert ledger.report(2024).expenses_total == Decimal("401.99")
    with pytest.raises(LedgerError, match="no expense with id"):
        ledger.delete("expense", bill.id)
    big = ledger.add_disposal(noon("2024-03-02"), 105_000_000, Decimal("1"))  # all but what sale 2 needs
    [d] = [i for i in ledger.income() if i.txid == TX["D"]]
    # without lot D (0.1 on 2024-06-01) only 0.05 is held when sale 2 sells 0.15
    with pytest.raises(OverDisposalError, match=rf"income {d.id} is needed: without it, the disposal of 0\.15"):
        ledger.delete("income", d.id)
    assert len(ledger.income()) == 5
    ledger.delete("disposal", big)
    [s2] = [d for d in ledger.disposals() if d.description == "sale 2"]
    ledger.delete("disposal", s2.id)
    assert ledger.report(2024, "fifo").gain("long") == Decimal("0")
