"""Chaos run of a whole `hashforge up` (devnet, PPLNS, payouts on); prints one JSON object. A benchmark, never a test.

    .venv/bin/python bench/chaos.py [--minutes 60] [--seed 1] [--kill-every 20-60]

Kills a random part (node, pool, miner, API) with SIGKILL every KILL-EVERY seconds (each part at most
twice in ten minutes, below up's restart budget), throws the attacks of issue 17 at the listeners,
and runs a plain Stratum client beside up's own miner. At the end it counts what tests/helpers/chaos.py
describes: blocks found / on chain / lost, shares acknowledged / stored / lost, payouts and double
payments, restarts, and the RSS of each part at start and end. The CI test (tests/integration/
test_chaos.py) is the same run for a few minutes.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.helpers runs the operation

from tests.helpers.chaos import run_chaos


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kill-every", default="20-60", help="seconds between kills, MIN-MAX")
    ap.add_argument("--keep", type=Path, help="keep the datadir here instead of a temporary folder")
    a = ap.parse_args()
    low, _, high = a.kill_every.partition("-")
    with tempfile.TemporaryDirectory(prefix="hf-chaos-") as tmp:
        root = a.keep or Path(tmp)
        report = run_chaos(root, a.minutes * 60, seed=a.seed, kill_every=(float(low), float(high or low)),
                           progress=lambda m: print(m, file=sys.stderr, flush=True))
    out = {"cpu": platform.processor() or platform.machine(), "minutes": a.minutes, **report.as_json()}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
