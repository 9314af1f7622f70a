"""The `hashforge up` run loop: start the parts with progress, report blocks, stop cleanly."""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from rich.console import Console

from hashforge.consensus.params import ChainParams
from hashforge.rpcclient import RPCClientError, RPCTransportError, split_rpc_url

from .operation import Operation, Ports, UpError, check_port_free, lock_datadir
from .supervisor import (
    LOG_BACKUPS,
    LOG_MAX_BYTES,
    Part,
    PartFailed,
    Restart,
    RestartPolicy,
    Supervisor,
)


class _Out:
    """Human lines on stdout, or JSON lines with --json."""

    def __init__(self, json_output: bool) -> None:
        self.json = json_output
        self.console = Console(stderr=True, highlight=False)

    def event(self, kind: str, text: str, **data: Any) -> None:
        if self.json:
            print(json.dumps({"event": kind, **data}), flush=True)
        else:
            print(text, flush=True)

    def error(self, text: str) -> None:
        if self.json:
            print(json.dumps({"event": "error", "message": text}), flush=True)
        print(f"error: {text}", file=sys.stderr, flush=True)


def _post_alert(ops_dir: Path, r: Restart) -> None:
    """The restart as a `part_restarted` event for the alert rules (evaluated inside the API)."""
    from hashforge.ops.alerts import AlertStore
    from hashforge.ops.alerts.errors import AlertsError
    from hashforge.schema import SchemaError

    try:
        AlertStore(ops_dir).post_event("part_restarted", r.part, r.message, time.time())
    except (OSError, AlertsError, sqlite3.Error, SchemaError) as e:  # alerts are a report; supervising goes on
        print(f"warning: could not record the restart for alerts: {e}", file=sys.stderr, flush=True)


