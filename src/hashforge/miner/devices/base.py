"""The device plug-in interface: what the miner needs from any hashing device.

A driver (cpu here; opencl and cuda later) registers a factory under its name; `--device
cpu,opencl:0,cuda:0` builds devices from the registered factories. A device:

- `start(feed, sink)`: begins taking WorkUnits from `feed` (the Scheduler) with its own slot and
  hands every (version, nonce) it finds to `sink`; `stop()` ends its threads.
- `scan(unit)`: one blocking kernel call over the unit (every hash <= unit.work.target), with
  the kernels' ScanResult contract. GPU devices implement this with their kernels and a large
  `unit_size()`; everything else (threads, duty cycle, stats) comes from ThreadedDevice.
- `stats` (hash rate, shares, hardware errors, uptime) and `telemetry()` (temperature, power, fan:
  None where the hardware exposes none).
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from hashforge.kernels import Found, ScanResult

from ..errors import DeviceError, UnknownDriverError
from ..scheduler import Scheduler
from ..sensors import Telemetry, Throttle
from ..stats import DeviceStats
from ..work import WorkUnit

log = logging.getLogger(__name__)


class ResultSink(Protocol):
    def __call__(self, device: Device, unit: WorkUnit, found: Sequence[Found]) -> None: ...


class Device(ABC):
    driver: ClassVar[str]

    def __init__(self, index: int, slot: int, throttle: Throttle | None = None) -> None:
        self.index = index  # number within its driver (CPU0, CPU1, GPU0...)
        self.slot = slot  # the scheduler slot: which extranonce2 values it mines
        self.throttle = throttle or Throttle()
        self.stats = DeviceStats(self.name)
        self.enabled = True
        self.last_telemetry = Telemetry()

    @property
    def name(self) -> str:
        return f"{self.driver.upper()}{self.index}"

    @abstractmethod
    def start(self, feed: Scheduler, sink: ResultSink) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def scan(self, unit: WorkUnit) -> ScanResult: ...

    def telemetry(self) -> Telemetry:
        return Telemetry()

    def describe(self) -> dict[str, Any]:
        """Static facts for the API's devdetails/stats (kernel, threads, ...)."""
        return {"Driver": self.driver}

    @property
    def status(self) -> str:
        if not self.enabled:
            return "Disabled"
        return "Alive" if self.throttle.state != "cutoff" else "Sick"


class ThreadedDevice(Device):
    """A device hashed by `threads` worker threads, each cutting units sized to take about
    `call_seconds` so new jobs are picked up quickly."""

    call_seconds = 0.15

    def __init__(self, index: int, slot: int, threads: int = 1, throttle: Throttle | None = None) -> None:
        super().__init__(index, slot, throttle)
        if threads < 1:
            raise DeviceError("a device needs at least one thread")
        self.threads = threads
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._per_call = [self.initial_nonces() for _ in range(threads)]

    def initial_nonces(self) -> int:
        return 1 << 16

    def versions_per_unit(self) -> int:
        return 1

    def start(self, feed: Scheduler, sink: ResultSink) -> None:
        self._stop.clear()
        self.stats.started = time.time()
        for t in range(self.threads):
            th = threading.Thread(target=self._run, args=(t, feed, sink), name=f"{self.name}-{t}", daemon=True)
            self._threads.append(th)
            th.start()

    def stop(self) -> None:
        self._stop.set()
        for th in self._threads:
            th.join(timeout=10)
        self._threads.clear()

    def _run(self, t: int, feed: Scheduler, sink: ResultSink) -> None:
        versions = self.versions_per_unit()
        while not self._stop.is_set():
            if not self.enabled or self.throttle.stopped:
                self.throttle.rest(0.2, self._stop)
                continue
            unit = feed.next_unit(self.slot, self._per_call[t], versions, timeout=0.25)
            if unit is None:
                continue
            t0 = time.perf_counter()
            try:
                result = self.scan(unit)
            except Exception:  # a broken kernel must not take the miner down
                log.exception("%s: kernel call failed", self.name)
                self.stats.hardware_error()
                self._stop.wait(1.0)
                continue
            elapsed = max(time.perf_counter() - t0, 1e-6)
            self.stats.add_hashes(result.hashes)
            self._tune(t, unit, elapsed)
            if result.found:
                sink(self, unit, result.found)
            self.throttle.rest(self.throttle.pause_after(elapsed), self._stop)

    def _tune(self, t: int, unit: WorkUnit, elapsed: float) -> None:
        nonces = unit.nonce_end - unit.nonce_start
        if nonces <= 0:
            return
        want = nonces * self.call_seconds / elapsed
        smoothed = 0.5 * self._per_call[t] + 0.5 * want
        self._per_call[t] = int(max(16, min(smoothed, self._per_call[t] * 4, 1 << 32)))


DeviceFactory = Callable[["DeviceOptions", str | None, int], list[Device]]
DRIVERS: dict[str, DeviceFactory] = {}


@dataclass(frozen=True)
class DeviceOptions:
    algo: str = "sha256d"
    threads: int | None = None  # CPU threads (None: one per core)
    backend: str = "auto"
    max_load: float = 100.0
    temp_target: float | None = None
    temp_cutoff: float | None = None
    intensity: int | None = None  # GPU hashes per launch (None: auto-tuned to 50-100 ms)
    lookup_gap: int = 1  # GPU scrypt: V-array lookup gap (1: full memory, no recomputation)

    def throttle(self) -> Throttle:
        return Throttle(self.max_load, self.temp_target, self.temp_cutoff)


def register_driver(name: str, factory: DeviceFactory) -> None:
    """Makes `--device NAME[:ARG]` build devices with `factory(options, arg, first_slot)`."""
    DRIVERS[name] = factory


def build_devices(spec: str | Sequence[str], options: DeviceOptions) -> list[Device]:
    """Devices for a spec like "cpu", "cpu,opencl:0" (each driver gets its own slots)."""
    items = spec.split(",") if isinstance(spec, str) else [s for part in spec for s in part.split(",")]
    devices: list[Device] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        driver, _, arg = item.partition(":")
        factory = DRIVERS.get(driver.lower())
        if factory is None:
            known = ", ".join(sorted(DRIVERS)) or "none"
            raise UnknownDriverError(f"no device driver {driver!r} (available: {known})")
        devices.extend(factory(options, arg or None, len(devices)))
    if not devices:
        raise DeviceError("no devices selected")
    return devices
