"""`hashforge contracts ...`: sell, list and cancel hash-rate contracts, set the farm, read capacity
and the allocation journal, mint customer keys. Works on the pool's database (like `hashforge pool`:
--datadir or --database-url, or its --config and $HASHFORGE_POOL_*), so it needs no running pool; a
running pool sees the changes at once.

Register in hashforge/cli/commands.py with:  app.add_typer(contracts_app, name="contracts")
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from hashforge.cliutil import EXIT_INVALID, fail
from hashforge.consensus.address import address_to_script
from hashforge.consensus.params import PowAlgorithm, get_params
from hashforge.schema import SchemaError

from ..bookscli import open_database
from ..db import transaction
from ..hashrate import format_hashrate
from . import book
from . import farm as farms
from .errors import ContractConflict, ContractError, ContractNotFound

T = TypeVar("T")
contracts_app = typer.Typer(help="Cloud mining: hash-rate contracts sold from the operator's farm.",
                            no_args_is_help=True)
SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15, "e": 10**18}
RATE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMgGtTpPeE]?)(?:h/s|H/s|hs)?\s*$")


def parse_hashrate(text: str) -> int:
    """'500M', '1.5 TH/s', '1000' -> H/s (1000-based units)."""
    m = RATE.match(text)
    if m is None:
        raise ValueError(f"not a hash rate: {text!r} (e.g. 500M, 1.5T, 2000000)")
    value = Decimal(m.group(1)) * SUFFIX[m.group(2).lower()]
    if value != value.to_integral_value() or value <= 0:
        raise ValueError(f"hash rate must be a positive whole number of H/s, not {text!r}")
    return int(value)


def parse_time(text: str) -> float:
    """Unix seconds or ISO 8601 (UTC unless it says otherwise)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {text!r} (Unix seconds or ISO 8601)") from None
    return (dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True)
class Target:
    url: str
    network: str

    @property
    def scrypt(self) -> bool:
        return get_params(self.network).pow_algorithm is PowAlgorithm.SCRYPT

    def valid_address(self, address: str) -> bool:
        try:
            address_to_script(address, get_params(self.network))
        except ValueError:
            return False
        return True

    def tx(self) -> AbstractContextManager[Connection]:
        return transaction(self.url)


def _run(ctx: typer.Context, fn: Callable[[Connection], T]) -> T:
    target: Target = ctx.obj
    try:
        with target.tx() as conn:
            return fn(conn)
    except ContractConflict as e:
        fail(str(e), EXIT_INVALID)
    except ContractNotFound as e:
        fail(str(e), EXIT_INVALID)
    except ContractError as e:
        fail(str(e))
    except SQLAlchemyError as e:
        fail(f"cannot use the pool database {target.url}: {str(e).splitlines()[0]}")
    except SchemaError as e:  # a database a newer hashforge migrated
        fail(str(e))


def _out(data: Any, as_json: bool, text: Callable[[], str]) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str) if as_json else text())


