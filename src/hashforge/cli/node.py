"""`hashforge node`: run a full node with a Bitcoin Core-compatible JSON-RPC server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from hashforge.consensus.params import UnknownNetworkError, get_params
from hashforge.logs import setup_logging
from hashforge.schema import SchemaError

from .errors import fail


def node(
    network: Annotated[str, typer.Option("--network", "-n", help="regtest, devnet, scryptnet, testnet4, signet, mainnet, ...")] = "regtest",
    datadir: Annotated[Path | None, typer.Option("--datadir", help="Data directory (default ~/.hashforge/NETWORK).")] = None,
    rpc_host: Annotated[str, typer.Option("--rpc-bind", help="Address the RPC server binds.")] = "127.0.0.1",
    rpc_port: Annotated[int | None, typer.Option("--rpc-port", help="RPC port (default: the network's).")] = None,
    rpc_user: Annotated[str | None, typer.Option("--rpc-user", help="RPC user (the .cookie file always works too).")] = None,
    rpc_password: Annotated[str | None, typer.Option("--rpc-password", help="RPC password.")] = None,
    rpcthreads: Annotated[
        int | None, typer.Option("--rpcthreads", help="RPC requests executed at once (default 16, as Core).")
    ] = None,
    rpcworkqueue: Annotated[
        int | None,
        typer.Option("--rpcworkqueue", help="RPC requests waiting beyond those; more connections get 503 (default 64)."),
    ] = None,
    rpcservertimeout: Annotated[
        float | None, typer.Option("--rpcservertimeout", help="Seconds for a whole RPC request to arrive (default 30).")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML config file; flags override it.")] = None,
    script_threads: Annotated[int | None, typer.Option("--script-threads", help="Threads (or processes) verifying signatures.")] = None,
    script_workers: Annotated[
        str | None, typer.Option("--script-workers", help="thread or process: what verifies signatures.")
    ] = None,
    log_format: Annotated[str, typer.Option("--log-format", help="text or json.")] = "text",
    listen: Annotated[
        bool | None, typer.Option("--listen/--no-listen", help="Accept P2P connections (default: yes).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="P2P port (default: the network's).")] = None,
    bind: Annotated[list[str] | None, typer.Option("--bind", help="Address to listen on for P2P (repeatable).")] = None,
    connect: Annotated[
        list[str] | None, typer.Option("--connect", help="Connect only to this peer (repeatable; 0: no outbound).")
    ] = None,
    addnode: Annotated[list[str] | None, typer.Option("--addnode", help="Also keep a connection to this peer (repeatable).")] = None,
    maxconnections: Annotated[int | None, typer.Option("--maxconnections", help="Most P2P connections (default 125).")] = None,
    dbcache: Annotated[
        int | None,
        typer.Option("--dbcache", help="MiB of UTXO cache in front of the chainstate database (default: 450, less on small machines; 0 writes every block through)."),
    ] = None,
    reindex: Annotated[
        bool, typer.Option("--reindex", help="Rebuild the block index and chainstate from the block files.")
    ] = False,
    assumevalid: Annotated[
        str | None,
        typer.Option("--assumevalid", help="Block hash whose ancestors' scripts are not checked (default: Core's for the network; 0: check all)."),
    ] = None,
) -> None:
    """Run a full node: validates blocks and transactions, keeps the UTXO set, serves JSON-RPC."""
    from hashforge.node.config import NodeConfig
    from hashforge.node.progress import StartupProgress
    from hashforge.node.rpc.server import RPCLimits
    from hashforge.node.service import run_node

    try:
        params = get_params(network)
    except UnknownNetworkError as e:
        fail(str(e))
    if params.coin != "BTC":
        fail(f"hashforge node is a Bitcoin node; for {params.name} run its own node ({params.coin}: "
             f"{'litecoind' if params.coin == 'LTC' else 'dogecoind'}) and point hashforge pool at its RPC, "
             f"or let `hashforge up --network litecoin...` run it")
    if rpc_port is not None and not 0 <= rpc_port <= 65535:
        fail(f"--rpc-port must be 0..65535, not {rpc_port}")
    if script_workers is not None and script_workers not in ("thread", "process"):
        fail(f"--script-workers must be thread or process, not {script_workers!r}")
    if port is not None and not 0 < port <= 65535:
        fail(f"--port must be 1..65535, not {port}")
    if dbcache is not None and dbcache < 0:
        fail(f"--dbcache must be 0 or more MiB, not {dbcache}")
    if assumevalid is not None:
        from hashforge.node.chain import parse_assume_valid

        try:
            parse_assume_valid(assumevalid, network)
        except ValueError as e:
            fail(f"--{e}")
    if maxconnections is not None and maxconnections < 0:
        fail(f"--maxconnections must be 0 or more, not {maxconnections}")
    if rpcthreads is not None and rpcthreads < 1:
        fail(f"--rpcthreads must be 1 or more, not {rpcthreads}")
    if rpcworkqueue is not None and rpcworkqueue < 0:
        fail(f"--rpcworkqueue must be 0 or more, not {rpcworkqueue}")
    if rpcservertimeout is not None and not rpcservertimeout > 0:
        fail(f"--rpcservertimeout must be more than 0 seconds, not {rpcservertimeout}")
    if (rpc_user is None) != (rpc_password is None):
        fail("--rpc-user and --rpc-password go together")
    overrides = {
        "network": network,
        "datadir": datadir,
        "rpc_host": rpc_host,
        "rpc_port": rpc_port,
        "rpc_user": rpc_user,
        "rpc_password": rpc_password,
        "rpc_threads": rpcthreads,
        "rpc_work_queue": rpcworkqueue,
        "rpc_server_timeout": rpcservertimeout,
        "script_threads": script_threads,
        "script_workers": script_workers,
        "listen": listen,
        "p2p_port": port,
        "bind": bind or None,
        "connect": connect or None,
        "addnode": addnode or None,
        "max_connections": maxconnections,
        "dbcache_mib": dbcache,
        "reindex": reindex or None,
        "assume_valid": assumevalid,
    }
    try:
        if config is not None:
            cfg = NodeConfig.from_toml(config, **overrides)
        else:
            cfg = NodeConfig(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
        RPCLimits(cfg.rpc_threads, cfg.rpc_work_queue, cfg.rpc_server_timeout)  # a config file's values too
    except (OSError, ValueError, TypeError) as e:
        fail(f"bad configuration: {e}")
    _setup_logging(log_format)

    def started(n: object) -> None:
        from hashforge.node.service import Node

        assert isinstance(n, Node) and n.rpc is not None
        typer.echo(
            f"hashforge node on {n.params.name}: height {n.chain_height}, "
            f"RPC http://{cfg.rpc_host}:{n.rpc.port} (cookie {n.cookie_path}), datadir {n.datadir}",
            err=True,
        )

    progress = StartupProgress(sys.stderr)  # a Rich bar on a terminal, log lines otherwise
    try:
        asyncio.run(run_node(cfg, started, progress))
    except OSError as e:
        fail(f"cannot start node: {e}")
    except SchemaError as e:  # a chainstate a newer hashforge wrote
        fail(str(e))
    except KeyboardInterrupt:
        sys.exit(0)
    finally:
        progress.close()


def _setup_logging(fmt: str) -> None:
    try:
        setup_logging("INFO", fmt)
    except ValueError as e:
        fail(f"--log-format: {e}")
