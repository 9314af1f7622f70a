"""hashforge's CPU kernels against cpuminer (pooler) and cpuminer-opt (JayDDee), same machine, same run.

    .venv/bin/python bench/compare_cpuminer.py [--seconds 20] [--repeats 3] [--threads 1,2]
        [--algo sha256d|scrypt|all] [--backends auto] [--minerd PATH] [--cpuminer-opt PATH]

Neither miner is part of hashforge: build them yourself (outside this repository) and put
`minerd` (pooler/cpuminer) and `cpuminer` (JayDDee/cpuminer-opt) on PATH, or pass their paths.
A miner that is absent is skipped, with a note saying so in the output.

Each round runs, per algorithm and thread count: each external miner in its own benchmark
mode (`--benchmark -a ALGO -t N`, no pool needed), hashforge's `bench()` (the kernel behind
`hashforge bench`) for every requested backend and, for SHA-256d, its version-rolling mode
too, plus one plain hashlib loop (one thread) per algorithm. Rounds are interleaved, so slow
drift and noisy neighbours hit every contender alike; each figure is the median over the
rounds ("best" is the fastest round). A miner's rate for one run is the median of the
"Total" hash-rate lines it printed, after dropping the first one (start-up).

On a shared machine other processes take CPU time from every run, unevenly. So each run
also records its CPU share (CPU time received / (wall time x threads)), and
`hashrate_per_cpu` is the rate per CPU-second actually received: hashforge's and hashlib's
over the whole run, a miner's per report window (its CPU time is read from /proc as each
"Total" line arrives). With cpu_share near 1 the two figures agree; well below 1, compare
the per-CPU figures. Prints one JSON object on stdout (progress on stderr). A benchmark,
never a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import selectors
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any

from hashforge.kernels import available_backends, cpu_features
from hashforge.kernels.bench import bench, hashlib_rate

MINERS = {
    # name: (default executable on PATH, substring expected in its --version output)
    "cpuminer": ("minerd", "cpuminer"),
    "cpuminer-opt": ("cpuminer", "cpuminer-opt"),
}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# pooler: "Total: 13286 khash/s"; cpuminer-opt: "Total: 36.81 MH/s, Temp: ..."
TOTAL = re.compile(r"Total:\s*([0-9.]+)\s*([kMGT]?)(?:hash/s|H/s)")
SCALE = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
CPU_FLAGS_OF_INTEREST = (
    "sse2", "ssse3", "sse4_1", "avx", "avx2", "bmi2", "avx512f", "avx512vl", "avx512bw",
    "avx512dq", "avx512_vbmi2", "sha_ni", "gfni", "vaes",
)  # fmt: skip


def parse_rates(text: str) -> list[float]:
    """Every "Total: <rate>" figure (in H/s) a miner printed, in order."""
    return [float(v) * SCALE[unit] for v, unit in TOTAL.findall(ANSI.sub("", text))]


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a running process (all its threads), from /proc; Linux only."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def run_miner(path: str, algo: str, threads: int, seconds: float) -> dict[str, Any]:
    """Run a miner's benchmark mode for `seconds`, then stop it; its rate and raw reports.

    Each "Total" line is a rate over the miner's last report window. When a line arrives,
    the miner's CPU time is read too, so every window also gets the CPU share it had, and
    `per_cpu` (the median of rate / share over the windows) is comparable with hashforge's
    rate per CPU-second even when other load shares the machine.
    """
    cmd = [path, "--benchmark", "-a", algo, "-t", str(threads)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    lines: list[str] = []
    windows: list[tuple[float, float | None]] = []  # (reported rate, CPU share in its window)
    last_wall, last_cpu = t0, 0.0
    pending = b""
    deadline = t0 + seconds
    while (left := deadline - time.perf_counter()) > 0:
        if not sel.select(timeout=left):
            continue
        data = os.read(fd, 65536)
        if not data:
            break
        pending += data
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            line = raw.decode(errors="replace")
            lines.append(line)
            rates = parse_rates(line)
            if not rates:
                continue
            now, cpu = time.perf_counter(), process_cpu_seconds(proc.pid)
            share = None
            if cpu is not None and now - last_wall > 0.5:  # lines read in one burst share a window
                share = (cpu - last_cpu) / ((now - last_wall) * threads)
                last_wall, last_cpu = now, cpu
            windows.append((rates[-1], share))
    sel.close()
    proc.terminate()
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_total = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    steady = windows[1:] or windows  # the first window includes start-up
    per_cpu = [r / c for r, c in steady if c]
    result: dict[str, Any] = {
        "hashrate": statistics.median(r for r, _ in steady) if steady else None,
        "per_cpu": statistics.median(per_cpu) if per_cpu else None,
        "reports": len(windows),
        "cpu_share": cpu_total / (wall * threads),
    }
    if not windows:
        tail = "\n".join(lines[-6:])
        result["error"] = f"no hash-rate lines from {' '.join(cmd)}; last output: {tail!r}"
    return result


def miner_version(path: str) -> str:
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10, errors="replace"
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    text = ANSI.sub("", out.stdout + out.stderr).strip()
    return text.splitlines()[0].strip() if text else "unknown"


def find_miners(args: argparse.Namespace) -> tuple[dict[str, dict[str, str]], list[str]]:
    found: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    given = {"cpuminer": args.minerd, "cpuminer-opt": args.cpuminer_opt}
    for name, (exe, marker) in MINERS.items():
        path = given[name] or shutil.which(exe)
        if not path or not os.access(path, os.X_OK):
            how = f"--{'minerd' if name == 'cpuminer' else 'cpuminer-opt'} PATH"
            notes.append(f"{name} skipped: `{exe}` not found on PATH and no {how} given")
            continue
        version = miner_version(path)
        if marker not in version.lower():
            notes.append(f"{name}: {path} reports {version!r}, not {marker!r}; measured anyway")
        found[name] = {"path": os.path.abspath(path), "version": version}
    return found, notes


def cpu_info() -> dict[str, Any]:
    model = platform.processor()
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "cpu_flags": [f for f in CPU_FLAGS_OF_INTEREST if f in flags],
        "hashforge_cpu_features": sorted(cpu_features()),
    }


# (hash rate, CPU share of the run, rate per CPU-second actually received)
Run = tuple[float | None, float, float | None]


def summarize(runs: list[Run]) -> dict[str, Any]:
    """Median and best over the rounds, plus how much CPU the runs actually got."""
    vals = [r for r, _, _ in runs if r is not None]
    per_cpu = [p for r, _, p in runs if r is not None and p is not None]
    return {
        "hashrate": statistics.median(vals) if vals else None,
        "best": max(vals) if vals else None,
        "runs": [round(r, 1) for r in vals],
        "cpu_share": [round(c, 3) for r, c, _ in runs if r is not None],
        # Rate per CPU-second actually received: robust to being descheduled, not to
        # other load slowing the same core (caches, SMT siblings).
        "hashrate_per_cpu": statistics.median(per_cpu) if per_cpu else None,
    }


def hashlib_run(algo: str, seconds: float) -> Run:
    t0, c0 = time.perf_counter(), time.thread_time()
    rate = hashlib_rate(algo, seconds)
    share = (time.thread_time() - c0) / (time.perf_counter() - t0)
    return rate, share, rate / share if share > 0 else None


def hashforge_run(
    algo: str, backend: str, threads: int, seconds: float, rolling: bool
) -> tuple[Run, str]:
    t0, c0 = time.perf_counter(), time.process_time()
    r = bench(algo, backend, threads, seconds, version_rolling=rolling)
    share = (time.process_time() - c0) / ((time.perf_counter() - t0) * threads)
    return (r["hashrate"], share, r["hashrate"] / share if share > 0 else None), r["backend"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="length of every single run")
    parser.add_argument(
        "--repeats", type=int, default=3, help="interleaved rounds; figures are medians"
    )
    parser.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    parser.add_argument("--algo", choices=["sha256d", "scrypt", "all"], default="all")
    parser.add_argument(
        "--backends", default="auto", help="hashforge backends, comma-separated (default auto)"
    )
    parser.add_argument(
        "--minerd", help="path of pooler's cpuminer binary (default: minerd on PATH)"
    )
    parser.add_argument(
        "--cpuminer-opt", help="path of cpuminer-opt's binary (default: cpuminer on PATH)"
    )
    parser.add_argument(
        "--no-rolling", action="store_true", help="skip hashforge's version-rolling runs"
    )
    args = parser.parse_args()
    if args.repeats < 1 or not args.seconds > 0:
        parser.error("--repeats must be >= 1 and --seconds > 0")

    algos = ["sha256d", "scrypt"] if args.algo == "all" else [args.algo]
    thread_counts = [int(t) for t in args.threads.split(",") if t]
    miners, notes = find_miners(args)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)

    contenders: dict[str, list[tuple[str, Any]]] = {}
    for algo in algos:
        entries: list[tuple[str, Any]] = [
            (name, ("miner", info["path"])) for name, info in miners.items()
        ]
        for backend in [b for b in args.backends.split(",") if b]:
            if backend != "auto" and backend not in available_backends(algo):
                notes.append(
                    f"hashforge backend {backend} skipped for {algo}: not available on this machine"
                )
                continue
            entries.append((f"hashforge:{backend}", ("hashforge", backend, False)))
            if algo == "sha256d" and not args.no_rolling:
                entries.append(
                    (f"hashforge:{backend}+version-rolling", ("hashforge", backend, True))
                )
        contenders[algo] = entries

    runs: dict[str, dict[str, dict[str, list[Run]]]] = {
        algo: {str(t): {name: [] for name, _ in contenders[algo]} for t in thread_counts}
        for algo in algos
    }
    base_runs: dict[str, list[Run]] = {algo: [] for algo in algos}
    used_backend: dict[str, str] = {}
    errors: list[str] = []
    t_start = time.time()
    for rnd in range(args.repeats):
        for algo in algos:
            base_runs[algo].append(hashlib_run(algo, args.seconds))
            rate, share, _ = base_runs[algo][-1]
            print(
                f"round {rnd + 1} {algo} hashlib: {rate:,.0f} H/s (cpu share {share:.2f})",
                file=sys.stderr,
            )
            for threads in thread_counts:
                for name, spec in contenders[algo]:
                    if spec[0] == "miner":
                        res = run_miner(spec[1], algo, threads, args.seconds)
                        if "error" in res:
                            errors.append(f"{name} {algo} t={threads}: {res['error']}")
                        run: Run = (res["hashrate"], res["cpu_share"], res["per_cpu"])
                    else:
                        run, used = hashforge_run(algo, spec[1], threads, args.seconds, spec[2])
                        used_backend[name] = used
                    runs[algo][str(threads)][name].append(run)
                    rate, share, _ = run
                    shown = f"{rate:,.0f} H/s" if rate is not None else "no figure"
                    print(
                        f"round {rnd + 1} {algo} t={threads} {name}: {shown} (cpu share {share:.2f})",
                        file=sys.stderr,
                    )

    report: dict[str, Any] = {
        **cpu_info(),
        "python": platform.python_version(),
        "seconds_per_run": args.seconds,
        "repeats": args.repeats,
        "wall_seconds": round(time.time() - t_start, 1),
        "miners": miners,
        "hashforge_backends": used_backend,
        "notes": notes,
        "errors": errors,
    }
    for algo in algos:
        base = summarize(list(base_runs[algo]))
        table: dict[str, Any] = {}
        for threads in thread_counts:
            row = {}
            for name, _ in contenders[algo]:
                s = summarize(runs[algo][str(threads)][name])
                if s["hashrate"] is not None and base["hashrate"]:
                    s["x_hashlib"] = round(s["hashrate"] / base["hashrate"], 2)
                    s["best_x_best_hashlib"] = round(s["best"] / base["best"], 2)
                if s["hashrate_per_cpu"] and base["hashrate_per_cpu"]:
                    s["per_cpu_x_hashlib"] = round(
                        s["hashrate_per_cpu"] / base["hashrate_per_cpu"], 2
                    )
                row[name] = s
            table[str(threads)] = row
        report[algo] = {"hashlib_1_thread": base, "threads": table}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
