"""The opencl and cuda miner drivers: building devices, options, errors, telemetry, scans.

OpenCL runs on whatever OpenCL device is here (PoCL's CPU device in CI); the CUDA tests skip
with the reason when CuPy or an NVIDIA GPU is missing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hashforge.kernels.gpu as gpu_kernels
from hashforge.kernels.gpu import GPUTelemetry, opencl
from hashforge.miner import (
    DeviceOptions,
    Miner,
    MinerConfig,
    Scheduler,
    build_config,
    build_devices,
)
from hashforge.miner.core import build_sources
from hashforge.miner.devices import CPUDevice, CUDADevice, GPUDevice, OpenCLDevice
from hashforge.miner.errors import ConfigError, DeviceError
from hashforge.miner.work import Work
from hashforge.stratum import difficulty_to_target

from .stratum_server import make_job

os.environ.setdefault("POCL_CACHE_DIR", str(Path(tempfile.gettempdir()) / f"hashforge-pocl-{os.getuid()}"))


@pytest.fixture
def fresh_engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Engines opened by the test are its own (intensity is per engine) and dropped afterwards."""
    monkeypatch.setattr(gpu_kernels, "_engines", {})
    yield


def opencl_or_skip(spec: str = "opencl:0", **options: Any) -> GPUDevice:
    try:
        [device] = build_devices(spec, DeviceOptions(**options))
    except DeviceError as exc:
        pytest.skip(f"OpenCL driver tests need pyopencl and an OpenCL device "
                    f"(pip install pyopencl pocl-binary-distribution): {exc}")
    assert isinstance(device, OpenCLDevice)
    return device


def test_opencl_device_options_describe_and_slots(fresh_engines: None) -> None:
    dev = opencl_or_skip(intensity=4096)
    assert dev.name == "OPENCL0" and dev.driver == "opencl" and dev.threads == 1
    assert dev.initial_nonces() == dev.kernel.batch == 4096
    info = dev.describe()
    assert info["Driver"] == "opencl" and info["Intensity"] == 4096 and info["Hardware Errors"] == 0
    assert info["Device"] == dev.kernel.device_name and info["Kernel"] == "sha256d/opencl:0"
    assert "Lookup Gap" not in info
    devices = build_devices("cpu:1,opencl", DeviceOptions())  # bare `opencl`: every OpenCL device
    assert [d.slot for d in devices] == list(range(len(devices))) and devices[0].name == "CPU0"
    assert all(isinstance(d, OpenCLDevice) for d in devices[1:]) and len(devices) >= 2


def test_opencl_scrypt_lookup_gap(fresh_engines: None) -> None:
    dev = opencl_or_skip(algo="scrypt", lookup_gap=2, intensity=64)
    assert dev.kernel.engine.lookup_gap == 2 and dev.describe()["Lookup Gap"] == 2
    assert dev.describe()["Kernel"] == "scrypt/opencl:0"


def _unit(algo: str, difficulty: float, nonces: int, versions: int) -> Any:
    work = Work(0, make_job("j1"), b"\x01\x02\x03\x04", 4, difficulty,
                difficulty_to_target(difficulty, scrypt=algo == "scrypt"), 0, version_mask=0x1FFFE000,
                algo=algo)
    sched = Scheduler(1)
    sched.set_work({0: work})
    unit = sched.next_unit(0, nonces, versions)
    assert unit is not None and len(unit.versions) == versions
    return unit


@pytest.mark.parametrize("versions", [1, 4])
def test_opencl_scan_matches_the_cpu_kernel(versions: int) -> None:
    dev = opencl_or_skip()
    unit = _unit("sha256d", 1e-6, 1 << 16, versions)  # about 15 finds per version
    got = dev.scan(unit)
    want = CPUDevice(0, 0, threads=1).scan(unit)
    assert got.hashes == want.hashes == unit.hashes
    assert sorted(got.found) == sorted(want.found) and got.found


def test_telemetry_is_mapped_never_invented() -> None:
    dev = opencl_or_skip()
    real = dev.kernel

    class Stub:
        reading: GPUTelemetry | None = None

        def telemetry(self) -> GPUTelemetry | None:
            return self.reading

    stub = Stub()
    dev.kernel = stub  # type: ignore[assignment]
    try:
        tel = dev.telemetry()  # PoCL / no NVML: nothing known
        assert (tel.temperature, tel.power, tel.fan) == (None, None, None)
        dev._telemetry_at = 0.0
        stub.reading = GPUTelemetry(temperature=71.0, fan=None, power=312.5)
        tel = dev.telemetry()
        assert (tel.temperature, tel.power, tel.fan) == (71.0, 312.5, None)
    finally:
        dev.kernel = real


