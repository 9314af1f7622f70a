"""The GPU devices: `--device opencl[:N]` and `--device cuda[:N]` on hashforge.kernels.gpu.

One device per GPU, hashed by one thread (the engine serializes launches anyway). Units start
at the kernel's `batch` (one launch of `intensity` hashes, auto-tuned to 50-100 ms) and the
ThreadedDevice tuner keeps each call near `call_seconds`, so new jobs are picked up quickly.
Every hit the kernel reports is re-checked with hashlib by the engine; one that fails is dropped
there and counted here as a hardware error. Telemetry (temperature, fan, power) comes from NVML
where the device has it, else it is None ("n/a"), never invented.

`opencl` / `cuda` without a number takes every device of that runtime; a missing runtime
(no pyopencl, no CuPy, no device) is a DeviceError with a one-line reason.
"""

from __future__ import annotations

import threading
import time
from typing import Any, ClassVar

from hashforge.kernels import BackendUnavailableError, KernelError, ScanResult
from hashforge.kernels.gpu import GPUBackend, get_gpu_backend, list_devices

from ..errors import DeviceError
from ..sensors import Telemetry, Throttle
from ..work import WorkUnit
from .base import Device, DeviceOptions, ThreadedDevice, register_driver

TELEMETRY_MAX_AGE = 2.0
INSTALL_HINT = {
    "opencl": "pip install pyopencl (and pocl-binary-distribution for a CPU OpenCL device)",
    "cuda": "pip install 'hashforge[cuda]' and an NVIDIA GPU with its driver",
}


class GPUDevice(ThreadedDevice):
    """One GPU (an OpenCL or CUDA device) mining with the GPU kernels on one thread."""

    driver: ClassVar[str] = "gpu"
    kind: ClassVar[str] = ""

    def __init__(self, index: int, slot: int, algo: str = "sha256d", intensity: int | None = None,
                 lookup_gap: int = 1, throttle: Throttle | None = None) -> None:
        self.algo = algo
        self.kernel: GPUBackend = open_kernel(self.kind, index, algo, intensity, lookup_gap)
        self.lookup_gap = lookup_gap
        self._hw_seen = self.kernel.hardware_errors
        self._hw_lock = threading.Lock()
        super().__init__(index, slot, 1, throttle)
        self._telemetry_at = 0.0

    def initial_nonces(self) -> int:
        return max(1, self.kernel.batch)

    def scan(self, unit: WorkUnit) -> ScanResult:
        result = self.kernel.scan_versions(unit.header, unit.versions, unit.work.target, unit.nonce_start,
                                           unit.nonce_end)
        self._count_hardware_errors()
        return result

    def _count_hardware_errors(self) -> None:
        """Hits the engine dropped (hashlib said no) since the last call become this device's HW."""
        with self._hw_lock:
            now = self.kernel.hardware_errors
            new, self._hw_seen = max(0, now - self._hw_seen), now
        for _ in range(new):
            self.stats.hardware_error()

    def telemetry(self) -> Telemetry:
        now = time.monotonic()
        if now - self._telemetry_at >= TELEMETRY_MAX_AGE:
            self._telemetry_at = now
            tel = self.kernel.telemetry()
            self.last_telemetry = Telemetry() if tel is None else Telemetry(tel.temperature, tel.power, tel.fan)
        return self.last_telemetry

    def describe(self) -> dict[str, Any]:
        info = self.kernel.device
        out: dict[str, Any] = {
            "Driver": self.driver,
            "Kernel": f"{self.algo}/{self.kernel.name}",
            "Device": info.name,
            "Platform": info.platform,
            "Type": info.device_type,
            "Threads": self.threads,
            "Intensity": self.kernel.intensity,
            "Hardware Errors": self.stats.hardware_errors,
        }
        if self.algo == "scrypt":
            out["Lookup Gap"] = self.lookup_gap
        return out


class OpenCLDevice(GPUDevice):
    driver = "opencl"
    kind = "opencl"


class CUDADevice(GPUDevice):
    driver = "cuda"
    kind = "cuda"


def open_kernel(kind: str, index: int, algo: str, intensity: int | None, lookup_gap: int) -> GPUBackend:
    """The GPU backend for `kind:index`, or a DeviceError with a one-line reason."""
    name = f"{kind}:{index}"
    try:
        kernel = get_gpu_backend(algo, name, intensity=intensity, lookup_gap=lookup_gap)
        kernel.batch  # noqa: B018 - auto-tunes now (builds the kernel), so a broken device fails here
    except (KernelError, ValueError) as exc:
        raise DeviceError(f"{name}: {_reason(kind, exc)}") from None
    return kernel


def _reason(kind: str, exc: BaseException) -> str:
    """The error on one line, with how to install the runtime where that is what is missing."""
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:297] + "..."
    if isinstance(exc, BackendUnavailableError) and "pip install" not in text and "this machine has" not in text:
        text += f" ({INSTALL_HINT[kind]})"
    return text


def _indices(kind: str, arg: str | None) -> list[int]:
    """`N` -> [N]; no argument (or "all") -> every device of `kind`."""
    if arg is not None and arg.lower() != "all":
        if not arg.isdigit():
            raise DeviceError(f"bad device {kind}:{arg} (use {kind}, {kind}:all or {kind}:N with N from 0)")
        return [int(arg)]
    found = [d.index for d in list_devices(kind)]
    if not found:
        try:  # the runtime's own reason (pyopencl / CuPy missing, no platform, no device)
            get_gpu_backend("sha256d", kind)
        except KernelError as exc:
            raise DeviceError(f"{kind}: {_reason(kind, exc)}") from None
        raise DeviceError(f"{kind}: no device found ({INSTALL_HINT[kind]})")
    return found


def _factory(cls: type[GPUDevice]) -> Any:
    def build(options: DeviceOptions, arg: str | None, first_slot: int) -> list[Device]:
        return [cls(i, first_slot + n, options.algo, options.intensity, options.lookup_gap, options.throttle())
                for n, i in enumerate(_indices(cls.kind, arg))]

    build.__doc__ = f"`{cls.kind}` (every {cls.kind} device) or `{cls.kind}:N` (device N)."
    return build


register_driver("opencl", _factory(OpenCLDevice))
register_driver("cuda", _factory(CUDADevice))
