"""Kernel speed against hashlib in the same run; prints one JSON object.

    .venv/bin/python bench/kernels.py [--seconds 3] [--algo sha256d|scrypt|all] [--backends avx512,shani]

For each algorithm: a plain hashlib loop (one thread; hashlib.scrypt for scrypt) as the
baseline, then every backend this CPU runs (python excluded) with 1 and 2 threads, and
for SHA-256d the version-rolling (overt AsicBoost) mode too. Each entry carries
`speedup` = its hash rate / the hashlib rate measured here. A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys

from hashforge.kernels import available_backends, cpu_features
from hashforge.kernels.bench import bench, hashlib_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--algo", choices=["sha256d", "scrypt", "all"], default="all")
    parser.add_argument("--backends", default="", help="comma-separated subset (default: all native)")
    parser.add_argument("--threads", default="1,2", help="thread counts to run (default 1,2)")
    args = parser.parse_args()
    algos = ["sha256d", "scrypt"] if args.algo == "all" else [args.algo]
    wanted = [b for b in args.backends.split(",") if b]
    thread_counts = [int(t) for t in args.threads.split(",")]
    report: dict[str, object] = {
        "cpu_features": sorted(cpu_features()),
        "cpu_model": _cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "seconds_per_run": args.seconds,
    }
    for algo in algos:
        base = hashlib_rate(algo, args.seconds)
        runs = []
        for name in available_backends(algo):
            if name == "python" or (wanted and name not in wanted):
                continue
            modes = [False, True] if algo == "sha256d" else [False]
            for rolling in modes:
                for threads in thread_counts:
                    r = bench(algo, name, threads, args.seconds, version_rolling=rolling)
                    r["speedup"] = round(r["hashrate"] / base, 2)
                    del r["cpu_features"]
                    runs.append(r)
                    print(f"{algo} {name} rolling={rolling} threads={threads}: {r['hashrate']:.0f} H/s "
                          f"({r['speedup']}x hashlib)", file=sys.stderr)
        report[algo] = {"hashlib_hashrate": base, "runs": runs}
    print(json.dumps(report, indent=2))


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