def test_engine_hardware_errors_count_for_the_device() -> None:
    dev = opencl_or_skip()
    unit = _unit("sha256d", 1.0, 4096, 1)
    dev.kernel.engine.hardware_errors += 2  # as if the engine had dropped two bad hits
    try:
        dev.scan(unit)
        assert dev.stats.hardware_errors == 2
        dev.scan(unit)
        assert dev.stats.hardware_errors == 2
    finally:
        dev.kernel.engine.hardware_errors -= 2


def test_missing_pyopencl_is_a_one_line_device_error(monkeypatch: pytest.MonkeyPatch, fresh_engines: None) -> None:
    monkeypatch.setattr(opencl, "cl", None)
    monkeypatch.setattr(opencl, "IMPORT_ERROR", "ModuleNotFoundError: No module named 'pyopencl'")
    for spec in ("opencl:0", "cpu:1,opencl"):
        with pytest.raises(DeviceError) as info:
            build_devices(spec, DeviceOptions())
        msg = str(info.value)
        assert "\n" not in msg and "pyopencl" in msg and "pip install" in msg, msg
    with pytest.raises(DeviceError, match="bad device opencl:x"):
        build_devices("opencl:x", DeviceOptions())


def test_intensity_and_lookup_gap_config(tmp_path: Path) -> None:
    cfg = build_config(None, benchmark=True, intensity=1 << 20, lookup_gap=4)
    assert (cfg.intensity, cfg.lookup_gap) == (1 << 20, 4)
    toml = tmp_path / "miner.toml"
    toml.write_text('devices = ["cpu", "opencl:0"]\nintensity = 65536\nlookup-gap = 2\nbenchmark = true\n')
    cfg = build_config(toml)
    assert (cfg.devices, cfg.intensity, cfg.lookup_gap) == (("cpu", "opencl:0"), 65536, 2)
    assert build_config(None, benchmark=True).intensity is None
    for intensity, gap in ((0, None), (None, 0), (None, 2048)):
        with pytest.raises(ConfigError):
            build_config(None, benchmark=True, intensity=intensity, lookup_gap=gap)
    toml.write_text('intensity = "lots"\nbenchmark = true\n')
    with pytest.raises(ConfigError, match="intensity"):
        build_config(toml)


def _cuda_or_skip(spec: str = "cuda:0") -> list[Any]:
    try:
        return build_devices(spec, DeviceOptions())
    except DeviceError as exc:
        pytest.skip(f"CUDA driver tests need CuPy (pip install 'hashforge[cuda]') and an NVIDIA GPU: {exc}")


def test_cuda_driver_mines_beside_the_cpu() -> None:
    devices = _cuda_or_skip("cpu:1,cuda:0")
    gpu = devices[1]
    assert isinstance(gpu, CUDADevice) and gpu.name == "CUDA0" and gpu.describe()["Driver"] == "cuda"
    cfg = MinerConfig(benchmark=True, api_listen=None)
    miner = Miner(cfg, devices=devices, sources=build_sources(cfg))
    asyncio.run(miner.run(duration=3.0))
    assert all(d.stats.meter.total > 0 for d in devices)
    assert miner.total_hashes() == sum(d.stats.meter.total for d in devices)
    assert miner.hardware_errors() == 0
    tel = gpu.telemetry()  # NVML where pynvml is installed; else every field None
    assert all(v is None or isinstance(v, float) for v in (tel.temperature, tel.power, tel.fan))


def test_missing_cuda_is_a_clear_one_line_cli_error() -> None:
    try:
        build_devices("cuda:0", DeviceOptions())
        pytest.skip("CUDA is available here: nothing to report")
    except DeviceError:
        pass
    proc = subprocess.run([sys.executable, "-m", "hashforge", "mine", "--device", "cpu:1,cuda:0", "--benchmark",
                           "--seconds", "1"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cuda:0: "), proc.stderr
    assert "Traceback" not in proc.stderr
