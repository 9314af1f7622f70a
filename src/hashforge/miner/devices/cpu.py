"""The CPU device: the native SIMD kernels (hashforge.kernels), one worker thread per core."""

from __future__ import annotations

import os
import time
from typing import Any

from hashforge.kernels import ScanResult, get_backend

from ..sensors import RaplPower, Telemetry, Throttle, cpu_temperature
from ..work import WorkUnit
from .base import Device, DeviceOptions, ThreadedDevice, register_driver

TELEMETRY_MAX_AGE = 2.0


def default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class CPUDevice(ThreadedDevice):
    driver = "cpu"

    def __init__(self, index: int, slot: int, algo: str = "sha256d", threads: int | None = None,
                 backend: str = "auto", throttle: Throttle | None = None) -> None:
        self.kernel = get_backend(algo, backend)
        self.algo = algo
        super().__init__(index, slot, threads or default_threads(), throttle)
        self._rapl = RaplPower()
        self._telemetry_at = 0.0

    def initial_nonces(self) -> int:
        if self.algo == "scrypt":
            return 256 if self.kernel.native else 8
        return (1 << 14) if self.kernel.native else (1 << 10)

    def versions_per_unit(self) -> int:
        # SHA-256d kernels share the second block's schedule across versions (faster); scrypt gains nothing
        return 4 * self.kernel.lanes if self.algo == "sha256d" and self.kernel.native else 1

    def scan(self, unit: WorkUnit) -> ScanResult:
        return self.kernel.scan_versions(unit.header, unit.versions, unit.work.target, unit.nonce_start, unit.nonce_end)

    def telemetry(self) -> Telemetry:
        now = time.monotonic()
        if now - self._telemetry_at >= TELEMETRY_MAX_AGE:
            self._telemetry_at = now
            self.last_telemetry = Telemetry(cpu_temperature(), self._rapl.read())
        return self.last_telemetry

    def describe(self) -> dict[str, Any]:
        return {"Driver": "cpu", "Kernel": f"{self.algo}/{self.kernel.name}", "Threads": self.threads,
                "Lanes": self.kernel.lanes}


def _cpu_factory(options: DeviceOptions, arg: str | None, first_slot: int) -> list[Device]:
    """`cpu` (one device, a thread per core) or `cpu:N` (one device with N threads)."""
    threads = int(arg) if arg else options.threads
    return [CPUDevice(0, first_slot, options.algo, threads, options.backend, options.throttle())]


register_driver("cpu", _cpu_factory)