def run_operation(params: ChainParams, datadir: Path, ports: Ports, threads: int | None, miner: bool,
                  scheme: str, json_output: bool, policy: RestartPolicy | None = None,
                  log_max_bytes: int = LOG_MAX_BYTES, log_backups: int = LOG_BACKUPS,
                  operation: Operation | None = None) -> int:
    """Runs `operation` (default: hashforge's own node and the rest on `params`) until Ctrl-C/SIGTERM."""
    out = _Out(json_output)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    op = operation or Operation(params, datadir, ports, threads, miner, scheme)
    lock: IO[str] | None = None
    try:
        # an existing datadir is locked first: a second `up` there is told so, not "port in use";
        # a new one is created only once the ports are known to be free (nothing written on error)
        if datadir.exists():
            lock = lock_datadir(datadir)
        for port, what, flag in op.port_checks():
            check_port_free(port, what, flag)
        if lock is None:
            lock = lock_datadir(datadir)
    except UpError as e:
        if lock is not None:
            lock.close()
        out.error(str(e))
        return 2
    assert lock is not None

    def on_restart(r: Restart) -> None:
        out.event("restart", r.message, message=r.message, part=r.part, exit_code=r.exit_code, crashes=r.crashes,
                  max_crashes=r.policy.max_crashes, window_s=r.policy.window_s, delay_s=r.delay_s)
        _post_alert(op.ops_dir, r)

    backends: set[str] = set()
    chains_to_prepare = False  # a node was restarted: its chain may have lost unflushed blocks

    def on_restarted(part: Part) -> None:
        nonlocal chains_to_prepare
        pid = part.proc.pid if part.proc else None
        out.event("restarted", f"{part.name} restarted (pid {pid}, restart {part.restarts})", part=part.name, pid=pid,
                  restarts=part.restarts)
        chains_to_prepare = chains_to_prepare or part.name in backends

    sup = Supervisor(on_restart, policy, on_restarted=on_restarted, log_max_bytes=log_max_bytes,
                     log_backups=log_backups)
    status = out.console.status("starting", spinner="dots") if not json_output and out.console.is_terminal else None
    try:
        if status:
            status.start()

        def progress(msg: str) -> None:
            if status:
                status.update(msg)
            elif not json_output:
                print(f"{msg} ...", file=sys.stderr, flush=True)

        for part in op.backend_parts():
            backends.add(part.name)
            sup.start(part, progress)
        progress("opening the wallet")
        address = op.ensure_wallet()
        op.prepare_chains(progress)
        start_heights = []  # blocks above these are reported (the pool's, from here on)
        for chain in op.watched_chains():
            start_client = chain.rpc(30)
            try:
                start_heights.append(int(start_client.call("getblockcount")))
            finally:
                start_client.close()
        sup.start(op.pool_part(), progress)
        if miner:
            sup.start(op.miner_part(), progress)
        sup.start(op.api_part(), progress)
    except (PartFailed, UpError, OSError, RPCClientError, RPCTransportError, ValueError) as e:
        if status:
            status.stop()
        out.error(str(e))
        sup.stop_all()
        lock.close()
        return 2 if isinstance(e, UpError) else 1  # UpError: the user's to fix (a flag, a datadir)
    if status:
        status.stop()
    dashboard = f"http://127.0.0.1:{ports.api}/"
    out.event(
        "ready",
        "\n".join([
            f"hashforge up on {params.name} (datadir {datadir})",
            f"  dashboard   {dashboard}",
            f"  REST API    {dashboard}v1/",
            *op.ready_lines(),
            f"  stratum     stratum+tcp://127.0.0.1:{ports.stratum} (scheme {scheme})",
            f"  browser     {dashboard}mine (Stratum over ws://127.0.0.1:{ports.ws})",
            f"  miner       {'cgminer API 127.0.0.1:' + str(ports.miner_api) if miner else 'off (--no-miner)'}",
            *(f"  wallet      {chain.params.coin} rewards to {chain.address}" for chain in op.watched_chains()),
            "Ctrl-C stops everything; `hashforge up` again resumes.",
        ]),
        network=params.name, datadir=str(datadir), dashboard=dashboard, rpc=split_rpc_url(op.rpc_url)[0],
        stratum=f"stratum+tcp://127.0.0.1:{ports.stratum}", websocket=f"ws://127.0.0.1:{ports.ws}",
        browser_mining=f"{dashboard}mine", address=address, miner=miner, scheme=scheme,
        chains=[{"network": c.params.name, "coin": c.params.coin, "address": c.address} for c in op.watched_chains()],
    )
    code = 0
    watched = op.watched_chains()
    clients = [chain.rpc(5) for chain in watched]  # short: the loop also supervises the parts
    try:
        heights = list(start_heights)
        while not stop.wait(1.0):
            sup.check()
            if chains_to_prepare:
                try:
                    op.prepare_chains(lambda msg: out.event("prepare", msg, message=msg))
                    chains_to_prepare = False
                except (RPCClientError, RPCTransportError, UpError):
                    pass  # the restarted node is still loading: next round
            for i, (chain, rpc) in enumerate(zip(watched, clients, strict=True)):
                try:
                    new_height = int(rpc.call("getblockcount"))
                except (RPCClientError, RPCTransportError):
                    continue
                for h in range(heights[i] + 1, new_height + 1):
                    _report_block(rpc, h, chain.address, chain.params, out)
                heights[i] = max(heights[i], new_height)
    except PartFailed as e:
        out.error(str(e))
        code = 1
    finally:
        for client in clients:
            client.close()
        out.event("stopping", "stopping ...")
        codes = sup.stop_all()
        out.event("stopped", "stopped: " + ", ".join(f"{k} {v}" for k, v in codes.items()), exit_codes=codes)
        lock.close()
    return code


def _report_block(rpc: Any, height: int, address: str, params: ChainParams, out: _Out) -> None:
    try:
        block_hash = rpc.call("getblockhash", height)
        block = rpc.call("getblock", block_hash, 2)
    except (RPCClientError, RPCTransportError):
        return
    coinbase = block["tx"][0]
    paid = sum(round(float(o["value"]) * 100_000_000) for o in coinbase["vout"] if address in _payees(o))
    ours = paid > 0
    payee = next((a for o in coinbase["vout"] for a in _payees(o)), None)
    text = (
        f"block found: {params.coin} height {height} {block_hash} — {paid / 100_000_000:.8f} {params.coin} to "
        f"{address} (spendable after {params.coinbase_maturity} blocks)"
        if ours
        else f"new block: {params.coin} height {height} {block_hash} (pays {payee or 'another script'})"
    )
    out.event("block", text, height=height, hash=block_hash, ours=ours, reward_sats=paid, time=time.time(),
              network=params.name, coin=params.coin)


def _payees(output: dict[str, Any]) -> list[str]:
    """The addresses an output of `getblock` pays: `address` (Bitcoin Core 22+, hashforge's node) or
    `addresses` (Litecoin Core 0.21, Dogecoin Core 1.14)."""
    spk = output.get("scriptPubKey", {})
    if spk.get("address"):
        return [spk["address"]]
    return list(spk.get("addresses") or [])
