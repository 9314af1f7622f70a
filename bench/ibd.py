"""Initial block download, hashforge against Bitcoin Core; prints one JSON object. A benchmark, never a test.

    .venv/bin/python bench/ibd.py [--spend-blocks 40] [--spends 1000] [--empty 20000] [--hashforge-only]

Builds a regtest chain in-process: `--base` blocks (the last one fans mature coinbases out to
`--spends` P2WPKH outputs), `--spend-blocks` blocks of `--spends` signed one-input P2WPKH spends
each, then `--empty` empty blocks (built here too, timestamps 1 s apart in 2011, and submitted in
JSON-RPC batches: a node's own generatetoaddress runs its block times ahead of the clock, past
the 2-hour limit after some 40,000 blocks). A Bitcoin Core
(../shared/bin/bitcoind or PATH) serves it over P2P; a fresh Core (`-checkblockindex=0
-checkmempool=0`, regtest verifies every script) and then a fresh `hashforge node` sync it, one
after the other. Each sync is timed from process start; the parts are the spend blocks (from the
base height to the last spend block) and the empty blocks (from there to the tip), found by polling
the syncing node's block count. Peak RSS is VmHWM of the node process (and its children).
`--baseline-src DIR` syncs one more hashforge, from another source tree, after ours. Without
bitcoind a second hashforge node serves the chain and only hashforge's figures are printed.
The defaults are the issue's shape; pass smaller sizes for a quick run. `--rate-at 1000,10000,100000`
adds blocks/s around those heights (with `--spend-blocks 0 --empty 101000`: does the rate hold?),
per second of wall time and per second of the node's own CPU time (which load from other work on
the machine does not move).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.helpers runs the nodes

from tests.helpers.bitcoind import BITCOIND, BitcoinCore
from tests.helpers.chainbuild import make_block
from tests.helpers.nodeproc import NodeProcess, free_port
from tests.helpers.txbuilder import Key, Utxo, sign_tx

from hashforge.consensus.block import Block
from hashforge.consensus.params import REGTEST
from hashforge.consensus.tx import OutPoint, Transaction, TxOut

KEY = Key.from_int(0x1BD)
FEE = 1_000
POLL_S = 0.01


def build_chain(base: int, spend_blocks: int, spends: int) -> list[Block]:
    """Blocks 1..base+spend_blocks (genesis not included)."""
    if base < REGTEST.coinbase_maturity + 1:
        raise SystemExit(f"--base must be at least {REGTEST.coinbase_maturity + 1}")
    blocks: list[Block] = []
    parent = REGTEST.genesis
    script = KEY.p2wpkh
    # Early timestamps (1 s apart) keep every block's time in the past for both nodes.
    for h in range(1, base):
        parent = make_block(parent, h, pay_to=script, time_offset=1)
        blocks.append(parent)
    mature = [blocks[h - 1] for h in range(1, base - REGTEST.coinbase_maturity + 1)]
    per_fan = -(-spends // len(mature))
    fans: list[Transaction] = []
    pool: list[Utxo] = []
    for b in mature:
        cb = b.vtx[0]
        value = (cb.vout[0].value - FEE) // per_fan
        tx = sign_tx([Utxo(OutPoint(cb.txid, 0), cb.vout[0], KEY)], [TxOut(value, script)] * per_fan)
        fans.append(tx)
        pool.extend(Utxo(OutPoint(tx.txid, n), out, KEY) for n, out in enumerate(tx.vout))
    pool = pool[:spends]
    parent = make_block(parent, base, fans, pay_to=script, time_offset=1)
    blocks.append(parent)
    for i in range(spend_blocks):
        txs: list[Transaction] = []
        nxt = []
        for u in pool:
            tx = sign_tx([u], [TxOut(u.value - FEE, script)])
            txs.append(tx)
            nxt.append(Utxo(OutPoint(tx.txid, 0), tx.vout[0], KEY))
        pool = nxt
        parent = make_block(parent, base + 1 + i, txs, pay_to=script, time_offset=1)
        blocks.append(parent)
    return blocks


def empty_blocks(parent: Block, first_height: int, n: int) -> Iterator[Block]:
    for h in range(first_height, first_height + n):
        parent = make_block(parent, h, pay_to=KEY.p2wpkh, time_offset=1)
        yield parent


def submit_batch(url: str, auth: str, blocks: list[Block]) -> None:
    """submitblock for each block, in one JSON-RPC batch request."""
    body = json.dumps(
        [{"jsonrpc": "1.0", "id": i, "method": "submitblock", "params": [b.serialize().hex()]} for i, b in enumerate(blocks)]
    ).encode()
    req = urllib.request.Request(url, body, {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode(), "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as resp:
        answers = json.loads(resp.read())
    for a in answers:
        if a.get("error") is not None or a.get("result") is not None:
            raise SystemExit(f"server refused block {a.get('id')}: {a}")


def peak_rss_mb(pid: int) -> float:
    """VmHWM of `pid` plus that of its live children (script worker processes), in MB."""
    total = 0
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1)


RATE_WINDOW = 1000  # blocks/s at height h: over the blocks h-500 .. h+500


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process `pid` so far (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_sync(
    call: Callable[..., Any], t_start: float, base: int, spends_end: int, tip: int, timeout: float, pid: int
) -> dict[str, Any]:
    """Polls the syncing node's height; times (from `t_start`) at which it reached each mark, and
    every (time, height) seen, under "samples", with the node's CPU seconds under "cpu"."""
    marks: dict[str, Any] = {"samples": [], "cpu": []}
    while True:
        now = time.perf_counter()
        height = call("getblockcount")
        marks["samples"].append((now - t_start, height))
        marks["cpu"].append((cpu_seconds(pid), height))
        for name, h in (("base", base), ("spends", spends_end), ("tip", tip)):
            if name not in marks and height >= h:
                marks[name] = now - t_start
                marks[f"{name}_cpu"] = marks["cpu"][-1][0]
        if "tip" in marks:
            return marks
        if now - t_start > timeout:
            raise TimeoutError(f"sync stuck at height {height} of {tip}")
        time.sleep(POLL_S)


