"""`hashforge api` (serve the API and dashboard) and `hashforge api-key create|list|revoke`.

Registered by the top-level CLI: `app.command("api")(api)` and `app.add_typer(api_key_app, name="api-key")`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hashforge.cliutil import fail
from hashforge.consensus.params import UnknownNetworkError, get_params
from hashforge.logs import setup_logging

if TYPE_CHECKING:
    from hashforge.consensus.params import ChainParams
    from hashforge.services.registry import Components

    from .settings import ApiSettings

from hashforge.services.keys import KeyStore, KeyStoreError, parse_scopes

api_key_app = typer.Typer(help="Mint, list and revoke API keys (stored hashed in the datadir).", no_args_is_help=True)


def _fail(message: str, code: int = 2) -> None:
    fail(message, code)


def default_datadir(network: str) -> Path:
    return Path.home() / ".hashforge" / network


def api(
    ctx: typer.Context,
    network: Annotated[str, typer.Option("--network", "-n", help="Network of the node (sets the defaults).")] = "devnet",
    node_rpc: Annotated[str | None, typer.Option("--node-rpc", help="Node JSON-RPC URL (default: the network's port on 127.0.0.1).")] = None,
    node_cookie: Annotated[Path | None, typer.Option("--node-cookie", help="Node RPC cookie file (default: <node datadir>/.cookie).")] = None,
    node_user: Annotated[str | None, typer.Option("--node-user", help="Node RPC user (instead of the cookie).")] = None,
    node_password: Annotated[str | None, typer.Option("--node-password", help="Node RPC password (or $HASHFORGE_API_NODE_PASSWORD).")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to bind; keys are needed for reads unless it is loopback.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to bind (0: any free one).")] = 8420,
    datadir: Annotated[Path | None, typer.Option("--datadir", help="Where the API keys live (default ~/.hashforge/NETWORK).")] = None,
    anonymous_read: Annotated[bool | None, typer.Option("--anonymous-read/--no-anonymous-read", help="Allow reads without a key (default: only on loopback).")] = None,
    rate: Annotated[float, typer.Option("--rate", help="Requests per second per key or client.")] = 20.0,
    burst: Annotated[int, typer.Option("--burst", help="Requests a client may burst.")] = 60,
    cors_origin: Annotated[list[str] | None, typer.Option("--cors-origin", help="Allow this browser origin (repeatable; CORS is off by default).")] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning, error.")] = "warning",
    pool_api: Annotated[str | None, typer.Option("--pool-api", help="The pool's REST API (hashforge pool --api-port), http://HOST:PORT/.")] = None,
    pool_api_cookie: Annotated[Path | None, typer.Option("--pool-api-cookie", help="The pool API's secret: the pool's DATADIR/api.cookie.")] = None,
    stratum_ws: Annotated[str | None, typer.Option("--stratum-ws", help="The pool's WebSocket Stratum port for browser mining (/mine): ws://HOST:PORT, or :PORT for the dashboard's host.")] = None,
    miner_api: Annotated[str | None, typer.Option("--miner-api", help="A miner's cgminer API, HOST:PORT (control needs the miner's --api-allow W:...).")] = None,
    wallet_dir: Annotated[Path | None, typer.Option("--wallet-dir", help="A hashforge wallet to serve (balance, addresses, history, send).")] = None,
    wallet_passphrase_file: Annotated[Path | None, typer.Option("--wallet-passphrase-file", help="File holding the wallet passphrase (sending needs it; else read-only).")] = None,
    ops_dir: Annotated[Path | None, typer.Option("--ops-dir", help="Where profitability, alert and tax records live (default DATADIR/ops).")] = None,
    ops: Annotated[bool, typer.Option("--ops/--no-ops", help="Serve the operations component (profit, alerts, tax).")] = True,
    config: Annotated[Path | None, typer.Option("--config", help="TOML file of these settings (keys as in ApiSettings); then $HASHFORGE_API_*, then flags.")] = None,
) -> None:
    """Serve the REST API (/v1) and the web dashboard, reading the chain from the node's JSON-RPC."""
    from hashforge.rpcclient import AsyncRPCClient
    from hashforge.services.events import EventBus
    from hashforge.services.node import NodeGateway
    from hashforge.services.registry import Components
    from hashforge.settings import SettingsError, passed

    from .server import ApiServer

    given = passed(
        ctx, network=("network", network), node_rpc_url=("node_rpc", node_rpc), node_cookie=("node_cookie", node_cookie),
        node_user=("node_user", node_user), node_password=("node_password", node_password), host=("host", host),
        port=("port", port), datadir=("datadir", datadir), anonymous_read=("anonymous_read", anonymous_read),
        rate_per_s=("rate", rate), rate_burst=("burst", burst),
        cors_origins=("cors_origin", tuple(cors_origin) if cors_origin else None), log_level=("log_level", log_level),
        pool_api=("pool_api", pool_api), pool_api_cookie=("pool_api_cookie", pool_api_cookie),
        stratum_ws=("stratum_ws", stratum_ws), miner_api=("miner_api", miner_api), wallet_dir=("wallet_dir", wallet_dir),
        wallet_passphrase_file=("wallet_passphrase_file", wallet_passphrase_file), ops_dir=("ops_dir", ops_dir),
        ops=("ops", ops),
    )
    try:
        settings = api_settings(config, given)
    except SettingsError as e:
        _fail(str(e))
        return
    params = get_params(settings.network or "devnet")
    log_level = settings.log_level
    try:
        setup_logging(log_level)
    except ValueError as e:
        _fail(f"--log-level: {e}")
        return
    try:
        rpc = AsyncRPCClient(settings.node_rpc_url, user=settings.node_user, password=settings.node_password,
                             cookie=settings.node_cookie, timeout=settings.node_timeout_s)
    except (OSError, ValueError) as e:
        _fail(f"cannot read node credentials: {e} (is the node running? pass --node-cookie or --node-user)")
        return
    components = Components(node=NodeGateway(rpc), bus=EventBus(settings.event_buffer))
    try:
        _attach(components, settings, params, settings.pool_api, settings.miner_api, settings.wallet_dir,
                settings.wallet_passphrase_file, pool_cookie=settings.pool_api_cookie)
        if settings.ops:
            from hashforge.ops.gateway import OpsGateway

            from .attach import ops_component

            components.add(ops_component(OpsGateway(settings.ops_dir or settings.datadir / "ops", params, components)))
    except ValueError as e:
        _fail(str(e))
        return
    try:
        server = ApiServer(settings, components, log_level=log_level)
    except OSError as e:
        _fail(f"cannot listen on {settings.host}:{settings.port}: {e.strerror or e}")
        return
    except (KeyStoreError, ValueError) as e:
        _fail(f"cannot open the API key table in {settings.datadir}: {e}")
        return
    policy = "anonymous reads allowed" if not settings.reads_need_key else "keys required for every call"
    attached = ", ".join(components.extras) or "no components"
    typer.echo(f"hashforge API on {server.url}/v1 and dashboard on {server.url}/ ({policy}); node {settings.node_rpc_url}; "
               f"{attached}", err=True)

    async def main() -> None:
        wallet = components.gateway("wallet")
        try:
            if wallet is not None:
                await wallet.open()
            await server.serve()
        finally:
            await components.node.aclose()

    from .errors import APIError

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
    except APIError as e:  # the wallet would not open or unlock
        _fail(f"wallet {settings.wallet_dir}: {e.detail or e.title}", 1)


