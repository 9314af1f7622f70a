"""The `hashforge up` run loop: start the parts with progress, report blocks, stop cleanly."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from rich.console import Console

from hashforge.consensus.params import ChainParams
from hashforge.rpcclient import RPCClientError, RPCTransportError

from .operation import Operation, Ports, UpError, check_port_free, lock_datadir
from .supervisor import PartFailed, Supervisor


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


def run_operation(params: ChainParams, datadir: Path, ports: Ports, threads: int | None, miner: bool,
                  scheme: str, json_output: bool) -> int:
    out = _Out(json_output)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    lock: IO[str] | None = None
    try:
        # an existing datadir is locked first: a second `up` there is told so, not "port in use";
        # a new one is created only once the ports are known to be free (nothing written on error)
        if datadir.exists():
            lock = lock_datadir(datadir)
        check_port_free(ports.rpc, "node RPC", "--rpc-port")
        check_port_free(ports.stratum, "Stratum", "--stratum-port")
        check_port_free(ports.ws, "pool WebSocket", "--ws-port")
        check_port_free(ports.api, "API and dashboard", "--api-port")
        check_port_free(ports.pool_api, "pool API", "--pool-api-port")
        if miner:
            check_port_free(ports.miner_api, "miner API", "--miner-api-port")
        if lock is None:
            lock = lock_datadir(datadir)
    except UpError as e:
        if lock is not None:
            lock.close()
        out.error(str(e))
        return 2
    assert lock is not None
    op = Operation(params, datadir, ports, threads, miner, scheme)
    sup = Supervisor(lambda msg: out.event("restart", msg, message=msg))
    status = out.console.status("starting", spinner="dots") if not json_output and out.console.is_terminal else None
    try:
        if status:
            status.start()

        def progress(msg: str) -> None:
            if status:
                status.update(msg)
            elif not json_output:
                print(f"{msg} ...", file=sys.stderr, flush=True)

        sup.start(op.node_part(), progress)
        start_client = op.rpc()
        try:
            start_height = int(start_client.call("getblockcount"))
        finally:
            start_client.close()
        progress("opening the wallet")
        address = op.ensure_wallet()
        sup.start(op.pool_part(), progress)
        if miner:
            sup.start(op.miner_part(), progress)
        sup.start(op.api_part(), progress)
    except (PartFailed, OSError, RPCClientError, RPCTransportError, ValueError) as e:
        if status:
            status.stop()
        out.error(str(e))
        sup.stop_all()
        lock.close()
        return 1
    if status:
        status.stop()
    dashboard = f"http://127.0.0.1:{ports.api}/"
    out.event(
        "ready",
        "\n".join([
            f"hashforge up on {params.name} (datadir {datadir})",
            f"  dashboard   {dashboard}",
            f"  REST API    {dashboard}v1/",
            f"  node RPC    {op.rpc_url} (cookie {op.cookie})",
            f"  stratum     stratum+tcp://127.0.0.1:{ports.stratum} (scheme {scheme})",
            f"  browser     {dashboard}mine (Stratum over ws://127.0.0.1:{ports.ws})",
            f"  miner       {'cgminer API 127.0.0.1:' + str(ports.miner_api) if miner else 'off (--no-miner)'}",
            f"  wallet      rewards to {address}",
            "Ctrl-C stops everything; `hashforge up` again resumes.",
        ]),
        network=params.name, datadir=str(datadir), dashboard=dashboard, rpc=op.rpc_url,
        stratum=f"stratum+tcp://127.0.0.1:{ports.stratum}", websocket=f"ws://127.0.0.1:{ports.ws}",
        browser_mining=f"{dashboard}mine", address=address, miner=miner, scheme=scheme,
    )
    code = 0
    rpc = op.rpc()
    try:
        height = start_height
        while not stop.wait(1.0):
            sup.check()
            try:
                new_height = int(rpc.call("getblockcount"))
            except (RPCClientError, RPCTransportError):
                continue
            for h in range(height + 1, new_height + 1):
                _report_block(rpc, h, address, params, out)
            height = max(height, new_height)
    except PartFailed as e:
        out.error(str(e))
        code = 1
    finally:
        rpc.close()
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
    paid = sum(
        round(float(o["value"]) * 100_000_000)
        for o in coinbase["vout"]
        if o["scriptPubKey"].get("address") == address
    )
    ours = paid > 0
    payee = next((o["scriptPubKey"].get("address") for o in coinbase["vout"] if o["scriptPubKey"].get("address")), None)
    text = (
        f"block found: height {height} {block_hash} — {paid / 100_000_000:.8f} to the wallet (spendable after "
        f"{params.coinbase_maturity} blocks)"
        if ours
        else f"new block: height {height} {block_hash} (pays {payee or 'another script'})"
    )
    out.event("block", text, height=height, hash=block_hash, ours=ours, reward_sats=paid, time=time.time())