def rate_at(samples: list[tuple[float, int]], height: int) -> float | None:
    """Blocks/s over the window around `height`, from the first samples at or past its ends."""
    lo, hi = height - RATE_WINDOW // 2, height + RATE_WINDOW // 2
    t_lo = next((t for t, h in samples if h >= lo), None)
    end = next(((t, h) for t, h in samples if h >= hi), None)
    start = next(((t, h) for t, h in samples if h >= lo), None)
    if t_lo is None or end is None or start is None or end[0] <= start[0]:
        return None
    return round((end[1] - start[1]) / (end[0] - start[0]), 1)


def figures(marks: dict[str, Any], spend_blocks: int, spends: int, empty: int, rss: float, rate_heights: list[int]) -> dict[str, Any]:
    spends_s = marks["spends"] - marks["base"]
    empty_s = marks["tip"] - marks["spends"]
    rates = {str(h): rate_at(marks["samples"], h) for h in rate_heights}
    # per second of the node's own CPU: what other load on the machine does not move
    cpu_rates = {str(h): rate_at(marks["cpu"], h) for h in rate_heights}
    return {
        "whole_s": round(marks["tip"], 3),
        "to_base_s": round(marks["base"], 3),
        "spends_s": round(spends_s, 3),
        "spends_per_s": round(spend_blocks * spends / spends_s, 1) if spends_s > 0 else None,
        "empty_s": round(empty_s, 3),
        "empty_blocks_per_s": round(empty / empty_s, 1) if empty_s > 0 else None,
        # the node's own CPU seconds (all threads and worker processes' parent): what load from
        # other work on the machine moves much less than wall time
        "cpu_s": {
            "whole": round(marks["tip_cpu"], 2),
            "spends": round(marks["spends_cpu"] - marks["base_cpu"], 2),
            "empty": round(marks["tip_cpu"] - marks["spends_cpu"], 2),
        },
        "peak_rss_mb": rss,
        **({"blocks_per_s_at": rates, "blocks_per_cpu_s_at": cpu_rates} if rates else {}),
    }


