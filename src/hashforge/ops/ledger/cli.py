"""`hashforge tax ...`: prices, income, expenses, hardware, disposals, reports and exports.

Every command takes --ops-dir (default ~/.hashforge/NETWORK/ops, else the one `hashforge up` keeps) and --network; data commands
take --json. Bad input is one line on stderr (`error: ...`) and exit 2; nothing is half-written.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from hashforge.cliutil import fail
from hashforge.ops import default_ops_dir

from . import export as exports
from .errors import LedgerError
from .expenses import parse_life
from .lots import METHODS
from .money import cents, iso, parse_date, parse_decimal, parse_when, sat_to_coins
from .service import Ledger
from .settings import NOTE

tax_app = typer.Typer(help="Tax records: mining income, expenses, disposals, yearly reports (not tax advice).",
                      no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
prices_app = typer.Typer(help="Daily coin prices (CSV import, gaps).", no_args_is_help=True)
income_app = typer.Typer(help="Mining income: coinbase rewards and pool payouts.", no_args_is_help=True)
expense_app = typer.Typer(help="Expenses: electricity, pool fees, other.", no_args_is_help=True)
hardware_app = typer.Typer(help="Hardware purchases, depreciated straight-line.", no_args_is_help=True)
disposal_app = typer.Typer(help="Sales and spends of mined coins.", no_args_is_help=True)
for _sub, _name in ((prices_app, "prices"), (income_app, "income"), (expense_app, "expense"),
                    (hardware_app, "hardware"), (disposal_app, "disposal")):
    tax_app.add_typer(_sub, name=_name)

Network = Annotated[str, typer.Option("--network", "-n", help="Network (sets the default --ops-dir).")]
OpsDir = Annotated[Path | None, typer.Option("--ops-dir", help="Ops directory (default ~/.hashforge/NETWORK/ops, else the one `hashforge up` keeps).")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
Year = Annotated[int | None, typer.Option("--year", help="Only this tax year.")]
DEFAULT_NETWORK = "devnet"


@contextmanager
def _errors() -> Iterator[None]:
    from hashforge.wallet import WalletError

    try:
        yield
    except (LedgerError, WalletError) as e:
        fail(str(e))
    except OSError as e:
        fail(f"{getattr(e, 'filename', None) or 'file'}: {e.strerror or e}")


def _ledger(network: str, ops_dir: Path | None) -> Ledger:
    path = (ops_dir or default_ops_dir(network)).expanduser()
    try:
        return Ledger(path)
    except Exception as e:  # sqlite3.DatabaseError, OSError: the directory or file is unusable
        fail(f"cannot open the ledger in {path}: {e}")


def _emit(as_json: bool, data: Any, human: str) -> None:
    typer.echo(json.dumps(data, indent=2) if as_json else human)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        fail(f"{path}: not UTF-8 text")
    except OSError as e:
        fail(f"{path}: {e.strerror or e}")


def _dec(text: str | None, what: str, positive: bool = False) -> Decimal | None:
    if text is None:
        return None
    try:
        return parse_decimal(text, what, positive=positive)
    except ValueError as e:
        fail(str(e))


def _when(text: str, what: str = "--date") -> int:
    try:
        return parse_when(text, what)
    except ValueError as e:
        fail(str(e))


def _day(text: str, what: str = "--date") -> date:
    try:
        return parse_date(text, what)
    except ValueError as e:
        fail(str(e))


def _sats(text: str) -> int:
    from hashforge.wallet.amounts import parse_amount
    from hashforge.wallet.errors import AmountError

    try:
        return parse_amount(text)
    except AmountError as e:
        fail(str(e))


def _method(method: str) -> str:
    m = method.lower()
    if m not in METHODS:
        fail(f"--method must be fifo, lifo or hifo, not {method!r}")
    return m


# --- settings --------------------------------------------------------------------------------------

@tax_app.command("settings")
def settings_cmd(
    jurisdiction: Annotated[str | None, typer.Option("--jurisdiction", help="us (default) or generic.")] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="Fiat currency (generic only; us is USD).")] = None,
    long_term_days: Annotated[int | None, typer.Option("--long-term-days", help="generic: held more than this is long-term (0: none).")] = None,
    coin: Annotated[str | None, typer.Option("--coin", help="Coin ticker in exports (default BTC).")] = None,
    network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False,
) -> None:
    """Show or change the jurisdiction settings."""
    ledger = _ledger(network, ops_dir)
    with _errors():
        j = ledger.jurisdiction
        if any(v is not None for v in (jurisdiction, currency, long_term_days, coin)):
            j = ledger.configure(jurisdiction, currency, long_term_days, coin)
    _emit(as_json, j.as_dict(), f"{j.describe()}; coin {j.coin}\n{NOTE}")


# --- prices ----------------------------------------------------------------------------------------

@prices_app.command("import")
def prices_import(
    file: Annotated[Path, typer.Argument(help="CSV with columns date,price[,currency].")],
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite prices already recorded for a day.")] = False,
    network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False,
) -> None:
    """Import daily prices (all rows or none)."""
    ledger = _ledger(network, ops_dir)
    text = _read(file)
    with _errors():
        r = ledger.import_prices(text, str(file), replace)
    gaps = [d.isoformat() for d in r.gaps]
    data = {"added": r.added, "unchanged": r.unchanged, "replaced": r.replaced,
            "first": None if r.first is None else r.first.isoformat(),
            "last": None if r.last is None else r.last.isoformat(), "gaps": gaps}
    human = f"imported {r.added} price(s), {r.unchanged} unchanged, {r.replaced} replaced ({r.first} to {r.last})"
    if gaps:
        human += f"\nwarning: {len(gaps)} day(s) without a price: {', '.join(gaps[:10])}{' …' if len(gaps) > 10 else ''}"
    _emit(as_json, data, human)


@prices_app.command("list")
def prices_list(network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False) -> None:
    """Recorded prices and the days missing between them."""
    ledger = _ledger(network, ops_dir)
    cur = ledger.jurisdiction.currency
    table = ledger.prices()
    gaps = [d.isoformat() for d in ledger.price_gaps()]
    data = {"currency": cur, "prices": [{"date": d.isoformat(), "price": str(p)} for d, p in table.items()], "gaps": gaps}
    lines = [f"{d}  {p} {cur}" for d, p in table.items()] or ["no prices recorded"]
    if gaps:
        lines.append(f"gaps: {len(gaps)} day(s) without a price")
    _emit(as_json, data, "\n".join(lines))


@prices_app.command("add")
def prices_add(day: Annotated[str, typer.Argument(help="YYYY-MM-DD")], price: Annotated[str, typer.Argument()],
               network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False) -> None:
    """Record (or correct) one day's price."""
    ledger = _ledger(network, ops_dir)
    d, p = _day(day, "date"), _dec(price, "price", positive=True)
    assert p is not None
    with _errors():
        ledger.add_price(d, p)
    _emit(as_json, {"date": d.isoformat(), "price": str(p)}, f"{d}: {p} {ledger.jurisdiction.currency}")


