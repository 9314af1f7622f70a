"""`hashforge node`: run a full node with a Bitcoin Core-compatible JSON-RPC server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from hashforge.logs import setup_logging
from hashforge.schema import SchemaError

from .errors import fail


def node(
    ctx: typer.Context,
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
    config: Annotated[Path | None, typer.Option("--config", help="TOML config file; then $HASHFORGE_NODE_*, then flags.")] = None,
    script_threads: Annotated[int | None, typer.Option("--script-threads", help="Threads (or processes) verifying signatures.")] = None,
    script_workers: Annotated[
        str | None, typer.Option("--script-workers", help="inline (default; P2WPKH signatures on native threads meanwhile), thread or process: what verifies signatures (process: in parallel, in worker processes).")
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
    minimumchainwork: Annotated[
        str | None,
        typer.Option("--minimumchainwork", help="Hex chain work below which no blocks are downloaded from a peer and the node stays in initial sync (default: Core's for the network; 0 on regtest)."),
    ] = None,
) -> None:
    """Run a full node: validates blocks and transactions, keeps the UTXO set, serves JSON-RPC."""
    from hashforge.node.config import NodeSettings
    from hashforge.node.progress import StartupProgress
    from hashforge.node.service import run_node
    from hashforge.settings import SettingsError, load, passed

    given = passed(
        ctx,
        network=("network", network), datadir=("datadir", datadir), rpc_host=("rpc_host", rpc_host),
        rpc_port=("rpc_port", rpc_port), rpc_user=("rpc_user", rpc_user), rpc_password=("rpc_password", rpc_password),
        rpc_threads=("rpcthreads", rpcthreads), rpc_work_queue=("rpcworkqueue", rpcworkqueue),
        rpc_server_timeout=("rpcservertimeout", rpcservertimeout), script_threads=("script_threads", script_threads),
        script_workers=("script_workers", script_workers), listen=("listen", listen), p2p_port=("port", port),
        bind=("bind", bind or None), connect=("connect", connect or None), addnode=("addnode", addnode or None),
        max_connections=("maxconnections", maxconnections), dbcache_mib=("dbcache", dbcache),
        reindex=("reindex", reindex or None), assume_valid=("assumevalid", assumevalid),
        minimum_chain_work=("minimumchainwork", minimumchainwork),
    )
    try:
        cfg = load(NodeSettings, config, given, table="node").config()
    except SettingsError as e:
        fail(str(e))
    params = cfg.params
    if params.coin != "BTC":
        fail(f"hashforge node is a Bitcoin node; for {params.name} run its own node ({params.coin}: "
             f"{'litecoind' if params.coin == 'LTC' else 'dogecoind'}) and point hashforge pool at its RPC, "
             f"or let `hashforge up --network litecoin...` run it")
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
