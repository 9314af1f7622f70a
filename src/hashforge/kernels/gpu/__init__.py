"""GPU backends for the nonce scanners: OpenCL (any vendor; PoCL's CPU device in CI) and CUDA.

A GPU backend is a hashforge.kernels Backend with a big batch: the same `scan` /
`scan_versions` contract (every (version, nonce) whose hash <= target, nonce-major, hash
count exact), selected by name through the usual entry points::

    from hashforge.kernels import get_backend, scan_sha256d
    gpu = get_backend("sha256d", "opencl:0")       # or "opencl", "cuda", "cuda:1"
    gpu.device_name, gpu.intensity                 # intensity: hashes per launch (auto-tuned)
    result = gpu.scan(header, target, 0, 1 << 32)  # launches of `intensity` nonces each

- `list_devices()` enumerates both runtimes (an absent runtime lists nothing).
- Intensity is per device and algorithm: auto-tuned on first use so a launch takes 50-100 ms
  (`autotune()`), or fixed with `set_intensity()`. Callers that must stay responsive to new
  jobs pass ranges of about `batch` nonces per call.
- Every hit is re-checked with hashlib on the host; a hit that fails the check is dropped
  and counted in `hardware_errors` (cgminer's "HW" figure).
- `telemetry()` reads temperature, fan and power through NVML where present, else None.

Engines (one context per device and lookup gap) are opened once and shared by every backend
object that names the device, so intensity and compiled kernels are per device. The cache is
guarded by a lock; `close_all()` drops it (tests, device resets).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from hashforge.kernels import (
    NONCE_LIMIT,
    Backend,
    ScanResult,
    UnknownBackendError,
    check_algo,
    check_scan_args,
    header80,
)
from hashforge.kernels import Found as _Found

from ._engine import TARGET_SECONDS, DeviceInfo, GPUEngine, GPUError
from .nvml import GPUTelemetry, read_telemetry

__all__ = [
    "GPU_KINDS",
    "DeviceInfo",
    "GPUBackend",
    "GPUError",
    "GPUTelemetry",
    "close_all",
    "get_gpu_backend",
    "is_gpu_backend_name",
    "list_devices",
]

GPU_KINDS = ("opencl", "cuda")

_engines: dict[tuple[str, int | None, int], GPUEngine] = {}
_engines_lock = threading.Lock()


def is_gpu_backend_name(name: str) -> bool:
    """True for "opencl", "opencl:N", "cuda", "cuda:N" (any N; validity is checked on use)."""
    return name.partition(":")[0] in GPU_KINDS


def list_devices(kind: str | None = None) -> list[DeviceInfo]:
    """The devices of `kind` ("opencl", "cuda"), or of both; a missing runtime lists none."""
    from . import cuda, opencl

    out: list[DeviceInfo] = []
    if kind in (None, "opencl"):
        out.extend(opencl.list_devices())
    if kind in (None, "cuda"):
        out.extend(cuda.list_devices())
    return out


def _parse(name: str) -> tuple[str, int | None]:
    kind, sep, arg = name.partition(":")
    if kind not in GPU_KINDS:
        raise UnknownBackendError(f"unknown GPU backend {name!r} (use opencl, opencl:N, cuda or cuda:N)")
    if not sep:
        return kind, None
    if not arg.isdigit():
        raise UnknownBackendError(f"bad device number in {name!r} (use {kind}:N, N from 0)")
    return kind, int(arg)


def _open_engine(kind: str, index: int | None, lookup_gap: int) -> GPUEngine:
    key = (kind, index, lookup_gap)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            from . import cuda, opencl

            opener = opencl.open_engine if kind == "opencl" else cuda.open_engine
            engine = opener(index, lookup_gap)
            # "opencl" and "opencl:N" naming the same device share one engine
            engine = _engines.setdefault((kind, engine.info.index, lookup_gap), engine)
            _engines[key] = engine
        return engine


def close_all() -> None:
    """Forget every open engine (their contexts go when the last backend using them does)."""
    with _engines_lock:
        _engines.clear()


def get_gpu_backend(
    algo: str, name: str, *, intensity: int | None = None, lookup_gap: int = 1
) -> GPUBackend:
    """The backend for `name` ("opencl", "opencl:N", "cuda", "cuda:N") and `algo`.

    `intensity` fixes the device's hashes per launch for `algo` (else it is auto-tuned on
    first use); `lookup_gap` trades scrypt's memory for recomputation (1: none). Raises
    UnknownBackendError for a malformed name and BackendUnavailableError when the runtime
    or the device is missing (the message lists the devices there are).
    """
    check_algo(algo)
    kind, index = _parse(name)
    engine = _open_engine(kind, index, lookup_gap)
    if intensity is not None:
        engine.set_intensity(algo, intensity)
    return GPUBackend(algo, engine.info.backend_name, 1, engine)


@dataclass(frozen=True, slots=True)
class GPUBackend(Backend):
    """A Backend whose scans run on a GPU engine (lanes=1: any number of versions is fine)."""

    engine: GPUEngine = field(compare=False, repr=False)

    @property
    def device(self) -> DeviceInfo:
        return self.engine.info

    @property
    def device_name(self) -> str:
        return self.engine.info.name

    @property
    def intensity(self) -> int:
        """Hashes per launch (auto-tuned on first use)."""
        return self.engine.intensity(self.algo)

    @property
    def batch(self) -> int:
        """Nonces per call that keep a plain scan near one launch (50-100 ms)."""
        return self.intensity

    @property
    def hardware_errors(self) -> int:
        return self.engine.hardware_errors

    def set_intensity(self, hashes: int) -> None:
        self.engine.set_intensity(self.algo, hashes)

    def autotune(self, seconds: float = TARGET_SECONDS) -> int:
        return self.engine.autotune(self.algo, seconds)

    def telemetry(self) -> GPUTelemetry | None:
        """Temperature, fan and power from NVML (NVIDIA devices with pynvml), else None."""
        if self.engine.info.pci_bus_id is None:
            return None
        return read_telemetry(pci_bus_id=self.engine.info.pci_bus_id)

    def scan_versions(
        self,
        header: bytes,
        versions: Sequence[int],
        target: int,
        start: int = 0,
        end: int = NONCE_LIMIT,
    ) -> ScanResult:
        header = header80(header)
        versions = list(versions)
        check_scan_args(versions, target, start, end)
        # the engine returns nonce-major, then in `versions` order, each hit re-checked by hashlib
        pairs = self.engine.scan(self.algo, header, versions, target, start, end)
        return ScanResult(tuple(_Found(v, n) for v, n in pairs), (end - start) * len(versions))