def api_settings(config: Path | None, given: dict[str, tuple[Any, str]]) -> ApiSettings:
    """The API's settings from `config`, $HASHFORGE_API_* and the flags `given`, with the defaults of
    its network (datadir ~/.hashforge/NETWORK, the node's RPC port and cookie): what `hashforge api`
    serves with and the key commands open. SettingsError (one line) when bad."""
    from hashforge.settings import SettingsError, collect

    from .settings import ApiSettings

    layers = collect(ApiSettings, config, given)
    try:
        params = get_params(layers.get("network") or "devnet")  # the defaults below are the network's
    except UnknownNetworkError as e:
        raise SettingsError(f"bad configuration: {layers.where(('network',))}: {e}") from None
    node_dir = default_datadir(params.name)
    layers.default("network", params.name)
    layers.default("datadir", node_dir)
    layers.default("node_rpc_url", f"http://127.0.0.1:{params.rpc_port}/")
    if layers.get("node_user") is None:
        layers.default("node_cookie", node_dir / ".cookie")
    return layers.build(ApiSettings)


def _attach(components: Components, settings: ApiSettings, params: ChainParams, pool_api: str | None,
            miner_api: str | None, wallet_dir: Path | None, passphrase_file: Path | None,
            pool_cookie: Path | None = None) -> None:
    """Adds the components given on the command line (ValueError: a one-line reason)."""
    from hashforge.services.gateways.miner import MinerGateway, parse_listen
    from hashforge.services.gateways.pool import PoolGateway, pool_base_url

    from .attach import miner_component, pool_component, wallet_component

    if pool_api is not None:
        pool_base_url(pool_api)  # a bad URL is the first thing to say
        if pool_cookie is None:
            raise ValueError("--pool-api needs --pool-api-cookie (the pool's DATADIR/api.cookie)")
        components.add(pool_component(PoolGateway(pool_api, pool_cookie), components.bus))
    if miner_api is not None:
        host, port = parse_listen(miner_api)
        components.add(miner_component(MinerGateway(host, port)))
    if wallet_dir is None:
        if passphrase_file is not None:
            raise ValueError("--wallet-passphrase-file needs --wallet-dir")
        return
    from hashforge.rpcclient import RPCClient
    from hashforge.services.gateways.wallet import WalletGateway

    passphrase = None
    if passphrase_file is not None:
        try:
            passphrase = passphrase_file.read_text().rstrip("\n")
        except OSError as e:
            raise ValueError(f"cannot read the wallet passphrase file {passphrase_file}: {e.strerror or e}") from None
    try:
        rpc = RPCClient(settings.node_rpc_url, settings.node_user, settings.node_password, settings.node_cookie,
                        timeout=settings.node_timeout_s)
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read node credentials for the wallet: {e}") from None
    components.add(wallet_component(WalletGateway(wallet_dir, params, rpc, passphrase)))


