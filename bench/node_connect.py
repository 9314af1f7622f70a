"""Node block-connect speed; prints one JSON object. A benchmark, never a test.

    .venv/bin/python bench/node_connect.py [--txs 2000] [--replay-blocks 500] [--repeat 3] [--profile]

1. One regtest block of `--txs` one-input one-output P2WPKH spends (every signature checked),
   connected on a fresh copy of the same datadir with each script-check executor: inline (`map`),
   a thread pool of 1 and 2, and a process pool of 2 (the node's `--script-workers process`).
   Timed: `ChainManager.process_block` end to end (checks, store with fsync, connect, SQLite commit).
2. Replay: a regtest chain of `--replay-blocks` small blocks (110 coinbase-only, then 2-6 spends
   each) connected on a fresh datadir; blocks/s and transactions/s.
`--profile` adds the top functions of a cProfile run of one inline connect.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.helpers builds the chains

from tests.helpers.chainbuild import build_spending_chain
from tests.helpers.regtest import RegtestEnv
from tests.helpers.txbuilder import Key, outputs_of, sign_tx, spend

from hashforge.consensus.block import Block
from hashforge.consensus.params import REGTEST
from hashforge.consensus.tx import TxOut
from hashforge.node.chain import ChainManager
from hashforge.node.scriptpool import make_script_executor

DEST = Key.from_int(0xBE7C4)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def build_big_block(work: Path, n_txs: int) -> tuple[Path, Block]:
    """A datadir (closed) whose tip holds `n_txs` P2WPKH outputs, and the block spending all of them."""
    env = RegtestEnv.create(work / "build", 110)
    each = (env.coinbase_utxo(1).value - 100_000) // n_txs
    fanout = spend(env.coinbase_utxo(1), env.key, fee=100_000, n_outputs=n_txs)
    env.mine_with([fanout])
    now = env.clock.now
    env.close()
    pre = work / "pre"
    shutil.copytree(work / "build", pre)
    env = RegtestEnv.clone(pre, work / "check", now)
    txs = [sign_tx([u], [TxOut(each - 500, DEST.p2wpkh)]) for u in outputs_of(fanout, env.key)]
    block = env.mine_with(txs)
    assert env.chain.tip.hash == block.hash, "the benchmark block must be valid"
    env.close()
    return pre, block


def time_connect(pre: Path, block: Block, work: Path, script_map: Callable[..., Iterator[Any]], repeat: int) -> list[float]:
    times = []
    for i in range(repeat):
        d = work / f"run{i}"
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(pre, d)
        chain = ChainManager(REGTEST, d, script_map=script_map)
        try:
            t0 = time.perf_counter()
            assert chain.process_block(block) is None
            times.append(time.perf_counter() - t0)
        finally:
            chain.close()
        shutil.rmtree(d)
    return times


def profile_connect(pre: Path, block: Block, work: Path, top: int = 15) -> list[str]:
    d = work / "profile"
    shutil.copytree(pre, d)
    chain = ChainManager(REGTEST, d)
    prof = cProfile.Profile()
    prof.enable()
    chain.process_block(block)
    prof.disable()
    chain.close()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    return [line for line in out.getvalue().splitlines() if line.strip()][-top - 1 :]


def bench_replay(work: Path, n_blocks: int) -> dict[str, Any]:
    built = build_spending_chain(work / "chain", n_spend_blocks=max(0, n_blocks - 110))
    n_tx = sum(len(b.vtx) for b in built.blocks[1:])
    chain = ChainManager(REGTEST, work / "replay")
    try:
        t0 = time.perf_counter()
        for block in built.blocks[1:]:
            assert chain.process_block(block) is None
        elapsed = time.perf_counter() - t0
    finally:
        chain.close()
    return {
        "blocks": built.height,
        "transactions": n_tx,
        "seconds": round(elapsed, 3),
        "blocks_per_s": round(built.height / elapsed, 1),
        "tx_per_s": round(n_tx / elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--txs", type=int, default=2000)
    parser.add_argument("--replay-blocks", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {
        "cpu_model": _cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    with tempfile.TemporaryDirectory(prefix="hashforge-bench-") as tmp:
        work = Path(tmp)
        pre, block = build_big_block(work, args.txs)
        report["block"] = {"txs": len(block.vtx) - 1, "bytes": len(block.serialize()), "weight": block.weight}
        executors: dict[str, tuple[Executor | None, Callable[..., Iterator[Any]]]] = {
            "inline": (None, map),
            "threads_1": make_script_executor("thread", 1),
            "threads_2": make_script_executor("thread", 2),
            "processes_2": make_script_executor("process", 2),
        }
        connect: dict[str, Any] = {}
        for name, (ex, script_map) in executors.items():
            if isinstance(ex, ProcessPoolExecutor):
                list(ex.map(abs, range(4)))  # start the workers outside the timing
            times = time_connect(pre, block, work, script_map, args.repeat)
            best = min(times)
            connect[name] = {
                "best_s": round(best, 3),
                "all_s": [round(t, 3) for t in times],
                "tx_per_s": round(args.txs / best, 1),
            }
            if ex is not None:
                ex.shutdown()
        inline = connect["inline"]["best_s"]
        for entry in connect.values():
            entry["speedup_vs_inline"] = round(inline / entry["best_s"], 2)
        report["connect_block"] = connect
        if args.profile:
            report["profile_inline"] = profile_connect(pre, block, work)
        report["replay"] = bench_replay(work, args.replay_blocks)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
