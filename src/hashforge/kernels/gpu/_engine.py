"""The runtime-independent half of a GPU backend: chunked launches, intensity, auto-tune, checks.

A GPUEngine owns one device (a context and queue, compiled kernels, reusable buffers) and
serializes its launches with a lock, so several threads may share it. Subclasses (OpenCL,
CUDA) supply `_upload` (the job's records and params) and `_launch` (one kernel launch over
`count` nonces from `base`, returning how many hits the kernel counted and the first
`capacity` of them as (nonce, version index) word pairs).

Intensity is hashes per launch: a plain scan launches `intensity` work-items, one per nonce;
a version-rolled scan over V versions launches `intensity // V`, each hashing every version.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, ClassVar

from hashforge.kernels import KernelError

from ._host import Job, U32Array, build_job, qualifies

log = logging.getLogger(__name__)

TARGET_SECONDS = 0.075  # auto-tune aims at 50-100 ms per launch: responsive to new jobs
SCRYPT_N = 1024
MAX_SHA256D_INTENSITY = 1 << 30
_INITIAL_CAPACITY = 1024  # hits per launch before the output buffer grows (and the launch reruns)
_TUNE_HEADER = bytes(range(80))


class GPUError(KernelError, RuntimeError):
    """A GPU runtime failed: the kernel did not build, a launch or a copy failed."""


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """One device as a GPU runtime reports it; `backend_name` selects it ("opencl:0")."""

    kind: str  # "opencl" or "cuda"
    index: int  # position in hashforge's list for that runtime (stable for a given machine)
    name: str
    platform: str  # OpenCL platform name, or "CUDA"
    vendor: str
    device_type: str  # "GPU", "CPU", "ACCELERATOR", ...
    compute_units: int
    global_memory: int  # bytes
    max_allocation: int  # bytes in one buffer
    pci_bus_id: str | None = None  # "0000:65:00.0" where the driver tells (NVML uses it)

    @property
    def backend_name(self) -> str:
        return f"{self.kind}:{self.index}"

    @property
    def is_gpu(self) -> bool:
        return self.device_type == "GPU"

    def describe(self) -> str:
        mib = self.global_memory >> 20
        return f"{self.backend_name}: {self.name} ({self.platform}; {self.device_type}, {self.compute_units} CUs, {mib} MiB)"


def kernel_source(runtime: str, algo: str) -> str:
    """The kernel program for `runtime` ("opencl" or "cuda"): its prelude, SHA-256, the scanner."""
    here = resources.files(__package__)
    parts = [f"prelude_{runtime}.h", "sha256.cl", f"{algo}_scan.cl"]
    return "\n".join(here.joinpath(p).read_text(encoding="utf-8") for p in parts)


def scrypt_item_bytes(lookup_gap: int) -> int:
    """Global memory one scrypt work-item needs for its V array."""
    return 128 * -(-SCRYPT_N // lookup_gap)


class GPUEngine(ABC):
    kind: ClassVar[str]

    def __init__(self, info: DeviceInfo, lookup_gap: int = 1) -> None:
        if lookup_gap < 1 or lookup_gap > SCRYPT_N:
            raise ValueError("lookup gap must be in [1, 1024]")
        self.info = info
        self.lookup_gap = lookup_gap
        self.hardware_errors = 0  # hits the kernel reported that hashlib rejected
        self._lock = threading.Lock()  # one launch at a time; guards buffers and intensity
        self._intensity: dict[str, int] = {}
        self._capacity = _INITIAL_CAPACITY

    # ---- what a runtime supplies ------------------------------------------------------

    @abstractmethod
    def _upload(self, job: Job) -> Any:
        """Device copies of job.records and job.params, handed back to `_launch`."""

    @abstractmethod
    def _launch(
        self, algo: str, uploaded: Any, nversions: int, base: int, count: int, capacity: int
    ) -> tuple[int, U32Array]:
        """One launch over nonces [base, base + count); (hits counted, first hits as words)."""

    @abstractmethod
    def local_size(self, algo: str) -> int:
        """Work-group (block) size; launches are rounded up to a multiple of it."""

    # ---- intensity -------------------------------------------------------------------

    def max_intensity(self, algo: str) -> int:
        if algo == "scrypt":
            memory = min(self.info.max_allocation, self.info.global_memory // 2)
            items = memory // scrypt_item_bytes(self.lookup_gap)
            return max(1, items // self.local_size(algo) * self.local_size(algo) or items)
        return MAX_SHA256D_INTENSITY

    def intensity(self, algo: str) -> int:
        """Hashes per launch for `algo`: set with set_intensity(), else auto-tuned on first use."""
        with self._lock:
            value = self._intensity.get(algo)
        return value if value is not None else self.autotune(algo)

    def set_intensity(self, algo: str, hashes: int) -> None:
        limit = self.max_intensity(algo)
        if not 1 <= hashes <= limit:
            raise ValueError(f"{algo} intensity on {self.info.backend_name} must be in [1, {limit}], not {hashes}")
        with self._lock:
            self._intensity[algo] = hashes

    def autotune(self, algo: str, seconds: float = TARGET_SECONDS) -> int:
        """Find the launch size that takes about `seconds` (50-100 ms by default), and keep it."""
        job = build_job(algo, _TUNE_HEADER, [0x20000000], 0)  # target 0: no hits to copy back
        step = self.local_size(algo)
        limit = self.max_intensity(algo)
        n = min(limit, step * max(1, self.info.compute_units) * (16 if algo == "sha256d" else 1))
        with self._lock:
            uploaded = self._upload(job)
            self._launch(algo, uploaded, 1, 0, n, self._capacity)  # warm-up: build, allocate
            for _ in range(12):
                t0 = time.perf_counter()
                self._launch(algo, uploaded, 1, 0, n, self._capacity)
                took = time.perf_counter() - t0
                if 2 * seconds / 3 <= took <= 4 * seconds / 3:
                    break
                want = int(n * seconds / max(took, 1e-5))
                want = max(step, min(limit, 16 * n, want // step * step))
                if want == n:
                    break
                n = want
            self._intensity[algo] = n
        log.info("%s: %s intensity %d (%.0f ms per launch)", self.info.backend_name, algo, n, took * 1e3)
        return n

    # ---- scanning --------------------------------------------------------------------

    def scan(
        self, algo: str, header: bytes, versions: Sequence[int], target: int, start: int, end: int
    ) -> list[tuple[int, int]]:
        """(version, nonce) pairs whose hash <= target, nonce-major then in `versions` order."""
        if start >= end:
            return []
        per_launch = max(1, self.intensity(algo) // len(versions))
        job = build_job(algo, header, versions, target)
        hits: list[tuple[int, int]] = []
        with self._lock:
            uploaded = self._upload(job)
            for base in range(start, end, per_launch):
                hits.extend(self._batch(algo, uploaded, job.nversions, base, min(per_launch, end - base)))
        hits.sort()
        out = []
        for nonce, vi in hits:
            if vi < len(versions) and start <= nonce < end and qualifies(algo, header, versions[vi], nonce, target):
                out.append((versions[vi], nonce))
            else:
                self.hardware_errors += 1
                log.warning("%s: %s kernel reported nonce %d (version index %d), which does not qualify",
                            self.info.backend_name, algo, nonce, vi)
        return out

    def _batch(self, algo: str, uploaded: Any, nversions: int, base: int, count: int) -> list[tuple[int, int]]:
        total, words = self._launch(algo, uploaded, nversions, base, count, self._capacity)
        if total > self._capacity:  # more hits than slots (an easy target): grow and rerun
            self._capacity = 1 << (total - 1).bit_length()
            total, words = self._launch(algo, uploaded, nversions, base, count, self._capacity)
            if total > self._capacity:
                raise GPUError(f"{self.info.backend_name}: hit count changed between identical launches")
        pairs = words[: 2 * total].reshape(-1, 2)
        return [(int(n), int(v)) for n, v in pairs]
