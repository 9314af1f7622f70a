"""`hashforge mine`: the mining command (register with ``app.command("mine")(mine)``)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hashforge.kernels import KernelError

from .config import build_config
from .errors import MinerError
from .logs import setup_logging
from .runner import run_miner, stats_event


def mine(
    url: Annotated[list[str] | None, typer.Option("--url", "-o", help="Pool url (repeat for failover): "
                   "stratum+tcp://host:port, stratum+ssl://host:port, or http://user:pass@host:port for solo (GBT).")] = None,
    user: Annotated[str | None, typer.Option("--user", "-u", help="Pool worker name (often ADDRESS.worker).")] = None,
    password: Annotated[str | None, typer.Option("--pass", "-p", help="Pool password.")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML config file; then $HASHFORGE_MINER_*, then flags.")] = None,
    algo: Annotated[str | None, typer.Option("--algo", "-a", help="sha256d or scrypt.")] = None,
    threads: Annotated[int | None, typer.Option("--threads", "-t", help="CPU threads (default: one per core).")] = None,
    device: Annotated[list[str] | None, typer.Option("--device", "-d", help="Devices: cpu[:THREADS], opencl[:N], cuda[:N] (no N: every device), comma-separated.")] = None,
    backend: Annotated[str | None, typer.Option("--backend", help="CPU kernel: auto, avx512, shani, avx2, sse2, scalar, python.")] = None,
    intensity: Annotated[int | None, typer.Option("--intensity", help="GPU hashes per launch (default: auto-tuned to 50-100 ms).")] = None,
    lookup_gap: Annotated[int | None, typer.Option("--lookup-gap", help="GPU scrypt lookup gap, 1-1024 (less memory, more compute; default 1).")] = None,
    solo: Annotated[bool, typer.Option("--solo", help="Mine on a node with getblocktemplate/submitblock.")] = False,
    node_rpc: Annotated[str | None, typer.Option("--node-rpc", help="Node RPC url for --solo: http://[user:pass@]host:port.")] = None,
    address: Annotated[str | None, typer.Option("--address", help="Solo: the coinbase payout address (any standard type).")] = None,
    rpc_cookie: Annotated[Path | None, typer.Option("--rpc-cookie", help="Solo: the node's .cookie file.")] = None,
    strategy: Annotated[str | None, typer.Option("--strategy", help="failover, round-robin or load-balance.")] = None,
    rotate_interval: Annotated[float | None, typer.Option("--rotate-interval", help="Seconds per pool with round-robin.")] = None,
    temp_target: Annotated[float | None, typer.Option("--temp-target", help="Throttle a device above this temperature (C).")] = None,
    temp_cutoff: Annotated[float | None, typer.Option("--temp-cutoff", help="Stop a device at this temperature (C).")] = None,
    max_load: Annotated[float | None, typer.Option("--max-load", help="Duty cycle cap in percent (1-100).")] = None,
    suggest_difficulty: Annotated[float | None, typer.Option("--suggest-difficulty", help="Send mining.suggest_difficulty.")] = None,
    no_version_rolling: Annotated[bool, typer.Option("--no-version-rolling", help="Do not ask for BIP310 version rolling.")] = False,
    tls_insecure: Annotated[bool, typer.Option("--tls-insecure", help="stratum+ssl: do not verify the pool's certificate.")] = False,
    api_listen: Annotated[str | None, typer.Option("--api-listen", help="cgminer API address (default 127.0.0.1:4028).")] = None,
    api_allow: Annotated[list[str] | None, typer.Option("--api-allow", help="cgminer syntax: W:ADDR (or W:ADDR/BITS) every command, R:ADDR (or bare) read-only, G:ADDR group G (default: loopback, read-only).")] = None,
    api_groups: Annotated[list[str] | None, typer.Option("--api-groups", help="cgminer syntax: G:command:command[:*] ('*': the reports), for G:ADDR in --api-allow.")] = None,
    no_api: Annotated[bool, typer.Option("--no-api", help="Do not serve the cgminer API.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live view; warnings and errors only.")] = False,
    json_log: Annotated[bool, typer.Option("--json-log", help="Log one JSON object per line (for services).")] = False,
    log_interval: Annotated[float | None, typer.Option("--log-interval", help="Seconds between status lines.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    benchmark: Annotated[bool, typer.Option("--benchmark", help="Mine a local job and print the devices' hash rates as JSON.")] = False,
    seconds: Annotated[float | None, typer.Option("--seconds", help="Stop after this many seconds (benchmark default 10).")] = None,
) -> None:
    """Mine on Stratum pools or solo on a node, with every device, like cgminer/cpuminer."""
    try:
        cfg = build_config(
            config, urls=url, user=user, password=password, solo=solo, node_rpc=node_rpc, address=address,
            rpc_cookie=rpc_cookie, strategy=strategy, devices=device, api_allow=api_allow, api_groups=api_groups,
            algo=algo, threads=threads, backend=backend, intensity=intensity, lookup_gap=lookup_gap,
            rotate_interval=rotate_interval, temp_target=temp_target,
            temp_cutoff=temp_cutoff, max_load=max_load, suggest_difficulty=suggest_difficulty,
            version_rolling=False if no_version_rolling else None, tls_verify=False if tls_insecure else None,
            api_listen=api_listen, quiet=quiet or None, json_log=json_log or None, log_interval=log_interval,
            benchmark=benchmark or None,
        )
    except MinerError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    if no_api or (cfg.benchmark and api_listen is None):
        from dataclasses import replace

        cfg = replace(cfg, api_listen=None)
    duration = seconds if seconds is not None else (10.0 if cfg.benchmark else None)
    live = not cfg.quiet and not cfg.json_log and not cfg.benchmark and sys.stdout.isatty()
    handler = setup_logging(cfg.json_log, cfg.quiet or (cfg.benchmark and not cfg.json_log), verbose)
    if live:  # the view shows the latest lines itself; plain stderr lines would tear it
        handler.setLevel(logging.CRITICAL)
    try:
        miner = asyncio.run(run_miner(cfg, live=live, duration=duration))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    except (MinerError, KernelError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    if cfg.benchmark:
        typer.echo(json.dumps(benchmark_report(miner), indent=2))


def benchmark_report(miner: Any) -> dict[str, Any]:
    ev = stats_event(miner)
    seconds = max(miner.uptime, 1e-9)
    return {
        "algo": miner.cfg.algo,
        "seconds": round(seconds, 3),
        "hashrate": round(miner.total_hashes() / seconds, 1),
        "hashrate_5s": ev["hashrate_5s"],
        "hardware_errors": ev["hardware_errors"],
        "devices": [
            {"name": d.name, **d.describe(), "hashes": d.stats.meter.total,
             "hashrate": round(d.stats.meter.total / seconds, 1),
             "temperature": d.last_telemetry.temperature, "power": d.last_telemetry.power}
            for d in miner.devices
        ],
    }
