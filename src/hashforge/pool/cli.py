"""`hashforge pool`: runs the Stratum pool (and optionally its REST API) against a node.

Register in hashforge/cli/commands.py with:  app.add_typer(pool_app, name="pool")
(`pool` alone is the command that runs the pool; `pool_app` adds the books' subcommands, bookscli.py).

Settings come from --config (TOML, see config.py for the sections), then HASHFORGE_POOL_*
variables, then the flags given (hashforge.settings). Payouts need a
PayoutWallet: `run_pool(cfg, wallet)` is the entry point for code that has one; the command
alone runs without payouts (balances accrue in the ledger) until the wallet is plugged in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from hashforge.logs import setup_logging
from hashforge.rpcclient import split_rpc_url
from hashforge.schema import SchemaError
from hashforge.settings import passed

from . import bookscli
from .api import create_app, pool_router
from .apiguard import COOKIE_FILE, ensure_cookie
from .config import PoolConfig, load_settings
from .errors import PoolError
from .merged import AuxChainConfig
from .payouts import PayoutWallet
from .service import PoolService

log = logging.getLogger(__name__)


async def run_pool(cfg: PoolConfig, wallet: PayoutWallet | None = None, stop: asyncio.Event | None = None, *,
                   api_hosts: tuple[str, ...] = (), api_origins: tuple[str, ...] = (),
                   aux_chains: tuple[AuxChainConfig, ...] = (),
                   aux_wallets: dict[str, PayoutWallet] | None = None) -> None:
    """The pool until `stop`; its REST API (cfg.api_port) behind the guard: the cookie in the datadir,
    Host names and browser origins allowed besides loopback (apiguard.py); `aux_chains` merge-mined,
    each paid by its wallet in `aux_wallets` (by network) when there is one."""
    service = PoolService(cfg, wallet, aux_chains=aux_chains, aux_wallets=aux_wallets)
    await service.start()
    api_task = None
    if cfg.api_port is not None:
        import uvicorn

        bound = () if cfg.api_host in ("0.0.0.0", "::", "") else (cfg.api_host,)
        app = create_app(pool_router(service.engine, service.metrics, service, scheme=cfg.accounting.scheme.value,
                                     fee_percent=cfg.accounting.fee_percent, scrypt=service.stratifier.scrypt,
                                     aux_networks=tuple(service.aux_accountants)),
                         secret=ensure_cookie(cfg.datadir / COOKIE_FILE), hosts=bound + api_hosts, origins=api_origins)

        class _Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:  # the pool handles the signals
                yield

        server = _Server(uvicorn.Config(app, host=cfg.api_host, port=cfg.api_port, log_level="warning"))
        api_task = asyncio.create_task(server.serve())
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    typer.echo(f"pool listening on {cfg.connector.host}:{service.stratum_port}", err=True)
    if service.websocket is not None:
        typer.echo(f"pool websocket on ws://{service.websocket.host}:{service.websocket.bound_port}", err=True)
    await stop.wait()
    if api_task is not None:
        # uvicorn's own shutdown, not a cancel: a cancelled lifespan logs a CancelledError traceback
        server.should_exit = True
        try:
            await asyncio.wait_for(api_task, 5.0)
        except TimeoutError:
            log.warning("the pool API did not stop within 5 s")
    await service.stop()


def _run(coro_factory: object) -> None:
    try:
        import uvloop

        uvloop.run(coro_factory)  # type: ignore[arg-type]
    except ImportError:
        asyncio.run(coro_factory)  # type: ignore[arg-type]


def _payout_wallet(network: str, node: tuple[str, str | None, str | None, Path | None], wallet_dir: Path,
                   passphrase_file: Path | None) -> PayoutWallet:
    """The hashforge wallet in `wallet_dir` paying in the coin of `network` through `node` (URL, user,
    password, cookie)."""
    import os

    from hashforge.consensus.params import get_params
    from hashforge.rpcclient import RPCClient

    from .wallet_payouts import WalletPayouts

    try:
        if passphrase_file is not None:
            passphrase = passphrase_file.read_text().rstrip("\n")
        else:
            passphrase = os.environ["HASHFORGE_WALLET_PASSPHRASE"]
    except (OSError, KeyError):
        typer.echo("error: the payout wallet needs --wallet-passphrase-file or $HASHFORGE_WALLET_PASSPHRASE", err=True)
        raise typer.Exit(2) from None
    return WalletPayouts(wallet_dir, passphrase, get_params(network), RPCClient(*node))


def _aux_wallets(dirs: tuple[tuple[str, Path], ...], aux: tuple[AuxChainConfig, ...],
                 passphrase_file: Path | None) -> dict[str, PayoutWallet]:
    """aux_wallet_dirs (--aux-wallet-dir NETWORK=DIR): that aux chain's balances paid by the wallet in
    DIR through its node (the settings checked that NETWORK is one of `aux`)."""
    wallets: dict[str, PayoutWallet] = {}
    for network, folder in dirs:
        chain = next(c for c in aux if c.network == network)
        wallets[chain.network] = _payout_wallet(chain.network, (chain.node_url, chain.node_user, chain.node_password,
                                                                chain.node_cookie), folder, passphrase_file)
    return wallets


def pool(
    ctx: typer.Context,
    node_rpc: Annotated[str, typer.Option("--node-rpc", help="Node RPC URL, http://USER:PASS@HOST:PORT.")] = "http://127.0.0.1:18443/",
    node_cookie: Annotated[Path | None, typer.Option("--node-cookie", help="Node RPC cookie file (instead of USER:PASS).")] = None,
    stratum_port: Annotated[int | None, typer.Option("--stratum-port", help="Stratum TCP port.")] = None,
    stratum_host: Annotated[str | None, typer.Option("--stratum-host", help="Address to bind.")] = None,
    ws_port: Annotated[int | None, typer.Option("--ws-port", help="Stratum over WebSocket for browser miners (0: any free port).")] = None,
    ws_host: Annotated[str | None, typer.Option("--ws-host", help="Address the WebSocket port binds (default: the Stratum host).")] = None,
    ws_origin: Annotated[list[str] | None, typer.Option("--ws-origin", help="Browser origin allowed on the WebSocket port (repeatable; '*': any; default: loopback pages on that port).")] = None,
    api_port: Annotated[int | None, typer.Option("--api-port", help="Serve the pool REST API here (its clients need DATADIR/api.cookie).")] = None,
    api_host_name: Annotated[list[str] | None, typer.Option("--api-host-name", help="A Host name the REST API answers besides loopback (repeatable).")] = None,
    api_origin: Annotated[list[str] | None, typer.Option("--api-origin", help="A browser origin the REST API accepts (repeatable; default none).")] = None,
    scheme: Annotated[str | None, typer.Option("--scheme", help="solo, pplns, pps or prop.")] = None,
    pool_address: Annotated[str | None, typer.Option("--pool-address", help="Address the pooled coinbase (and SOLO fee) pays.")] = None,
    fee: Annotated[float | None, typer.Option("--fee", help="Pool fee, percent.")] = None,
    datadir: Annotated[Path | None, typer.Option("--datadir", help="Pool data directory (SQLite database, spill file).")] = None,
    network: Annotated[str | None, typer.Option("--network", "-n", help="regtest, devnet, scryptnet, testnet4, mainnet, litecoin, litecoin-testnet4, litecoin-regtest, ...")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL (postgresql://...); default SQLite in the datadir.")] = None,
    instance_id: Annotated[int | None, typer.Option("--instance-id", help="0-255, unique per pool process sharing a database.")] = None,
    start_difficulty: Annotated[float | None, typer.Option("--start-difficulty", help="Initial share difficulty (at most the network's).")] = None,
    min_difficulty: Annotated[float | None, typer.Option("--min-difficulty", help="Operator's minimum share difficulty: vardiff and miners' suggestions never go below it (default per network: 1e-5 regtest/devnet, 1e-3 scryptnet and real networks).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML config file; then $HASHFORGE_POOL_*, then flags.")] = None,
    wallet_dir: Annotated[Path | None, typer.Option("--wallet-dir", help="hashforge wallet that pays the payouts (PPLNS/PPS/PROP).")] = None,
    wallet_passphrase_file: Annotated[Path | None, typer.Option("--wallet-passphrase-file", help="File holding the wallet passphrase (else $HASHFORGE_WALLET_PASSPHRASE).")] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="DEBUG, INFO, WARNING.")] = "INFO",
    aux_chain: Annotated[list[str] | None, typer.Option("--aux-chain", help="Merge-mine an AuxPoW chain: NETWORK,RPC_URL,ADDRESS[,COOKIE_FILE] (e.g. dogecoin,http://u:p@127.0.0.1:22555/,D...; COOKIE_FILE holds USER:PASSWORD, kept off the command line; repeatable; scrypt parent only). Miners name their payout address on it in the password: doge=ADDRESS.")] = None,
    aux_wallet_dir: Annotated[list[str] | None, typer.Option("--aux-wallet-dir", help="NETWORK=DIR: the hashforge wallet that pays an aux chain's balances (repeatable; same passphrase).")] = None,
) -> None:
    """Run the Stratum v1 mining pool against a Bitcoin Core-compatible node (with no command), or
    read its books per coin (balances, blocks) and set a miner's aux payout address."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        setup_logging(log_level)
    except ValueError as e:
        typer.echo(f"error: --log-level: {e}", err=True)
        raise typer.Exit(2) from None
    given = passed(
        ctx, node_cookie=("node_cookie", node_cookie), api_port=("api_port", api_port), datadir=("datadir", datadir),
        network=("network", network), **{
            "connector.port": ("stratum_port", stratum_port), "connector.host": ("stratum_host", stratum_host),
            "accounting.scheme": ("scheme", scheme), "accounting.pool_address": ("pool_address", pool_address),
            "accounting.fee_percent": ("fee", fee), "recorder.database_url": ("database_url", database_url),
            "stratifier.instance_id": ("instance_id", instance_id),
            "vardiff.start_difficulty": ("start_difficulty", start_difficulty),
            "vardiff.min_difficulty": ("min_difficulty", min_difficulty),
            "connector.ws_port": ("ws_port", ws_port), "connector.ws_host": ("ws_host", ws_host),
            "connector.ws_origins": ("ws_origin", tuple(ws_origin) if ws_origin else None),
            "aux_chains": ("aux_chain", tuple(aux_chain) if aux_chain else None),
            "aux_wallet_dirs": ("aux_wallet_dir", tuple(aux_wallet_dir) if aux_wallet_dir else None)})
    if passed(ctx, node_url=("node_rpc", node_rpc)):  # USER:PASS in the URL are two more settings
        url, user, password = split_rpc_url(node_rpc)
        given.update({k: (v, "--node-rpc") for k, v in (("node_url", url), ("node_user", user),
                                                        ("node_password", password)) if v is not None})
    try:
        cfg = load_settings(config, given)
    except PoolError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    if (cfg.node_user is None or cfg.node_password is None) and cfg.node_cookie is None:
        typer.echo("error: the pool needs the node's RPC credentials: http://USER:PASS@HOST:PORT in --node-rpc, "
                   "or --node-cookie FILE", err=True)
        raise typer.Exit(2)
    if cfg.node_cookie is not None and not cfg.node_cookie.is_file():
        typer.echo(f"error: --node-cookie: {cfg.node_cookie}: no such file (is the node running?)", err=True)
        raise typer.Exit(2)
    wallet = None
    if wallet_dir is not None:
        wallet = _payout_wallet(cfg.network, (cfg.node_url, cfg.node_user, cfg.node_password, cfg.node_cookie),
                                wallet_dir, wallet_passphrase_file)
    aux_wallets = _aux_wallets(cfg.aux_wallet_dirs, cfg.aux_chains, wallet_passphrase_file)
    try:
        _run(run_pool(cfg, wallet, api_hosts=tuple(api_host_name or ()), api_origins=tuple(api_origin or ()),
                     aux_chains=cfg.aux_chains, aux_wallets=aux_wallets))
    except SchemaError as e:  # a database a newer hashforge migrated
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    except PoolError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None


pool_app = typer.Typer(help="Run the Stratum pool, or read its books per coin.", add_completion=False)
pool_app.callback(invoke_without_command=True)(pool)
pool_app.command("balances")(bookscli.balances)
pool_app.command("blocks")(bookscli.blocks)
pool_app.command("aux-address")(bookscli.aux_address)
