"""`hashforge tax ...` in-process (CliRunner): the scripted year entered through the CLI gives the
same report; --json everywhere; bad input is one `error:` line on stderr, exit 2, nothing written."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hashforge.ops.ledger.cli import tax_app

from .test_ledger_csv import KOINLY
from .test_ledger_year import POOL_CSV, PRICES, TX


def run(ops: Path, *args: str, code: int = 0) -> Any:
    # tax_app alone: building the whole `hashforge` command tree costs ~0.7 s per invocation
    result = CliRunner().invoke(tax_app, [*args, "--ops-dir", str(ops)])
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def js(ops: Path, *args: str) -> Any:
    return json.loads(run(ops, *args, "--json").stdout)


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scripted year of test_ledger_year, typed in through the CLI (shared: the tests that
    change it only change settings last, and the refused inputs must leave it unchanged)."""
    tmp_path = tmp_path_factory.mktemp("taxcli")
    ops = tmp_path / "ops"
    (tmp_path / "prices.csv").write_text(PRICES)
    (tmp_path / "pool.csv").write_text(POOL_CSV)
    assert js(ops, "prices", "import", str(tmp_path / "prices.csv"))["added"] == 4
    js(ops, "income", "add", "--date", "2023-03-01T12:00:00", "--amount", "1", "--source", "block", "--txid", TX["A"])
    js(ops, "income", "add", "--date", "2024-01-10T12:00:00", "--amount", "50000000sat", "--source", "block",
       "--txid", TX["B"])
    assert js(ops, "income", "import-csv", str(tmp_path / "pool.csv")) == {"added": 2, "unchanged": 0}
    [d] = [i for i in js(ops, "income", "list", "--year", "2024") if i["txid"] == TX["D"]]
    assert d["needs_price"] is True
    js(ops, "income", "set-fmv", str(d["id"]), "3000")
    js(ops, "income", "add", "--date", "2024-09-01T12:00:00", "--amount", "0.01", "--txid", TX["E"])
    js(ops, "expense", "add", "--date", "2024-01-31", "--category", "electricity", "--amount", "250.00")
    e = js(ops, "expense", "add", "--date", "2024-02-29", "--category", "electricity", "--kw", "3.5",
           "--hours", "720", "--price-kwh", "0.10")
    assert e["fiat"] == "252.00" and "3.5 kW" in e["detail"]
    fee = js(ops, "expense", "add", "--date", "2024-02-15", "--category", "pool_fee", "--amount-coins", "200000sat")
    assert fee["fiat"] == "100.00"
    js(ops, "expense", "add", "--date", "2024-05-01", "--category", "other", "--amount", "49.99")
    hw = js(ops, "hardware", "add", "--name", "Antminer S21", "--cost", "5000", "--salvage", "500", "--life", "36m",
            "--in-service", "2024-04-15")
    assert [s["depreciation"] for s in hw["schedule"]] == ["1125.00", "1500.00", "1500.00", "375.00"]
    js(ops, "disposal", "add", "--date", "2024-03-01T12:00:00", "--amount", "0.6", "--proceeds", "36000", "--fee", "60")
    js(ops, "disposal", "add", "--date", "2024-08-01T12:00:00", "--amount", "0.15", "--proceeds", "9000")
    return ops


@pytest.mark.parametrize(("method", "short", "long", "net"), [
    ("fifo", "23940.00", "6000.00", "61163.01"), ("lifo", "13940.00", "0.00", "45163.01"),
    ("hifo", "13440.00", "0.00", "44663.01")])
def test_report(ops: Path, method: str, short: str, long: str, net: str) -> None:
    r = js(ops, "report", "--year", "2024", "--method", method)
    assert r["income"]["total"] == "33000.00" and r["expenses"]["total"] == "651.99"
    assert r["expenses"]["depreciation"] == "1125.00"
    assert (r["gains"]["short"], r["gains"]["long"], r["net"]) == (short, long, net)
    assert "not tax advice" in r["note"]
    human = run(ops, "report", "--year", "2024", "--method", method).stdout
    assert f"net {net:>29}" .split()[1] in human and "not tax advice" in human