def _store(ctx: typer.Context, config: Path | None, network: str, datadir: Path | None) -> KeyStore:
    """The key table of the API these settings describe: `--config` and $HASHFORGE_API_* as
    `hashforge api` reads them, then --network and --datadir if typed."""
    from hashforge.settings import SettingsError, passed

    try:
        path = api_settings(config, passed(ctx, network=("network", network), datadir=("datadir", datadir))).keys_path
    except SettingsError as e:
        _fail(str(e))
        raise
    try:
        return KeyStore(path)
    except (OSError, Exception) as e:  # sqlite3.Error is not an OSError
        _fail(f"cannot open {path}: {e}")
        raise


NetworkOpt = Annotated[str, typer.Option("--network", "-n", help="Network (sets the default datadir).")]
DatadirOpt = Annotated[Path | None, typer.Option("--datadir", help="Datadir of the API (default ~/.hashforge/NETWORK).")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="The API's TOML settings (as `hashforge api --config`: its "
                                                "datadir and network); then $HASHFORGE_API_*, then flags.")]


@api_key_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="A name for the key (who or what uses it).")],
    scope: Annotated[str, typer.Option("--scope", help="Comma-separated: read, control, spend.")] = "read",
    network: NetworkOpt = "devnet",
    datadir: DatadirOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Mint a key; the token is printed once and stored only as a hash."""
    try:
        scopes = parse_scopes(scope)
    except KeyStoreError as e:
        _fail(str(e))
        return
    store = _store(ctx, config, network, datadir)
    try:
        key, token = store.create(name, scopes)
    except KeyStoreError as e:
        _fail(str(e), 1)
        return
    finally:
        store.close()
    if json_output:
        typer.echo(json.dumps({"name": key.name, "id": key.id, "scopes": sorted(key.scopes), "token": token}))
        return
    typer.echo(token)
    typer.echo(f"key {key.name!r} ({', '.join(sorted(key.scopes))}) created; this token is shown once — store it now.",
               err=True)


@api_key_app.command("list")
def list_keys(
    ctx: typer.Context,
    network: NetworkOpt = "devnet",
    datadir: DatadirOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    config: ConfigOpt = None,
) -> None:
    """List keys (names, scopes, state; never tokens)."""
    store = _store(ctx, config, network, datadir)
    try:
        keys = store.list()
    finally:
        store.close()
    rows = [{"name": k.name, "id": k.id, "scopes": sorted(k.scopes), "created": k.created, "revoked": k.revoked}
            for k in keys]
    if json_output:
        typer.echo(json.dumps(rows))
        return
    for k in keys:
        typer.echo(f"{k.name:24} {','.join(sorted(k.scopes)):20} {'revoked' if k.revoked else 'active'}")


@api_key_app.command("revoke")
def revoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="The key to revoke.")],
    network: NetworkOpt = "devnet",
    datadir: DatadirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Revoke a key at once (running APIs notice without a restart)."""
    store = _store(ctx, config, network, datadir)
    try:
        store.revoke(name)
    except KeyStoreError as e:
        _fail(str(e), 1)
    finally:
        store.close()
    typer.echo(f"key {name!r} revoked", err=True)


def standalone() -> typer.Typer:
    """`python -m hashforge.api ...`: the same commands before the top-level CLI registers them."""
    app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    app.command("api")(api)
    app.add_typer(api_key_app, name="api-key")
    return app