def sync_hashforge(
    root: Path, server_addr: str, args: argparse.Namespace, marks_at: tuple[int, int, int], name: str = "hashforge-sync"
) -> tuple[dict[str, Any], str]:
    extra = ["--connect", server_addr, "--no-listen", *args.hashforge_arg]
    node = NodeProcess(root / name, extra_args=extra)
    t0 = time.perf_counter()
    node.start(timeout=120)
    try:
        assert node.proc is not None
        marks = time_sync(node.call, t0, *marks_at, timeout=args.timeout, pid=node.proc.pid)
        rss = peak_rss_mb(node.proc.pid)
        utxo = node.call("gettxoutsetinfo")["hash_serialized_3"]
    finally:
        node.stop(timeout=300)
    return figures(marks, args.spend_blocks, args.spends, args.empty, rss, args.rate_at), utxo


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", type=int, default=110)
    ap.add_argument("--spend-blocks", type=int, default=40)
    ap.add_argument("--spends", type=int, default=1000, help="spends per spend block")
    ap.add_argument("--empty", type=int, default=20000)
    ap.add_argument("--hashforge-only", action="store_true", help="serve from a hashforge node even if bitcoind is here")
    ap.add_argument("--hashforge-arg", action="append", default=[], help="extra flag for the syncing hashforge node (repeatable)")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument(
        "--rate-at", type=lambda v: [int(x) for x in v.split(",") if x], default=[],
        help="heights (comma-separated) to report blocks/s at, over 1,000 blocks around each",
    )
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument(
        "--baseline-src", type=Path,
        help="also sync a hashforge run from this source tree (e.g. another checkout's src/) after ours, as `hashforge_baseline`",
    )
    args = ap.parse_args()
    use_core = BITCOIND is not None and not args.hashforge_only
    root = Path(tempfile.mkdtemp(prefix="ibd-"))
    out: dict[str, Any] = {
        "benchmark": "ibd",
        "shape": {"base": args.base, "spend_blocks": args.spend_blocks, "spends_per_block": args.spends, "empty": args.empty},
        "server": "bitcoind" if use_core else "hashforge",
    }
    t = time.perf_counter()
    blocks = build_chain(args.base, args.spend_blocks, args.spends)
    out["build_s"] = round(time.perf_counter() - t, 3)
    spends_end = args.base + args.spend_blocks
    tip = spends_end + args.empty
    marks_at = (args.base, spends_end, tip)
    server: Any
    try:
        t = time.perf_counter()
        if use_core:
            p2p = free_port()
            server = BitcoinCore(root / "core-server", "-natpmp=0", "-listen=1", f"-bind=127.0.0.1:{p2p}", rpc_timeout=600).start()
            server_addr = f"127.0.0.1:{p2p}"
            auth = f"{server.user}:{server.password}"
        else:
            server = NodeProcess(root / "hashforge-server").start()
            server_addr = server.p2p_addr
            auth = (server.datadir / ".cookie").read_text().strip()
        for b in blocks:
            result = server.call("submitblock", b.serialize().hex())
            if result is not None:
                raise SystemExit(f"server refused block {b.hash_hex}: {result}")
        batch: list[Block] = []
        for b in empty_blocks(blocks[-1], spends_end + 1, args.empty):
            batch.append(b)
            if len(batch) == 500:
                submit_batch(server.url, auth, batch)
                batch = []
        if batch:
            submit_batch(server.url, auth, batch)
        if server.call("getblockcount") != tip:
            raise SystemExit("server did not reach the expected height")
        out["serve_setup_s"] = round(time.perf_counter() - t, 3)
        server_utxo = server.call("gettxoutsetinfo")["hash_serialized_3"]
        results: dict[str, Any] = {}
        utxos = {"server": server_utxo}
        if use_core:
            core = BitcoinCore(root / "core-sync", "-natpmp=0", "-listen=0", f"-connect={server_addr}", rpc_timeout=600)
            t0 = time.perf_counter()
            core.start(timeout=120)
            try:
                assert core.proc is not None
                marks = time_sync(core.call, t0, *marks_at, timeout=args.timeout, pid=core.proc.pid)
                rss = peak_rss_mb(core.proc.pid)
                utxos["core"] = core.call("gettxoutsetinfo")["hash_serialized_3"]
            finally:
                core.stop()
            results["core"] = figures(marks, args.spend_blocks, args.spends, args.empty, rss, args.rate_at)
        results["hashforge"], utxos["hashforge"] = sync_hashforge(root, server_addr, args, marks_at)
        if args.baseline_src is not None:
            own = os.environ.get("PYTHONPATH")
            os.environ["PYTHONPATH"] = str(args.baseline_src.resolve())
            try:
                results["hashforge_baseline"], utxos["hashforge_baseline"] = sync_hashforge(
                    root, server_addr, args, marks_at, "hashforge-baseline"
                )
            finally:
                if own is None:
                    del os.environ["PYTHONPATH"]
                else:
                    os.environ["PYTHONPATH"] = own
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    out.update(results)
    if use_core:
        c, h = results["core"], results["hashforge"]
        out["ratio"] = {
            k: round(h[k] / c[k], 2) if c[k] else None for k in ("whole_s", "spends_s", "empty_s", "peak_rss_mb")
        }
        out["cpu_ratio"] = {k: round(h["cpu_s"][k] / c["cpu_s"][k], 2) if c["cpu_s"][k] else None for k in c["cpu_s"]}
    out["utxo_sets_match"] = len(set(utxos.values())) == 1
    out["utxo_hash"] = utxos
    out["machine"] = {"cpu": _cpu_name(), "cpus": os.cpu_count(), "python": platform.python_version()}
    if use_core:
        out["machine"]["bitcoind"] = _core_version()
    print(json.dumps(out, indent=2))


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _core_version() -> str:
    assert BITCOIND is not None
    try:
        return subprocess.run([BITCOIND, "-version"], capture_output=True, text=True, timeout=30).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


if __name__ == "__main__":
    main()
