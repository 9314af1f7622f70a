"""`hashforge pool balances | blocks | aux-address`: the pool's books per coin (the pool's own and,
with merged mining, each aux chain's), read from its database (--datadir or --database-url, or
the pool's --config and $HASHFORGE_POOL_* as `hashforge pool` reads them) without a running pool;
a running pool sees an aux-address change at its next payout."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from hashforge.cliutil import EXIT_INVALID, fail
from hashforge.consensus.address import address_to_script
from hashforge.consensus.params import UnknownNetworkError, get_params
from hashforge.schema import SchemaError
from hashforge.settings import passed

from .config import load_books_settings
from .db import (
    AuxAddressRepository,
    BlockRepository,
    LedgerRepository,
    StateRepository,
    transaction,
)
from .errors import ConfigError
from .hashrate import share_scale

T = TypeVar("T")

DatadirOpt = Annotated[Path, typer.Option("--datadir", help="The pool's data directory (its SQLite database).")]
UrlOpt = Annotated[str | None, typer.Option("--database-url", help="The pool's database URL (PostgreSQL).")]
NetworkOpt = Annotated[str | None, typer.Option("--network", "-n", help="The pool's own network (default: the one its database records).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="The pool's TOML settings (as `hashforge pool --config`: "
                                                "its datadir, database and network); then $HASHFORGE_POOL_*, then flags.")]


def open_database(ctx: typer.Context, config: Path | None, datadir: Path, database_url: str | None,
                  network: str | None = None) -> tuple[str, str | None]:
    """The pool's database URL and network (None: not named; the database records it) from the
    pool's `--config`, $HASHFORGE_POOL_* and the flags typed, as `hashforge pool` reads them."""
    given = passed(ctx, datadir=("datadir", datadir), network=("network", network),
                   **{"recorder.database_url": ("database_url", database_url)})
    try:
        cfg, named = load_books_settings(config, given)
    except ConfigError as e:
        fail(str(e))
    db = cfg.datadir / "pool.sqlite3"
    if cfg.recorder.database_url is None and not db.exists():
        fail(f"no pool database at {db} (use --datadir of `hashforge pool`, or --database-url)")
    return cfg.database_url, named


def _read(url: str, fn: Callable[[Connection], T]) -> T:
    try:
        with transaction(url) as conn:
            return fn(conn)
    except SQLAlchemyError as e:
        fail(f"cannot use the pool database {url}: {str(e).splitlines()[0]}")
    except SchemaError as e:  # a database a newer hashforge migrated
        fail(str(e))


def _coin(chain: str | None, own: str) -> dict[str, str]:
    net = chain or own
    try:
        return {"coin": get_params(net).coin, "network": net}
    except UnknownNetworkError:
        return {"coin": "?", "network": net}


def _own_network(conn: Connection, given: str | None) -> str:
    net = given or StateRepository.get(conn, "network") or "regtest"
    try:
        get_params(net)
    except UnknownNetworkError as e:
        fail(str(e))
    return net


def _wanted(coin: str | None, row: dict[str, Any]) -> bool:
    return coin is None or row["coin"].lower() == coin.lower()


def _print(data: Any, as_json: bool, text: Callable[[], str]) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str) if as_json else text())


