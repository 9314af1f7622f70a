"""How long a full UTXO-set scan takes over RPC, and what it does to other RPCs meanwhile; prints JSON. A benchmark, never a test.

    .venv/bin/python bench/rpc_scan.py [--utxos 300000]

Builds a regtest chain on a real `hashforge node` whose UTXO set holds about UTXOS coins (standard
transactions of 3,000 outputs each, mined by generatetoaddress), then runs gettxoutsetinfo alone (twice: the first
writes the UTXO cache to disk), and again while another client calls getblockcount in a loop and mines one block: it reports the
scan's time, how long getblockcount and mining one block took during it.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.helpers runs the node

from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Key, Utxo, spend

from hashforge.consensus.address import script_to_address
from hashforge.consensus.params import REGTEST
from hashforge.consensus.tx import OutPoint, TxOut
from hashforge.rpcclient import RPCClient

KEY = Key.from_int(0xB3C4)
OUTPUTS_PER_TX = 3_000  # about 93 kvB: under the 100 kvB standard limit
TXS_PER_BLOCK = 9


def _coinbase(node: NodeProcess, height: int) -> Utxo:
    cb = node.call("getblock", node.call("getblockhash", height), 2)["tx"][0]
    value = int(Decimal(str(cb["vout"][0]["value"])) * 100_000_000)
    return Utxo(OutPoint(bytes.fromhex(cb["txid"])[::-1], 0), TxOut(value, KEY.p2wpkh), KEY)


def build(node: NodeProcess, utxos: int) -> None:
    address = script_to_address(KEY.p2wpkh, REGTEST)
    n_tx = max(1, utxos // OUTPUTS_PER_TX)
    node.call("generatetoaddress", 100 + n_tx, address)
    for i in range(n_tx):
        tx = spend(_coinbase(node, i + 1), KEY, fee=20_000, n_outputs=OUTPUTS_PER_TX)
        node.call("sendrawtransaction", tx.serialize().hex())
        if (i + 1) % TXS_PER_BLOCK == 0 or i + 1 == n_tx:
            node.call("generatetoaddress", 1, address)


def measure(node: NodeProcess) -> dict[str, float | int]:
    t0 = time.perf_counter()
    node.call("gettxoutsetinfo")  # the first one also writes the node's UTXO cache to disk
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    alone = node.call("gettxoutsetinfo")
    scan_s = time.perf_counter() - t0
    other = RPCClient(node.url, cookie=node.datadir / ".cookie", timeout=600)
    other.call("getblockcount")  # its connection open before the scan starts
    done = threading.Event()
    result: dict[str, float] = {}

    def scan() -> None:
        t = time.perf_counter()
        node.call("gettxoutsetinfo")
        result["scan_s"] = time.perf_counter() - t
        done.set()

    thread = threading.Thread(target=scan)
    thread.start()
    time.sleep(0.05)  # a benchmark: let the scan begin before the other client's calls
    t = time.perf_counter()
    other.call("getblockcount")
    count_s = time.perf_counter() - t
    t = time.perf_counter()
    other.call("generatetoaddress", 1, script_to_address(KEY.p2wpkh, REGTEST))
    mine_s = time.perf_counter() - t
    slowest = 0.0
    calls = 0
    while not done.is_set():
        t = time.perf_counter()
        other.call("getblockcount")
        slowest = max(slowest, time.perf_counter() - t)
        calls += 1
    thread.join()
    return {
        "utxos": alone["txouts"],
        "gettxoutsetinfo_first_s": round(first_s, 3),
        "gettxoutsetinfo_alone_s": round(scan_s, 3),
        "gettxoutsetinfo_with_load_s": round(result["scan_s"], 3),
        "first_getblockcount_during_scan_ms": round(count_s * 1000, 1),
        "mine_one_block_during_scan_s": round(mine_s, 3),
        "getblockcount_calls_during_scan": calls,
        "getblockcount_slowest_ms": round(slowest * 1000, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--utxos", type=int, default=300_000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hf-rpcscan-") as tmp:
        node = NodeProcess(Path(tmp) / "regtest").start()
        try:
            build(node, a.utxos)
            out = {"cpu": platform.processor() or platform.machine(), **measure(node)}
        finally:
            node.stop()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