def _when(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M", time.gmtime(t))


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no contracts"
    lines = [f"{'id':>4}  {'customer':<16} {'state':<9} {'hash rate':>11} {'start (UTC)':<16} {'end (UTC)':<16} "
             f"{'earned sat':>12} {'immature':>10} {'delivered':>11}"]
    for c in rows:
        lines.append(f"{c['id']:>4}  {c['customer_id'][:16]:<16} {c['state']:<9} {format_hashrate(c['hashrate_hps']):>11} "
                     f"{_when(c['start_time']):<16} {_when(c['end_time']):<16} {c['earned_sat']:>12,} "
                     f"{c['immature_sat']:>10,} {format_hashrate(c['delivered_hps']):>11}")
    return "\n".join(lines)


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@contracts_app.callback()
def _target(
    ctx: typer.Context,
    datadir: Annotated[Path, typer.Option("--datadir", help="The pool's data directory (its SQLite database).")] = Path("."),
    database_url: Annotated[str | None, typer.Option("--database-url", help="The pool's database URL (PostgreSQL).")] = None,
    network: Annotated[str, typer.Option("--network", "-n", help="The pool's network (checks addresses).")] = "regtest",
    config: Annotated[Path | None, typer.Option("--config", help="The pool's TOML settings (as `hashforge pool --config`: "
                                                "its datadir, database and network); then $HASHFORGE_POOL_*, then flags.")] = None,
) -> None:
    """Sell hash-rate contracts backed by the operator's own workers in this pool."""
    url, named = open_database(ctx, config, datadir, database_url, network)
    try:
        get_params(named or "regtest")
    except ValueError as e:
        fail(str(e))
    ctx.obj = Target(url, named or "regtest")


@contracts_app.command("farm")
def farm_cmd(
    ctx: typer.Context,
    address: Annotated[list[str] | None, typer.Option("--address", help="An operator payout address (repeatable); sets the farm.")] = None,
    capacity: Annotated[str | None, typer.Option("--capacity", help="Capacity the operator asserts, e.g. 500M (H/s).")] = None,
    window: Annotated[int | None, typer.Option("--window", help="Seconds the farm's rate is measured over (default 86400).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the farm, or set it with --address (and --capacity, --window)."""
    target: Target = ctx.obj
    try:
        cap = None if capacity is None else parse_hashrate(capacity)
    except ValueError as e:
        fail(str(e))
    for a in address or []:
        if not target.valid_address(a):
            fail(f"{a!r} is not a valid {target.network} address")

    def run(conn: Connection) -> dict[str, Any]:
        if address:
            f = farms.Farm(tuple(address), cap, window or farms.DEFAULT_WINDOW)
            return farms.save(conn, f).to_json()
        if capacity is not None or window is not None:
            raise ContractError("give the farm's --address(es) with --capacity/--window")
        return farms.load(conn).to_json()

    data = _run(ctx, run)
    _out(data, as_json, lambda: f"farm: {', '.join(data['addresses']) or '(not set)'}\n"
         f"asserted capacity: {format_hashrate(data['capacity_hps']) if data['capacity_hps'] else '-'}\n"
         f"window: {data['window_s']} s")


@contracts_app.command("create")
def create(
    ctx: typer.Context,
    customer: Annotated[str, typer.Option("--customer", help="Customer id (letters, digits, - and _).")],
    address: Annotated[str, typer.Option("--address", help="The customer's payout address.")],
    hashrate: Annotated[str, typer.Option("--hashrate", help="Hash rate sold, e.g. 250M or 1.5T (H/s).")],
    days: Annotated[int, typer.Option("--days", help="Duration in days.")],
    name: Annotated[str | None, typer.Option("--name", help="Customer name (default: the id).")] = None,
    start: Annotated[str | None, typer.Option("--start", help="Start: Unix seconds or ISO 8601 UTC (default now).")] = None,
    price_sat: Annotated[int | None, typer.Option("--price-sat", help="Price in sats.")] = None,
    price_fiat: Annotated[str | None, typer.Option("--price-fiat", help="Price in fiat (decimal, for information).")] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="Fiat currency code, e.g. USD.")] = None,
    fee_sat_per_day: Annotated[int, typer.Option("--fee-sat-per-day", help="Maintenance fee, sats per day.")] = 0,
    fee_percent: Annotated[str, typer.Option("--fee-percent", help="Maintenance fee, percent of gross earnings.")] = "0",
    as_json: JsonOpt = False,
) -> None:
    """Sell a contract; refused if it would sell more than the farm's measured hash rate."""
    target: Target = ctx.obj
    try:
        sale = book.Sale(customer, name or customer, address, parse_hashrate(hashrate), days,
                         None if start is None else parse_time(start), price_sat,
                         None if price_fiat is None else Decimal(price_fiat), currency, fee_sat_per_day,
                         Decimal(fee_percent))
    except (ValueError, InvalidOperation) as e:
        fail(str(e) if isinstance(e, ValueError) and str(e) else "price and fee percent must be decimal numbers")
    data = _run(ctx, lambda conn: book.sell(conn, sale, scrypt=target.scrypt, valid_address=target.valid_address))
    _out(data, as_json, lambda: f"contract {data['id']} sold to {data['customer_id']}: "
         f"{format_hashrate(data['hashrate_hps'])} for {data['days']} days, {_when(data['start_time'])} .. "
         f"{_when(data['end_time'])} UTC ({data['state']})")


@contracts_app.command("list")
def list_cmd(
    ctx: typer.Context,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer's contracts.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Contracts with their state, earnings and delivered hash rate."""
    rows = _run(ctx, lambda conn: book.listing(conn, customer))
    _out(rows, as_json, lambda: _table(rows))


@contracts_app.command("cancel")
def cancel(ctx: typer.Context, contract_id: Annotated[int, typer.Argument(help="Contract id.")],
           as_json: JsonOpt = False) -> None:
    """Cancel a contract: it stops accruing now."""
    data = _run(ctx, lambda conn: book.cancel(conn, contract_id))
    _out(data, as_json, lambda: f"contract {contract_id} cancelled at {_when(data['cancelled_at'])} UTC")


@contracts_app.command("capacity")
def capacity(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The farm's measured hash rate against the hash rate sold."""
    target: Target = ctx.obj
    data = _run(ctx, lambda conn: book.capacity(conn, target.scrypt))
    _out(data, as_json, lambda: (
        f"measured {format_hashrate(data['measured_hps'])}, sellable {format_hashrate(data['capacity_hps'])}\n"
        f"sold now {format_hashrate(data['sold_hps'])}, peak sold {format_hashrate(data['sold_peak_hps'])}, "
        f"available {format_hashrate(data['available_hps'])}"))


@contracts_app.command("allocations")
def allocations(
    ctx: typer.Context,
    contract_id: Annotated[int | None, typer.Argument(help="Contract id (omit: the journal by period).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="Rows, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """A contract's allocation journal, or (no id) every period with what the operator kept."""
    if contract_id is None:
        rows = _run(ctx, lambda conn: book.periods(conn, limit))
        _out(rows, as_json, lambda: "\n".join(
            [f"{'period':>6}  {'source':<14} {'block':<10} {'earned':>13} {'allocated':>13} {'fees':>11} {'operator':>13}"]
            + [f"{p['id']:>6}  {p['source']:<14} {p['block_status'] or '-':<10} {p['earned']:>13,} {p['allocated']:>13,} "
               f"{p['fees']:>11,} {p['operator_sat']:>13,}" for p in rows]))
        return
    cid = contract_id
    rows = _run(ctx, lambda conn: book.allocations(conn, cid, limit))
    _out(rows, as_json, lambda: "\n".join(
        [f"{'period':>6}  {'end (UTC)':<16} {'block':<10} {'active s':>9} {'share':>9} {'gross':>12} {'fee':>10} {'net':>12}"]
        + [f"{a['period_id']:>6}  {_when(a['end_time']):<16} {a['block_status'] or 'pps':<10} {a['active_seconds']:>9.0f} "
           f"{a['share']:>9.4%} {a['gross']:>12,} {a['fee']:>10,} {a['net']:>12,}" for a in rows]))


class KeyMintUnavailable(Exception):
    """The key store cannot be opened (exit 2)."""


class KeyMintRefused(Exception):
    """The key store refused the key, e.g. a name in use (exit 1)."""


# Who mints customer keys: the API's key store (hashforge.services.keys), wired by hashforge.cli, which
# assembles the app; the pool knows no API. (the API's --config or None, its datadir or None, customer,
# name or None) -> (key name, token)
KeyMinter = Callable[[Path | None, Path | None, str, str | None], tuple[str, str]]
_key_minter: KeyMinter | None = None


def use_key_minter(minter: KeyMinter) -> None:
    global _key_minter
    _key_minter = minter


@contracts_app.command("customer-key")
def customer_key(
    ctx: typer.Context,
    customer: Annotated[str, typer.Argument(help="Customer id.")],
    api_datadir: Annotated[Path | None, typer.Option("--api-datadir", help="Datadir of `hashforge api` (its key table; "
                                                     "default: as `hashforge api` finds it).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Key name (default customer-ID-XXXXXX).")] = None,
    as_json: JsonOpt = False,
    api_config: Annotated[Path | None, typer.Option("--api-config", help="The API's TOML settings (`hashforge api "
                                                    "--config`), then $HASHFORGE_API_*, then --api-datadir.")] = None,
) -> None:
    """Mint an API key that reads only this customer's contracts (shown once)."""
    if _key_minter is None:
        fail("customer keys are minted by the API's key store: run this as `hashforge contracts customer-key`")
    minter = _key_minter
    _run(ctx, lambda conn: book.customer(conn, customer))  # must exist
    try:
        key_name, token = minter(api_config, api_datadir, customer, name)
    except KeyMintRefused as e:
        fail(str(e), EXIT_INVALID)
    except KeyMintUnavailable as e:
        fail(str(e))
    _out({"name": key_name, "customer_id": customer, "token": token}, as_json,
         lambda: f"key {key_name} for customer {customer} (shown once):\n{token}")
