"""Exports of a tax year: Koinly's universal CSV, a generic CSV of every record, a printable HTML
report with SVG charts, and a PDF of that report printed by headless chromium."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from .charts import bar_chart
from .errors import ChromiumMissingError, LedgerError
from .money import cents, sat_to_coins
from .report import Report
from .settings import NOTE

KOINLY_COLUMNS = ("Date", "Sent Amount", "Sent Currency", "Received Amount", "Received Currency", "Fee Amount",
                  "Fee Currency", "Net Worth Amount", "Net Worth Currency", "Label", "Description", "TxHash")
GENERIC_COLUMNS = ("type", "date", "category", "amount_sat", "amount", "fiat", "currency", "basis", "gain", "term",
                   "txid", "vout", "note")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# The template lives with the dashboard's (web/templates/tax_report.html) so it ships as package data.
_env = Environment(loader=FileSystemLoader(str(Path(__file__).parents[2] / "web" / "templates")),
                   autoescape=select_autoescape(["html"]))


def koinly_date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _csv(header: tuple[str, ...], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def koinly_csv(r: Report) -> str:
    """Income (Label `mining`) and disposals of the year. Expenses are not Koinly transactions."""
    coin, cur = r.jurisdiction.coin, r.jurisdiction.currency
    rows: list[tuple[int, int, list[str]]] = []
    for i in r.incomes:
        what = "block reward" if i.source == "block" else "pool payout"
        desc = i.description or what
        if i.fmv is None:
            desc += " (needs price)"
        rows.append((i.ts, 0, [koinly_date(i.ts), "", "", sat_to_coins(i.amount_sat), coin, "", "",
                               "" if i.fmv is None else str(cents(i.fmv)), "" if i.fmv is None else cur,
                               "mining", desc, i.txid or ""]))
    for d in r.disposals:
        if d.day.year != r.year:
            continue
        rows.append((d.ts, 1, [koinly_date(d.ts), sat_to_coins(d.amount_sat), coin, str(d.proceeds), cur,
                               str(d.fee) if d.fee else "", cur if d.fee else "", str(d.proceeds), cur, "",
                               d.description or "sale", d.txid or ""]))
    return _csv(KOINLY_COLUMNS, [row for _, _, row in sorted(rows, key=lambda x: (x[0], x[1]))])


def generic_csv(r: Report) -> str:
    cur = r.jurisdiction.currency
    out: list[list[str]] = []
    for i in r.incomes:
        out.append(["income", koinly_date(i.ts), i.source, str(i.amount_sat), sat_to_coins(i.amount_sat),
                    "" if i.fmv is None else str(cents(i.fmv)), cur, "", "", "", i.txid or "",
                    "" if i.vout is None else str(i.vout), "needs price" if i.fmv is None else (i.fmv_source or "")])
    for e in r.expenses:
        out.append(["expense", e.day.isoformat(), e.category, "" if e.amount_sat is None else str(e.amount_sat),
                    "" if e.amount_sat is None else sat_to_coins(e.amount_sat),
                    "" if e.fiat is None else str(e.fiat), cur, "", "", "", "", "",
                    "; ".join(x for x in (e.description, e.detail, "needs price" if e.fiat is None else "") if x)])
    for h, dep in r.depreciation_rows():
        out.append(["depreciation", f"{r.year}-12-31", "hardware", "", "", str(dep), cur, "", "", "", "", "",
                    f"{h.name} (cost {h.cost}, salvage {h.salvage}, {h.life_months} months from {h.in_service})"])
    for g in r.year_gains:
        out.append(["disposal", g.disposed.isoformat(), r.method, str(g.amount_sat), sat_to_coins(g.amount_sat),
                    str(g.proceeds - g.fee), cur, "" if g.basis is None else str(g.basis),
                    "" if g.gain is None else str(g.gain), g.term, "", "",
                    f"lot #{g.income_id} acquired {g.acquired}" + (" (needs price)" if g.basis is None else "")])
    return _csv(GENERIC_COLUMNS, out)


def money(v: float | Decimal, currency: str = "") -> str:
    d = cents(Decimal(str(v)))
    return f"{d:,.2f}" + (f" {currency}" if currency else "")


def charts(r: Report) -> dict[str, Markup]:
    cur = r.jurisdiction.currency
    months = [(m["month"][5:], float(m["fmv"])) for m in r.income_by_month()]
    summary = [("Income", float(r.income_total)), ("Expenses", -float(r.expenses_total)),
               ("Depreciation", -float(r.depreciation_total)), ("Short-term", float(r.gain("short"))),
               ("Long-term", float(r.gain("long"))), ("Net", float(r.net))]
    return {
        "months": Markup(bar_chart(months, f"Mining income by month, {r.year} ({cur})",
                                   lambda v: money(v), chart_id="tax-months")),
        "summary": Markup(bar_chart(summary, f"Income, costs and gains, {r.year} ({cur})",
                                    lambda v: money(v), chart_id="tax-summary")),
    }


def html_report(r: Report) -> str:
    """A standalone printable page (its own CSS, no scripts, no external assets)."""
    return _env.get_template("tax_report.html").render(
        r=r, note=NOTE, charts=charts(r), money=money, coins=sat_to_coins,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))


def find_chromium() -> str | None:
    env = os.environ.get("HASHFORGE_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def pdf_report(r: Report, timeout: float = 60.0) -> bytes:
    """The HTML report printed to PDF by headless chromium (ChromiumMissingError without one)."""
    exe = find_chromium()
    if exe is None:
        raise ChromiumMissingError("PDF export needs chromium (apt-get install chromium, or set HASHFORGE_CHROMIUM); "
                                   "export html and print it instead")
    with tempfile.TemporaryDirectory(prefix="hf-tax-") as tmp:
        src, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        src.write_text(html_report(r), encoding="utf-8")
        argv = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={tmp}/profile", "--no-pdf-header-footer", f"--print-to-pdf={out}", src.as_uri()]
        try:
            proc = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise LedgerError(f"chromium did not print the report within {timeout:.0f} s") from None
        if not out.exists() or out.stat().st_size == 0:
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise LedgerError(f"chromium could not print the report (exit {proc.returncode}): {tail[0]}")
        return out.read_bytes()
