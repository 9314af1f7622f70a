"""P2P initial sync speed; prints one JSON object. A benchmark, never a test.

    .venv/bin/python bench/p2p_sync.py [--blocks 5000] [--repeat 1]

A source node mines `--blocks` regtest blocks (generatetoaddress); then a fresh node started with
`--connect <source>` syncs the whole chain over P2P (header-first, then the block download window).
Timed: from the fresh node's process start until its tip equals the source's, and separately from
its first P2P connection (so process start-up is not counted twice).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.helpers runs the nodes

from tests.helpers.nodeproc import NodeProcess

ADDRESS = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="p2p-sync-"))
    source = NodeProcess(root / "source").start()
    runs = []
    try:
        t0 = time.perf_counter()
        left = args.blocks
        while left:
            n = min(500, left)
            source.call("generatetoaddress", n, ADDRESS)
            left -= n
        mine_s = time.perf_counter() - t0
        tip = source.call("getbestblockhash")
        for i in range(args.repeat):
            fresh = NodeProcess(root / f"fresh{i}", extra_args=["--connect", source.p2p_addr])
            t_start = time.perf_counter()
            fresh.start()
            t_conn = None
            while True:
                if t_conn is None and fresh.call("getconnectioncount") > 0:
                    t_conn = time.perf_counter()
                if fresh.call("getbestblockhash") == tip:
                    break
                if time.perf_counter() - t_start > 1800:
                    raise TimeoutError("sync did not finish in 30 minutes")
                time.sleep(0.05)
            t_end = time.perf_counter()
            fresh.stop()
            runs.append(
                {
                    "total_s": round(t_end - t_start, 3),
                    "from_connect_s": round(t_end - (t_conn or t_start), 3),
                    "blocks_per_s": round(args.blocks / (t_end - (t_conn or t_start)), 1),
                }
            )
    finally:
        source.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(
        json.dumps(
            {
                "benchmark": "p2p_sync",
                "blocks": args.blocks,
                "mine_source_s": round(mine_s, 3),
                "runs": runs,
                "best_from_connect_s": min(r["from_connect_s"] for r in runs),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
