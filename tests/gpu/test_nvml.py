"""NVML telemetry: read through a fake pynvml (no NVIDIA driver in CI), None wherever NVML can't tell."""

from __future__ import annotations

import types

import pytest

from hashforge.kernels.gpu.nvml import NVML, GPUTelemetry


class NotSupportedError(Exception):
    pass


def fake_pynvml(*, fan: bool = True, init_fails: bool = False) -> types.SimpleNamespace:
    nv = types.SimpleNamespace()
    nv.NVML_TEMPERATURE_GPU = 0
    handles = {b"0000:65:00.0": "gpu0"}

    def init() -> None:
        if init_fails:
            raise RuntimeError("NVML Shared Library Not Found")

    def by_bus(bus: bytes) -> str:
        if bus not in handles:
            raise KeyError(bus)
        return handles[bus]

    def fan_speed(handle: str) -> int:
        if not fan:
            raise NotSupportedError("Not Supported")
        return 41

    nv.nvmlInit = init
    nv.nvmlDeviceGetHandleByPciBusId = by_bus
    nv.nvmlDeviceGetHandleByIndex = lambda i: "gpu0"
    nv.nvmlDeviceGetTemperature = lambda h, sensor: 67
    nv.nvmlDeviceGetFanSpeed = fan_speed
    nv.nvmlDeviceGetPowerUsage = lambda h: 312_500  # milliwatts
    return nv


def test_reads_temperature_fan_power() -> None:
    nvml = NVML(fake_pynvml())
    assert nvml.available
    assert nvml.read(pci_bus_id="0000:65:00.0") == GPUTelemetry(temperature=67.0, fan=41.0, power=312.5)
    assert nvml.read(index=0) == GPUTelemetry(67.0, 41.0, 312.5)


def test_unsupported_reading_is_none_not_invented() -> None:
    assert NVML(fake_pynvml(fan=False)).read(index=0) == GPUTelemetry(67.0, None, 312.5)


def test_unknown_device_or_no_device_asked_is_none() -> None:
    nvml = NVML(fake_pynvml())
    assert nvml.read(pci_bus_id="0000:01:00.0") is None
    assert nvml.read() is None


def test_nvml_that_does_not_start_is_none() -> None:
    nvml = NVML(fake_pynvml(init_fails=True))
    assert not nvml.available
    assert nvml.read(index=0) is None
    assert nvml.error is not None and "Not Found" in nvml.error


def test_without_pynvml_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` fail
    nvml = NVML()
    assert nvml.read(index=0) is None
    assert nvml.error is not None and "pynvml" in nvml.error