def test_lists_and_exports(ops: Path, tmp_path: Path) -> None:
    assert len(js(ops, "income", "list")) == 5 and len(js(ops, "income", "list", "--year", "2023")) == 1
    assert len(js(ops, "expense", "list", "--year", "2024")) == 4
    assert js(ops, "disposal", "list")[0]["proceeds"] == "36000"
    assert js(ops, "hardware", "list", "--year", "2025")[0]["depreciation"] == "1500.00"
    gaps = js(ops, "prices", "list")["gaps"]
    assert gaps[0] == "2023-03-02" and "2024-02-16" in gaps
    out = tmp_path / "koinly.csv"
    assert js(ops, "export", "koinly", "--year", "2024", "-o", str(out))["path"] == str(out)
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0] == KOINLY and len(rows) == 7
    run(ops, "export", "csv", "--year", "2024", "--method", "lifo", "-o", str(tmp_path / "all.csv"))
    assert (tmp_path / "all.csv").read_text().startswith("type,date,category,")
    run(ops, "export", "html", "--year", "2024", "-o", str(tmp_path / "r.html"))
    assert "<svg" in (tmp_path / "r.html").read_text()
    assert not list(tmp_path.glob("*.part"))
    other = tmp_path / "other-ops"
    s = js(other, "settings", "--jurisdiction", "generic", "--currency", "eur", "--long-term-days", "30")
    assert (s["name"], s["currency"], s["long_term_days"]) == ("generic", "EUR", 30)
    assert js(other, "settings")["currency"] == "EUR"


BAD = [
    (["prices", "import", "{tmp}/bad.csv"], "{tmp}/bad.csv:3: price: price must be greater than zero"),
    (["prices", "import", "{tmp}/missing.csv"], "No such file"),
    (["income", "add", "--date", "2024-02-30", "--amount", "1"], "--date must be YYYY-MM-DD"),
    (["income", "add", "--date", "2024-02-01", "--amount", "1.000000001"], "not a whole number of satoshis"),
    (["income", "add", "--date", "2024-02-01", "--amount", "1", "--txid", "abc"], "txid must be 64 hex digits"),
    (["income", "add", "--date", "2024-02-01", "--amount", "1", "--fmv", "x"], "--fmv must be a number"),
    (["income", "set-fmv", "999", "5"], "no income entry with id 999"),
    (["expense", "add", "--date", "2024-01-01", "--category", "rent", "--amount", "5"], "category must be one of"),
    (["expense", "add", "--date", "2024-01-01", "--category", "electricity", "--kw", "-2", "--hours", "1",
      "--price-kwh", "1"], "--kw must be zero or more"),
    (["expense", "add", "--date", "2024-01-01", "--category", "electricity", "--kw", "2"], "needs --category electricity with all of"),
    (["hardware", "add", "--name", "x", "--cost", "10", "--life", "ten", "--in-service", "2024-01-01"], "life must be months or years"),
    (["disposal", "add", "--date", "2024-03-02", "--amount", "2", "--proceeds", "1"], "more than the 1.1 held"),
    (["expense", "delete", "999"], "no expense with id 999"),
    (["income", "delete", "999"], "no income with id 999"),
    (["report", "--year", "2024", "--method", "avg"], "--method must be fifo, lifo or hifo"),
    (["export", "xlsx", "--year", "2024", "-o", "{tmp}/x"], "export kind must be"),
    (["settings", "--jurisdiction", "us", "--currency", "EUR"], "the us jurisdiction reports in USD"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_is_one_line_exit_2(ops: Path, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "bad.csv").write_text("date,price\n2024-12-01,5\n2024-12-02,-1\n")
    before = {k: js(ops, *k.split()) for k in ("income list", "expense list", "disposal list", "prices list")}
    result = run(ops, *[a.format(tmp=tmp_path) for a in args], code=2)
    err = result.stderr
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message.format(tmp=tmp_path) in err
    assert {k: js(ops, *k.split()) for k in before} == before


def test_subprocess_error_has_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("date,price\n2024-01-01,1\n2024-01-01,2\n")
    proc = subprocess.run([sys.executable, "-m", "hashforge", "tax", "prices", "import", str(tmp_path / "p.csv"),
                           "--ops-dir", str(tmp_path / "ops")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == (f"error: {tmp_path / 'p.csv'}:3: price: 2024-01-01 USD already has price 1 (line 2); "
                           "duplicate dates must agree\n")


def test_pdf_export_without_chromium_is_one_line(ops: Path, tmp_path: Path) -> None:
    out = tmp_path / "year.pdf"
    result = CliRunner().invoke(tax_app, ["export", "pdf", "--year", "2024", "-o", str(out), "--ops-dir", str(ops)],
                                env={"HASHFORGE_CHROMIUM": str(tmp_path / "no-chromium")})
    assert result.exit_code == 2
    assert result.stderr.startswith("error: PDF export needs chromium") and result.stderr.count("\n") == 1
    assert not out.exists() and not list(tmp_path.glob("*.part"))
