"""GPU telemetry through NVML (the `pynvml` module of nvidia-ml-py): temperature, fan, power.

Optional: without pynvml, without an NVIDIA driver, or for a device NVML does not know, the
answer is None; a reading the board does not support (the fan of a passively cooled H100)
is None inside GPUTelemetry. A value is never invented.
"""

from __future__ import annotations

import importlib
import logging
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GPUTelemetry:
    temperature: float | None  # degrees Celsius (GPU core)
    fan: float | None  # percent of maximum speed
    power: float | None  # watts


class NVML:
    """One NVML session: initialized on first use; `available` says whether it worked."""

    def __init__(self, module: ModuleType | Any = None) -> None:
        """`module`: a pynvml stand-in (tests); default: import pynvml on first use."""
        self._module = module
        self._lock = threading.Lock()
        self._state: bool | None = None  # None: not tried yet
        self.error: str | None = None

    def _init(self) -> Any:
        with self._lock:
            if self._state is None:
                try:
                    nv = self._module or importlib.import_module("pynvml")
                    nv.nvmlInit()
                    self._module, self._state = nv, True
                except Exception as exc:  # ImportError, NVMLError_LibraryNotFound, DriverNotLoaded, ...
                    self._state, self.error = False, f"{type(exc).__name__}: {exc}"
                    log.debug("NVML unavailable: %s", self.error)
            return self._module if self._state else None

    @property
    def available(self) -> bool:
        return self._init() is not None

    def read(self, *, pci_bus_id: str | None = None, index: int | None = None) -> GPUTelemetry | None:
        """Telemetry of the device at `pci_bus_id` ("0000:65:00.0") or NVML `index`."""
        nv = self._init()
        if nv is None or (pci_bus_id is None and index is None):
            return None
        try:
            if pci_bus_id is not None:
                handle = nv.nvmlDeviceGetHandleByPciBusId(pci_bus_id.encode())
            else:
                handle = nv.nvmlDeviceGetHandleByIndex(index)
        except Exception:
            return None

        def reading(fn: str, *args: Any) -> float | None:
            try:
                return float(getattr(nv, fn)(handle, *args))
            except Exception:  # NVMLError_NotSupported and friends
                return None

        power = reading("nvmlDeviceGetPowerUsage")  # milliwatts
        return GPUTelemetry(
            temperature=reading("nvmlDeviceGetTemperature", getattr(nv, "NVML_TEMPERATURE_GPU", 0)),
            fan=reading("nvmlDeviceGetFanSpeed"),
            power=None if power is None else power / 1000.0,
        )


_default = NVML()


def read_telemetry(*, pci_bus_id: str | None = None, index: int | None = None) -> GPUTelemetry | None:
    """Telemetry from the process's shared NVML session (None where NVML cannot tell)."""
    return _default.read(pci_bus_id=pci_bus_id, index=index)
