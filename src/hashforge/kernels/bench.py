"""`hashforge bench`: hash rate of a kernel on a synthetic header, optionally beside hashlib.

Use `bench()` from code, or `register(app)` to add the `bench` command to a Typer app.
Threads scan disjoint nonce chunks taken from a shared counter; the native kernels
release the GIL, so N threads use N cores. Figures are a benchmark, never a test.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

import typer

from hashforge.kernels import (
    ALGORITHMS,
    NONCE_LIMIT,
    Backend,
    KernelError,
    cpu_features,
    get_backend,
    rolled_versions,
)

# A fixed synthetic header (not a real block) and a difficulty-1-like target, so runs compare.
BENCH_HEADER = bytes.fromhex("00000020") + hashlib.sha256(b"hashforge bench").digest() * 2 + bytes.fromhex(
    "29ab5f49ffff001d00000000"
)
TARGETS = {"sha256d": 0xFFFF << 208, "scrypt": 0xFFFF << 224}
BIP310_MASK = 0x1FFFE000
ROLLED_VERSIONS = 256

# Nonces per kernel call: long enough to amortize the call, short enough to stop on time.
_CHUNK = {("sha256d", True): 1 << 18, ("sha256d", False): 1 << 11, ("scrypt", True): 128, ("scrypt", False): 8}


def bench(
    algo: str,
    backend: str,
    threads: int,
    seconds: float,
    *,
    version_rolling: bool = False,
    baseline: bool = False,
) -> dict[str, Any]:
    """Mine BENCH_HEADER for `seconds` on `threads` threads; returns the figures as a dict.

    Raises KernelError subclasses for an unknown or unavailable backend, ValueError for
    bad arguments. With baseline=True it first times a plain hashlib loop (one thread)
    for the same duration and adds `hashlib_hashrate` and `speedup`.
    """
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r} (choose from {', '.join(ALGORITHMS)})")
    if threads < 1 or not seconds > 0:
        raise ValueError("threads must be >= 1 and seconds > 0")
    kernel = get_backend(algo, backend)
    versions = (
        rolled_versions(0x20000000, BIP310_MASK, ROLLED_VERSIONS)
        if version_rolling
        else [int.from_bytes(BENCH_HEADER[:4], "little")]
    )
    result: dict[str, Any] = {}
    if baseline:
        base = hashlib_rate(algo, seconds)
        result["hashlib_hashrate"] = base
    cpu0 = time.process_time()
    hashes, found, elapsed = _run(kernel, versions, threads, seconds)
    cpu = time.process_time() - cpu0
    result = {
        "algo": algo,
        "backend": kernel.name,
        "requested_backend": backend,
        "threads": threads,
        "version_rolling": version_rolling,
        "lanes": kernel.lanes,
        "hashes": hashes,
        "seconds": round(elapsed, 4),
        "hashrate": hashes / elapsed,
        # CPU time the process got, over wall time x threads: well below 1 means other
        # load shared the cores and `hashrate` is low; hashrate / cpu_share estimates
        # the rate on an otherwise idle machine.
        "cpu_share": round(cpu / (elapsed * threads), 3),
        "found": found,
        "cpu_features": sorted(cpu_features()),
        **result,
    }
    if baseline:
        result["speedup"] = result["hashrate"] / result["hashlib_hashrate"]
    if hasattr(kernel, "device_name"):  # GPU backends (opencl, cuda) name their device
        result["device"] = kernel.device_name
    return result


def _run(kernel: Backend, versions: list[int], threads: int, seconds: float) -> tuple[int, int, float]:
    per_call = getattr(kernel, "batch", 0) or _CHUNK[(kernel.algo, kernel.native)]  # GPU: its tuned launch
    chunk = max(1, per_call // len(versions))
    target = TARGETS[kernel.algo]
    lock = threading.Lock()
    next_nonce = 0

    def take() -> int:
        nonlocal next_nonce
        with lock:
            start = next_nonce
            next_nonce = (next_nonce + chunk) % (NONCE_LIMIT - chunk)
            return start

    t0 = time.perf_counter()
    deadline = t0 + seconds

    def worker() -> tuple[int, int]:
        hashes = found = 0
        while time.perf_counter() < deadline:
            start = take()
            r = kernel.scan_versions(BENCH_HEADER, versions, target, start, start + chunk)
            hashes += r.hashes
            found += len(r.found)
        return hashes, found

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(lambda _: worker(), range(threads)))
    elapsed = time.perf_counter() - t0
    return sum(h for h, _ in results), sum(f for _, f in results), elapsed


def hashlib_rate(algo: str, seconds: float) -> float:
    """Hashes per second of a plain hashlib loop over nonces, one thread (the baseline).

    Only the hashing and building the header bytes are timed; no target comparison, so
    the baseline is as fast as a straightforward Python miner can be.
    """
    prefix = BENCH_HEADER[:76]
    sha256 = hashlib.sha256
    scrypt = hashlib.scrypt
    batch = 4096 if algo == "sha256d" else 16
    done = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        if algo == "sha256d":
            for nonce in range(done, done + batch):
                sha256(sha256(prefix + nonce.to_bytes(4, "little")).digest()).digest()
        else:
            for nonce in range(done, done + batch):
                header = prefix + nonce.to_bytes(4, "little")
                scrypt(header, salt=header, n=1024, r=1, p=1, dklen=32)
        done += batch
    return done / (time.perf_counter() - t0)


def _human(rate: float) -> str:
    for unit, scale in (("GH/s", 1e9), ("MH/s", 1e6), ("kH/s", 1e3)):
        if rate >= scale:
            return f"{rate / scale:.2f} {unit}"
    return f"{rate:.1f} H/s"


def bench_command(
    algo: Annotated[str, typer.Option("--algo", help="sha256d or scrypt")] = "sha256d",
    backend: Annotated[
        str, typer.Option("--backend", help="auto, python, scalar, sse2, avx2, avx512, shani, opencl[:N] or cuda[:N]")
    ] = "auto",
    threads: Annotated[int, typer.Option("--threads", help="threads scanning in parallel")] = 1,
    seconds: Annotated[float, typer.Option("--seconds", help="how long to mine")] = 5.0,
    version_rolling: Annotated[
        bool, typer.Option("--version-rolling", help="roll 256 BIP310 versions (overt AsicBoost)")
    ] = False,
    baseline: Annotated[
        bool, typer.Option("--baseline/--no-baseline", help="also time a hashlib loop, one thread")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Mine a synthetic header and report the hash rate of a kernel."""
    try:
        result = bench(algo, backend, threads, seconds, version_rolling=version_rolling, baseline=baseline)
    except (KernelError, ValueError) as exc:
        typer.echo(f"hashforge bench: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result))
        return
    mode = ", version rolling" if version_rolling else ""
    typer.echo(
        f"{result['algo']} on {result['backend']} ({result['lanes']} lanes{mode}), "
        f"{threads} thread(s): {_human(result['hashrate'])} "
        f"({result['hashes']} hashes in {result['seconds']:.2f} s)"
    )
    if baseline:
        typer.echo(f"hashlib loop, 1 thread: {_human(result['hashlib_hashrate'])}; speedup {result['speedup']:.1f}x")
    if "device" in result:
        typer.echo(f"Device: {result['device']}")
    typer.echo(f"CPU features: {' '.join(result['cpu_features']) or 'unknown (no native extension)'}")


def register(app: typer.Typer) -> None:
    """Add the `bench` command to `app` (hashforge's CLI calls this)."""
    app.command("bench")(bench_command)


if __name__ == "__main__":  # pragma: no cover - `python -m hashforge.kernels.bench`
    standalone = typer.Typer(add_completion=False)
    register(standalone)

    @standalone.callback()
    def _root() -> None:
        """hashforge kernels."""

    standalone()
