"""The `hashforge` command line (Typer) assembled: one sub-app or command per component.

Errors of our own print one line to stderr and exit 2 for bad input (as Typer's usage errors do),
1 when the input was read but is wrong (a rule violation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hashforge import __version__
from hashforge.api.cli import api, api_key_app, api_settings
from hashforge.kernels.bench import register as register_bench
from hashforge.miner.cli import mine
from hashforge.ops.alerts.cli import alerts_app
from hashforge.ops.ledger.cli import tax_app
from hashforge.ops.profit.cli import calc_app
from hashforge.pool.cli import pool_app
from hashforge.pool.contracts.cli import (
    KeyMintRefused,
    KeyMintUnavailable,
    contracts_app,
    use_key_minter,
)
from hashforge.services.keys import KeyStoreError, KeyStoreUnavailable, mint_customer_key
from hashforge.settings import SettingsError
from hashforge.wallet.cli import wallet_app

from .headers import headers_app
from .node import node
from .up import up

app = typer.Typer(
    name="hashforge",
    help="hashforge: a proof-of-work mining stack, Bitcoin-compatible.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"hashforge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """hashforge: a proof-of-work mining stack, Bitcoin-compatible."""


# --- components ------------------------------------------------------------------------------
# Register each component here, one line each: a sub-app (`app.add_typer(x_app, name="x")`) for a
# group of commands, or `app.command("name")(function)` for a single one. Keep the command code in
# the component's own module (cli/<name>.py or the component package).
app.add_typer(headers_app, name="headers")
app.command("up")(up)
app.command("node")(node)
app.command("api")(api)
app.add_typer(api_key_app, name="api-key")
app.add_typer(wallet_app, name="wallet")
app.add_typer(pool_app, name="pool")
app.command("mine")(mine)
register_bench(app)
app.add_typer(calc_app, name="calc")
app.add_typer(alerts_app, name="alerts")
app.add_typer(tax_app, name="tax")
app.add_typer(contracts_app, name="contracts")


def _mint_customer_key(api_config: Path | None, api_datadir: Path | None, customer: str,
                       name: str | None) -> tuple[str, str]:
    """`hashforge contracts customer-key`: the pool's CLI checks the customer, the API's key store (in
    the datadir `hashforge api --config` would use) mints."""
    try:
        given = {"datadir": (api_datadir, "--api-datadir")} if api_datadir is not None else {}
        datadir = api_settings(api_config, given).datadir
    except SettingsError as e:
        raise KeyMintUnavailable(str(e)) from e
    try:
        key, token = mint_customer_key(datadir, customer, name)
    except KeyStoreUnavailable as e:
        raise KeyMintUnavailable(str(e)) from e
    except KeyStoreError as e:
        raise KeyMintRefused(str(e)) from e
    return key.name, token


use_key_minter(_mint_customer_key)


def main() -> None:
    """Console-script entry point (`hashforge = "hashforge.cli:main"` calls this)."""
    app()