# --- income ----------------------------------------------------------------------------------------

def _income_line(i: dict[str, Any], cur: str) -> str:
    fmv = "NEEDS PRICE" if i["fmv"] is None else f"{cents(Decimal(i['fmv']))} {cur}"
    tx = f" {i['txid']}:{i['vout']}" if i["txid"] else ""
    return f"#{i['id']:<4} {i['time']}  {i['source']:<5} {i['amount']:>14}  {fmv}{tx}"


@income_app.command("import-wallet")
def income_import_wallet(
    wallet_dir: Annotated[Path | None, typer.Option("--wallet-dir", help="hashforge wallet directory (default ~/.hashforge/NETWORK/wallet).")] = None,
    node_rpc: Annotated[str | None, typer.Option("--node-rpc", envvar="HASHFORGE_NODE_RPC", help="Node RPC URL (to sync first).")] = None,
    rpc_cookie: Annotated[Path | None, typer.Option("--rpc-cookie", help="Node RPC cookie file.")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Do not sync; use what the wallet database knows.")] = False,
    payout_address: Annotated[list[str] | None, typer.Option("--payout-address", help="Your payout address given to the pool: only payments received there count as pool payouts (repeatable).")] = None,
    payments: Annotated[bool, typer.Option("--payments/--no-payments", help="Record incoming payments as pool payouts.")] = True,
    network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False,
) -> None:
    """Record the wallet's coinbase outputs (block) and incoming payments (pool); re-runs add nothing twice."""
    from hashforge.consensus.params import UnknownNetworkError, get_params
    from hashforge.rpcclient import client_for_url
    from hashforge.wallet import Wallet, default_datadir

    ledger = _ledger(network, ops_dir)
    try:
        params = get_params(network)
    except UnknownNetworkError as e:
        fail(str(e))
    try:
        rpc = None if offline else client_for_url(
            node_rpc or f"http://127.0.0.1:{params.rpc_port}/",
            (rpc_cookie or Path.home() / ".hashforge" / params.name / ".cookie").expanduser())
    except ValueError as e:
        fail(f"--node-rpc: {e}")
    with _errors():
        wallet = Wallet.open((wallet_dir or default_datadir(params.name)).expanduser(), params, rpc)
        try:
            if rpc is not None:
                wallet.sync()
            r = ledger.import_wallet(wallet, set(payout_address) if payout_address else None, payments)
        finally:
            wallet.close()
    _emit(as_json, {"added": r.added, "unchanged": r.unchanged, "skipped": r.skipped, "removed": r.removed},
          f"recorded {r.added} new income entr{'y' if r.added == 1 else 'ies'}, {r.unchanged} already recorded, "
          f"{r.skipped} transaction(s) skipped (unconfirmed or not income)"
          + (f", {r.removed} removed (no longer in the chain after a reorg)" if r.removed else ""))


@income_app.command("import-csv")
def income_import_csv(
    file: Annotated[Path, typer.Argument(help="CSV: date,txid,amount_sat|amount_btc[,vout][,source][,fmv][,description].")],
    network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False,
) -> None:
    """Import payouts from an external pool (all rows or none; re-runs add nothing twice)."""
    ledger = _ledger(network, ops_dir)
    text = _read(file)
    with _errors():
        r = ledger.import_income_csv(text, str(file))
    _emit(as_json, {"added": r.added, "unchanged": r.unchanged},
          f"recorded {r.added} new income entr{'y' if r.added == 1 else 'ies'}, {r.unchanged} already recorded")


@income_app.command("add")
def income_add(
    when: Annotated[str, typer.Option("--date", help="YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC).")],
    amount: Annotated[str, typer.Option("--amount", help="Coins (0.5) or satoshis (50000sat).")],
    source: Annotated[str, typer.Option("--source", help="block or pool.")] = "pool",
    txid: Annotated[str | None, typer.Option("--txid")] = None,
    vout: Annotated[int | None, typer.Option("--vout")] = None,
    fmv: Annotated[str | None, typer.Option("--fmv", help="Manual fair market value at receipt (fiat).")] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False,
) -> None:
    """Record one income entry by hand."""
    ledger = _ledger(network, ops_dir)
    ts, sat, value = _when(when), _sats(amount), _dec(fmv, "--fmv")
    with _errors():
        new_id = ledger.add_income(ts, sat, source, txid, vout, value, description)
    [entry] = [i for i in ledger.income() if i.id == new_id]
    _emit(as_json, entry.as_dict(), f"recorded {_income_line(entry.as_dict(), ledger.jurisdiction.currency)}")


@income_app.command("set-fmv")
def income_set_fmv(income_id: Annotated[int, typer.Argument()], fmv: Annotated[str, typer.Argument(help="Fiat value, or 'none' to clear.")],
                   network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False) -> None:
    """Enter a manual fair market value for an entry (e.g. one that needs a price)."""
    ledger = _ledger(network, ops_dir)
    value = None if fmv.lower() == "none" else _dec(fmv, "fmv")
    with _errors():
        ledger.set_fmv(income_id, value)
    _emit(as_json, {"id": income_id, "fmv": None if value is None else str(value)}, f"#{income_id}: fmv {value}")


@income_app.command("list")
def income_list(year: Year = None, network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False) -> None:
    """Income entries, oldest first; "NEEDS PRICE" where no price or manual value exists."""
    ledger = _ledger(network, ops_dir)
    rows = [i.as_dict() for i in ledger.income(year)]
    cur = ledger.jurisdiction.currency
    _emit(as_json, rows, "\n".join(_income_line(i, cur) for i in rows) or "no income recorded")


# --- expenses and hardware -------------------------------------------------------------------------

@expense_app.command("add")
def expense_add(
    day: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    category: Annotated[str, typer.Option("--category", help="electricity, pool_fee or other.")],
    amount: Annotated[str | None, typer.Option("--amount", help="Fiat amount (a bill).")] = None,
    amount_sat: Annotated[str | None, typer.Option("--amount-coins", help="Pool fee in coins (0.001) or satoshis (100000sat).")] = None,
    kw: Annotated[str | None, typer.Option("--kw", help="Electricity: measured power in kW.")] = None,
    hours: Annotated[str | None, typer.Option("--hours", help="Electricity: hours run.")] = None,
    price_kwh: Annotated[str | None, typer.Option("--price-kwh", help="Electricity: price per kWh.")] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False,
) -> None:
    """Record an expense: a bill, a pool fee, or electricity computed as kW × hours × price."""
    ledger = _ledger(network, ops_dir)
    d = _day(day)
    computed = [kw, hours, price_kwh]
    with _errors():
        if any(v is not None for v in computed):
            if category != "electricity" or None in computed or amount is not None or amount_sat is not None:
                fail("computed electricity needs --category electricity with all of --kw, --hours, --price-kwh and no --amount")
            k, h, p = (_dec(v, n) for v, n in zip(computed, ("--kw", "--hours", "--price-kwh"), strict=True))
            assert k is not None and h is not None and p is not None
            new_id = ledger.add_electricity(d, k, h, p, description)
        else:
            new_id = ledger.add_expense(d, category, _dec(amount, "--amount", positive=True),
                                        None if amount_sat is None else _sats(amount_sat), description)
    [e] = [x for x in ledger.expenses() if x.id == new_id]
    _emit(as_json, e.as_dict(), f"recorded expense #{e.id}: {e.day} {e.category} {e.fiat if e.fiat is not None else 'NEEDS PRICE'}")


@expense_app.command("list")
def expense_list(year: Year = None, network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False) -> None:
    """Expenses, oldest first."""
    ledger = _ledger(network, ops_dir)
    rows = ledger.expenses(year)
    _emit(as_json, [e.as_dict() for e in rows],
          "\n".join(f"#{e.id:<4} {e.day}  {e.category:<11} {e.fiat if e.fiat is not None else 'NEEDS PRICE':>12}  "
                    f"{e.description} {e.detail}".rstrip() for e in rows) or "no expenses recorded")


@hardware_app.command("add")
def hardware_add(
    name: Annotated[str, typer.Option("--name")],
    cost: Annotated[str, typer.Option("--cost", help="Purchase cost (fiat).")],
    life: Annotated[str, typer.Option("--life", help="Useful life: 36m or 3y.")],
    in_service: Annotated[str, typer.Option("--in-service", help="Date placed in service, YYYY-MM-DD.")],
    salvage: Annotated[str, typer.Option("--salvage", help="Salvage value at the end of its life.")] = "0",
    network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False,
) -> None:
    """Record a hardware purchase and show its depreciation schedule."""
    ledger = _ledger(network, ops_dir)
    c, s, d = _dec(cost, "--cost", positive=True), _dec(salvage, "--salvage"), _day(in_service, "--in-service")
    assert c is not None and s is not None
    with _errors():
        new_id = ledger.add_hardware(name, c, s, parse_life(life), d)
    [h] = [x for x in ledger.hardware() if x.id == new_id]
    _emit(as_json, h.as_dict(), f"recorded #{h.id} {h.name}: " + ", ".join(f"{y}: {v}" for y, v in h.schedule()))


@hardware_app.command("list")
def hardware_list(year: Year = None, network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False) -> None:
    """Hardware with its depreciation schedule (and the given year's amount)."""
    ledger = _ledger(network, ops_dir)
    rows = ledger.hardware()
    _emit(as_json, [h.as_dict(year) for h in rows],
          "\n".join(f"#{h.id} {h.name} ({h.cost}, salvage {h.salvage}, {h.life_months} months from {h.in_service}): "
                    + ", ".join(f"{y}: {v}" for y, v in h.schedule()) for h in rows) or "no hardware recorded")


# --- disposals -------------------------------------------------------------------------------------

@disposal_app.command("add")
def disposal_add(
    when: Annotated[str, typer.Option("--date", help="YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC).")],
    amount: Annotated[str, typer.Option("--amount", help="Coins sold or spent (0.5) or satoshis (50000sat).")],
    proceeds: Annotated[str, typer.Option("--proceeds", help="Fiat received (or the value of what was bought).")],
    fee: Annotated[str, typer.Option("--fee", help="Fiat fee paid.")] = "0",
    txid: Annotated[str | None, typer.Option("--txid")] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False,
) -> None:
    """Record a sale or spend; more than the coins held then is refused."""
    ledger = _ledger(network, ops_dir)
    ts, sat = _when(when), _sats(amount)
    p, f = _dec(proceeds, "--proceeds"), _dec(fee, "--fee")
    assert p is not None and f is not None
    with _errors():
        new_id = ledger.add_disposal(ts, sat, p, f, txid, description)
    _emit(as_json, {"id": new_id, "time": iso(ts), "amount_sat": sat, "proceeds": str(p), "fee": str(f)},
          f"recorded disposal #{new_id}: {sat_to_coins(sat)} for {p} (fee {f})")


@disposal_app.command("list")
def disposal_list(year: Year = None, network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False) -> None:
    """Disposals, oldest first."""
    ledger = _ledger(network, ops_dir)
    rows = ledger.disposals(year)
    _emit(as_json, [d.as_dict() for d in rows],
          "\n".join(f"#{d.id:<4} {iso(d.ts)}  {sat_to_coins(d.amount_sat):>14}  proceeds {d.proceeds} fee {d.fee}"
                    for d in rows) or "no disposals recorded")


def _delete_command(sub: typer.Typer, kind: str) -> None:
    @sub.command("delete")
    def delete(record_id: Annotated[int, typer.Argument(help="The record's id (see list).")],
               network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False) -> None:
        ledger = _ledger(network, ops_dir)
        with _errors():
            ledger.delete(kind, record_id)
        _emit(as_json, {"deleted": kind, "id": record_id}, f"deleted {kind} #{record_id}")

    delete.__doc__ = f"Delete one {kind} entered by mistake."


for _sub, _kind in ((income_app, "income"), (expense_app, "expense"), (hardware_app, "hardware"),
                    (disposal_app, "disposal")):
    _delete_command(_sub, _kind)


# --- reports and exports ---------------------------------------------------------------------------

@tax_app.command("report")
def report_cmd(
    year: Annotated[int, typer.Option("--year", help="Tax year.")],
    method: Annotated[str, typer.Option("--method", help="Lot matching: fifo, lifo or hifo.")] = "fifo",
    network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False,
) -> None:
    """Income, expenses, gains and the net for one tax year."""
    ledger = _ledger(network, ops_dir)
    with _errors():
        r = ledger.report(year, _method(method))
    d = r.as_dict()
    cur = r.jurisdiction.currency
    lines = [f"Tax year {year} ({r.jurisdiction.describe()}; {method.upper()})",
             f"  income            {d['income']['total']:>14} {cur}  ({d['income']['amount']} {r.jurisdiction.coin}, "
             f"{d['income']['count']} entries)"]
    lines += [f"    {k:<15} {v['fmv']:>14} {cur}" for k, v in d["income"]["by_source"].items()]
    lines.append(f"  expenses          {d['expenses']['total']:>14} {cur}")
    lines += [f"    {k:<15} {v:>14} {cur}" for k, v in d["expenses"]["by_category"].items()]
    lines += [f"  depreciation      {d['expenses']['depreciation']:>14} {cur}",
              f"  short-term gains  {d['gains']['short']:>14} {cur}",
              f"  long-term gains   {d['gains']['long']:>14} {cur}",
              f"  net               {d['net']:>14} {cur}"]
    lines += [f"warning: {w}" for w in d["warnings"]]
    lines.append(NOTE)
    _emit(as_json, d, "\n".join(lines))


@tax_app.command("export")
def export_cmd(
    kind: Annotated[str, typer.Argument(help="koinly, csv, html or pdf.")],
    year: Annotated[int, typer.Option("--year", help="Tax year.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write ('-' for stdout; not for pdf).")],
    method: Annotated[str, typer.Option("--method", help="Lot matching for gains: fifo, lifo or hifo.")] = "fifo",
    network: Network = DEFAULT_NETWORK, ops_dir: OpsDir = None, as_json: Json = False,
) -> None:
    """Write a year's records: Koinly universal CSV, generic CSV, printable HTML or PDF."""
    if kind not in ("koinly", "csv", "html", "pdf"):
        fail(f"export kind must be koinly, csv, html or pdf, not {kind!r}")
    ledger = _ledger(network, ops_dir)
    with _errors():
        r = ledger.report(year, _method(method))
        data: bytes
        if kind == "koinly":
            data = exports.koinly_csv(r).encode()
        elif kind == "csv":
            data = exports.generic_csv(r).encode()
        elif kind == "html":
            data = exports.html_report(r).encode()
        else:
            if str(output) == "-":
                fail("a PDF needs --output FILE")
            data = exports.pdf_report(r)
        if str(output) == "-":
            sys.stdout.write(data.decode())
            return
        tmp = output.with_name(output.name + ".part")
        tmp.write_bytes(data)  # then rename: never a half-written export under the real name
        tmp.replace(output)
    _emit(as_json, {"kind": kind, "year": year, "path": str(output), "bytes": len(data)},
          f"wrote {output} ({len(data)} bytes)")
