"""Device telemetry from what the OS exposes, and the throttle that keeps a device in its limits.

Temperatures come from psutil's sensors (Linux hwmon: coretemp, k10temp, ...), power from the
Linux powercap (RAPL) energy counter. Where neither exists the value is None and is shown as
"n/a": a value is never invented.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import psutil
except ImportError:  # pragma: no cover - psutil is a dependency; without it telemetry is n/a
    psutil = None  # type: ignore[assignment]

CPU_SENSOR_NAMES = ("coretemp", "k10temp", "zenpower", "cpu_thermal", "cpu-thermal", "soc_thermal", "acpitz")
RAPL_ENERGY = Path("/sys/class/powercap/intel-rapl:0/energy_uj")


@dataclass(frozen=True, slots=True)
class Telemetry:
    temperature: float | None = None  # degrees Celsius
    power: float | None = None  # watts
    fan: float | None = None  # percent

    @staticmethod
    def fmt(value: float | None, unit: str) -> str:
        return "n/a" if value is None else f"{value:.1f}{unit}"


def cpu_temperature() -> float | None:
    """The hottest CPU sensor reading, or None where the OS exposes none."""
    if psutil is None or not hasattr(psutil, "sensors_temperatures"):
        return None
    try:
        sensors = psutil.sensors_temperatures()
    except (OSError, RuntimeError):
        return None
    readings = [t.current for name in CPU_SENSOR_NAMES for t in sensors.get(name, []) if t.current is not None]
    return max(readings) if readings else None


class RaplPower:
    """Package power from the RAPL energy counter (two reads make a rate); None if unreadable."""

    def __init__(self, path: Path = RAPL_ENERGY) -> None:
        self.path = path
        self._last: tuple[float, int] | None = None

    def read(self) -> float | None:
        try:
            energy = int(self.path.read_text())
        except (OSError, ValueError):
            return None
        now = time.monotonic()
        last, self._last = self._last, (now, energy)
        if last is None or now <= last[0] or energy < last[1]:
            return None
        return (energy - last[1]) / 1e6 / (now - last[0])


class Throttle:
    """How much of the time a device may hash: --max-load caps the duty cycle, --temp-target
    lowers it while the device is hotter than the target, --temp-cutoff stops the device until
    it cools below the target (or 10 degrees under the cutoff without a target)."""

    def __init__(self, max_load: float = 100.0, temp_target: float | None = None,
                 temp_cutoff: float | None = None) -> None:
        if not 0 < max_load <= 100:
            raise ValueError("max load must be in (0, 100]")
        self.max_load = max_load
        self.temp_target = temp_target
        self.temp_cutoff = temp_cutoff
        self._factor = 1.0
        self.stopped = False
        self._wake = threading.Event()

    @property
    def duty(self) -> float:
        return self.max_load / 100.0 * self._factor

    @property
    def state(self) -> str:
        if self.stopped:
            return "cutoff"
        return "throttled" if self.duty < 0.999 else "ok"

    def update(self, temperature: float | None) -> None:
        """One governor step with the latest reading (None: no sensor, no thermal control)."""
        if temperature is None:
            self._factor, self.stopped = 1.0, False
            return
        if self.temp_cutoff is not None and temperature >= self.temp_cutoff:
            self.stopped = True
        elif self.stopped:
            resume = self.temp_target if self.temp_target is not None else (self.temp_cutoff or 0) - 10
            if temperature < resume:
                self.stopped = False
                self._factor = 0.5
        if self.temp_target is not None:
            if temperature > self.temp_target:
                self._factor = max(0.05, self._factor * 0.8)
            elif temperature < self.temp_target - 2:
                self._factor = min(1.0, self._factor * 1.1 + 0.02)
        if not self.stopped:
            self._wake.set()

    def pause_after(self, busy: float) -> float:
        """Seconds to rest after `busy` seconds of hashing to hold the duty cycle."""
        d = self.duty
        return 0.0 if d >= 0.999 else busy * (1.0 - d) / d

    def rest(self, seconds: float, stop: threading.Event) -> None:
        """Sleeps for the pause (or while cut off), waking early when `stop` is set."""
        if seconds > 0:
            stop.wait(seconds)
        while self.stopped and not stop.is_set():
            stop.wait(0.2)