def balances(
    ctx: typer.Context,
    address: Annotated[str | None, typer.Argument(help="One miner (its address at the pool); default every one.")] = None,
    coin: Annotated[str | None, typer.Option("--coin", help="Only this coin (LTC, DOGE, ...).")] = None,
    datadir: DatadirOpt = Path("."), database_url: UrlOpt = None, network: NetworkOpt = None, as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Each miner's balances, one per coin: payable, immature (blocks not yet mature) and paid,
    with the address its aux-coin payouts go to."""

    def read(conn: Connection) -> list[dict[str, Any]]:
        own = _own_network(conn, named)
        rows = LedgerRepository.summary(conn, address)
        paid_to: dict[tuple[str, str], str] = {}
        for r in rows:
            if r["chain"] is not None and (r["address"], r["chain"]) not in paid_to:
                paid_to.update({(r["address"], c): a for c, a in AuxAddressRepository.of_address(conn, r["address"]).items()})
        out = []
        for r in rows:
            chain = r.pop("chain")
            row = {**r, **_coin(chain, own)}
            if chain is not None:
                row["payout_address"] = paid_to.get((r["address"], chain))
            if _wanted(coin, row):
                out.append(row)
        return out

    url, named = open_database(ctx, config, datadir, database_url, network)
    rows = _read(url, read)

    def text() -> str:
        if not rows:
            return "no balances"
        lines = [f"{'address':<44} {'coin':<5} {'payable':>16} {'immature':>16} {'paid':>16}  aux payout address"]
        lines += [f"{r['address'][:44]:<44} {r['coin']:<5} {r['payable']:>16,} {r['immature']:>16,} {r['paid']:>16,}  "
                  f"{r.get('payout_address') or ('-' if 'payout_address' not in r else '(none named)')}" for r in rows]
        return "\n".join(lines)

    _print(rows, as_json, text)


def blocks(
    ctx: typer.Context,
    coin: Annotated[str | None, typer.Option("--coin", help="Only this coin's blocks (LTC, DOGE, ...).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="Newest first, at most this many.")] = 50,
    datadir: DatadirOpt = Path("."), database_url: UrlOpt = None, network: NetworkOpt = None, as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Blocks the pool found on each chain it mines (the parent and merged-mined aux chains)."""

    def read(conn: Connection) -> list[dict[str, Any]]:
        own = _own_network(conn, named)
        scrypt = get_params(own).pow_algorithm.name == "SCRYPT"
        if coin is None:
            found = BlockRepository.page(conn, limit, 0)
        else:  # the chains whose coin it is, each filtered in the database
            chains = [c for c in BlockRepository.chains(conn) if _wanted(coin, _coin(c, own))]
            found = sorted((r for c in chains for r in BlockRepository.page(conn, limit, 0, chain=c)),
                           key=lambda r: r["id"], reverse=True)[:limit]
        out = []
        for r in found:
            row = {k: r[k] for k in ("id", "height", "hash", "address", "worker", "reward", "status", "scheme",
                                     "found_at", "credited", "effort")}
            row["network_difficulty"] = r["network_difficulty"] / share_scale(scrypt)
            row.update(_coin(r["chain"], own))
            out.append(row)
        return out

    url, named = open_database(ctx, config, datadir, database_url, network)
    rows = _read(url, read)

    def text() -> str:
        if not rows:
            return "no blocks"
        lines = [f"{'coin':<5} {'height':>8} {'status':<9} {'reward':>16}  {'found (UTC)':<16} {'finder':<44} hash"]
        lines += [f"{r['coin']:<5} {r['height']:>8} {r['status']:<9} {r['reward']:>16,}  "
                  f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(r['found_at'])):<16} {r['address'][:44]:<44} {r['hash']}"
                  for r in rows]
        return "\n".join(lines)

    _print(rows, as_json, text)


def aux_address(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="The miner (its address at the pool).")],
    aux_network: Annotated[str, typer.Argument(help="The aux chain (e.g. dogecoin, dogecoin-regtest).")],
    aux_addr: Annotated[str, typer.Argument(metavar="AUX_ADDRESS", help="Where that miner's aux-coin payouts go now.")],
    datadir: DatadirOpt = Path("."), database_url: UrlOpt = None, as_json: JsonOpt = False, config: ConfigOpt = None,
) -> None:
    """Change a miner's payout address on an aux chain (the first one named at authorize sticks)."""
    try:
        params = get_params(aux_network)
    except UnknownNetworkError as e:
        fail(str(e))
    if params.auxpow_chain_id is None:
        fail(f"{params.name} is not a merge-mined (AuxPoW) network")
    try:
        address_to_script(aux_addr, params)
    except ValueError as e:
        fail(f"{aux_addr!r} is not a {params.name} address: {e}", EXIT_INVALID)

    def write(conn: Connection) -> str | None:
        before = AuxAddressRepository.get(conn, address, params.name)
        AuxAddressRepository.set(conn, address, params.name, aux_addr)
        return before

    before = _read(open_database(ctx, config, datadir, database_url)[0], write)
    row = {"address": address, "network": params.name, "coin": params.coin, "payout_address": aux_addr,
           "previous": before}
    _print(row, as_json, lambda: f"{address}: {params.coin} payouts go to {aux_addr}"
                                 + (f" (was {before})" if before and before != aux_addr else ""))
