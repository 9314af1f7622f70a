"""OpenCL kernels (PoCL's CPU device in CI) against the pure-Python oracle, hashlib and the CPU kernels.

PoCL on a small CI machine hashes SHA-256d at ~1-2 MH/s and scrypt at ~3 kH/s, so ranges are
small and hypothesis runs few examples; the whole file stays well under a minute. Small fixed
intensities make most scans several launches, so the chunking is exercised too.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from hashforge.consensus.hashes import hash256
from hashforge.kernels import (
    BackendUnavailableError,
    Found,
    UnknownBackendError,
    _reference,
    get_backend,
    rolled_versions,
    scan_scrypt,
    scan_sha256d,
    scan_sha256d_versions,
)
from hashforge.kernels.gpu import GPUBackend, list_devices
from tests.gpu.conftest import GetBackend
from tests.unit.test_kernels import (
    LITECOIN_GENESIS,
    easy_targets,
    hashlib_hits,
    nonce_ranges,
    target_from_bits,
    with_version_nonce,
)
from tests.vectorfiles import read_framed_blocks

SLOW_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def test_device_enumeration_names_the_device(opencl: GetBackend) -> None:
    backend = opencl("sha256d")
    devices = list_devices("opencl")
    assert backend.device in devices
    assert backend.name == backend.device.backend_name and backend.name.startswith("opencl:")
    assert backend.device_name and backend.device.platform
    assert backend.device.describe().startswith(f"{backend.name}: {backend.device_name}")
    assert isinstance(get_backend("sha256d", backend.name), GPUBackend)  # via hashforge.kernels


# ---- SHA-256d ----------------------------------------------------------------------


@settings(max_examples=6, deadline=None, suppress_health_check=SLOW_OK)
@given(
    header=st.binary(min_size=80, max_size=80),
    versions=st.lists(st.integers(0, (1 << 32) - 1), min_size=1, max_size=3),
    target=easy_targets,
    rng=nonce_ranges(300),
)
def test_sha256d_matches_oracle_hashlib_and_cpu(
    opencl: GetBackend, header: bytes, versions: list[int], target: int, rng: tuple[int, int]
) -> None:
    gpu = opencl("sha256d", intensity=128)
    start, end = rng
    result = gpu.scan_versions(header, versions, target, start, end)
    assert result.hashes == (end - start) * len(versions)
    expected = hashlib_hits("sha256d", header, versions, target, start, end)
    assert list(result.found) == expected
    assert [tuple(f) for f in result.found] == _reference.scan("sha256d", header, versions, target, start, end)
    assert result == scan_sha256d_versions(header, versions, target, start, end)  # the CPU kernels


def test_mainnet_genesis_nonce_found(opencl: GetBackend) -> None:
    gpu = opencl("sha256d", intensity=8192)
    genesis = read_framed_blocks("mainnet/btcd/blk_0_to_4.dat.bz2")[0][:80]
    nonce = int.from_bytes(genesis[76:], "little")
    assert nonce == 2083236893
    target = target_from_bits(int.from_bytes(genesis[72:76], "little"))
    span = 1 << 15
    result = gpu.scan(genesis, target, nonce - span, nonce + span)  # 8 launches
    assert result.nonces == (nonce,)
    assert result.hashes == 2 * span
    assert result == scan_sha256d(genesis, target, nonce - span, nonce + span)
    assert gpu.scan(genesis[:76], target, nonce - 3, nonce + 3).nonces == (nonce,)


def test_all_nonces_returned_for_easy_target(opencl: GetBackend) -> None:
    """2000 hits: more than the kernel's first output buffer holds, so it grows and reruns."""
    gpu = opencl("sha256d", intensity=4096)
    header = bytes(range(80))
    everything = gpu.scan(header, (1 << 256) - 1, 1000, 3000)
    assert everything.nonces == tuple(range(1000, 3000))
    assert everything.hashes == 2000
    half = gpu.scan(header, 1 << 255, 0, 1000)
    assert half == scan_sha256d(header, 1 << 255, 0, 1000)
    assert 400 < len(half.found) < 600


def test_top_of_nonce_space_and_empty_range(opencl: GetBackend) -> None:
    gpu = opencl("sha256d", intensity=64)
    header = bytes(range(80))
    top = 1 << 32
    assert gpu.scan(header, (1 << 256) - 1, top - 100, top).nonces == tuple(range(top - 100, top))
    assert gpu.scan(header, (1 << 256) - 1, 5, 5) == scan_sha256d(header, (1 << 256) - 1, 5, 5)


@pytest.mark.parametrize("offset", [0, 7, 63])
def test_target_boundary_is_inclusive(opencl: GetBackend, offset: int) -> None:
    """A hash equal to the target qualifies and one above does not: the early-rejection word
    ties, so every lower word is compared."""
    gpu = opencl("sha256d", intensity=64)
    header = bytes(range(1, 81))
    version = int.from_bytes(header[:4], "little")
    versions = [version ^ 0x2000, version]
    exact = int.from_bytes(hash256(with_version_nonce(header, version, 500 + offset)), "little")
    hit = gpu.scan_versions(header, versions, exact, 500, 564).found
    assert Found(version, 500 + offset) in hit
    assert list(hit) == hashlib_hits("sha256d", header, versions, exact, 500, 564)
    assert Found(version, 500 + offset) not in gpu.scan_versions(header, versions, exact - 1, 500, 564).found


def test_version_rolling_matches_cpu_kernels(opencl: GetBackend) -> None:
    gpu = opencl("sha256d", intensity=4096)
    header = bytes(range(2, 82))
    versions = rolled_versions(0x20000000, 0x1FFFE000, 64)
    target = 1 << 250
    result = gpu.scan_versions(header, versions, target, 7000, 7400)  # 7 launches of 64 nonces
    assert result.hashes == 400 * 64
    assert result == scan_sha256d_versions(header, versions, target, 7000, 7400)
    assert len(result.found) > 100


def test_a_bad_hit_is_dropped_and_counted(opencl: GetBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hit hashlib rejects (a faulty device) never reaches the caller; it counts as a HW error."""
    gpu = opencl("sha256d", intensity=1024)
    engine = gpu.engine
    real = engine._launch

    def launch_with_a_bogus_hit(*args: object) -> tuple[int, np.ndarray]:
        total, words = real(*args)  # type: ignore[arg-type]
        return total + 1, np.concatenate([words, np.array([args[3], 0], dtype=np.uint32)])

    monkeypatch.setattr(engine, "_launch", launch_with_a_bogus_hit)
    before = gpu.hardware_errors
    assert gpu.scan(bytes(range(80)), 0, 100, 200).found == ()
    assert gpu.hardware_errors == before + 1


def test_autotune_and_intensity_limits(opencl: GetBackend) -> None:
    gpu = opencl("sha256d")
    step = gpu.engine.local_size("sha256d")
    tuned = gpu.autotune(seconds=0.02)
    assert tuned >= step and tuned % step == 0 and gpu.intensity == tuned
    gpu.set_intensity(1000)
    assert gpu.batch == 1000
    with pytest.raises(ValueError, match="intensity"):
        gpu.set_intensity(0)


def test_bad_device_names() -> None:
    with pytest.raises(UnknownBackendError):
        get_backend("sha256d", "opencl:first")
    if not list_devices("opencl"):
        pytest.skip("no OpenCL device here to count past")
    with pytest.raises(BackendUnavailableError, match=r"no OpenCL device 99 .*this machine has"):
        get_backend("sha256d", "opencl:99")


def test_telemetry_is_none_without_nvml_device(opencl: GetBackend) -> None:
    gpu = opencl("sha256d")
    if gpu.device.pci_bus_id is None:
        assert gpu.telemetry() is None


# ---- scrypt ------------------------------------------------------------------------


@pytest.mark.parametrize("lookup_gap", [1, 3])
def test_litecoin_genesis_nonce_found(opencl: GetBackend, lookup_gap: int) -> None:
    gpu = opencl("scrypt", intensity=8, lookup_gap=lookup_gap)
    nonce = 2084524493
    target = target_from_bits(0x1E0FFFF0)
    result = gpu.scan(LITECOIN_GENESIS, target, nonce - 8, nonce + 9)  # 3 launches
    assert nonce in result.nonces
    assert result.hashes == 17
    assert list(result.found) == hashlib_hits("scrypt", LITECOIN_GENESIS, [1], target, nonce - 8, nonce + 9)


@settings(max_examples=3, deadline=None, suppress_health_check=SLOW_OK)
@given(
    header=st.binary(min_size=80, max_size=80),
    versions=st.lists(st.integers(0, (1 << 32) - 1), min_size=1, max_size=2),
    target=easy_targets,
    rng=nonce_ranges(10),
)
def test_scrypt_matches_oracle_and_hashlib(
    opencl: GetBackend, header: bytes, versions: list[int], target: int, rng: tuple[int, int]
) -> None:
    gpu = opencl("scrypt", intensity=16)
    start, end = rng
    result = gpu.scan_versions(header, versions, target, start, end)
    assert result.hashes == (end - start) * len(versions)
    assert list(result.found) == hashlib_hits("scrypt", header, versions, target, start, end)
    assert [tuple(f) for f in result.found] == _reference.scan("scrypt", header, versions, target, start, end)


def test_scrypt_all_nonces_for_easy_target(opencl: GetBackend) -> None:
    gpu = opencl("scrypt", intensity=16)
    header = bytes(range(80))
    result = gpu.scan(header, (1 << 256) - 1, 7, 30)
    assert result.nonces == tuple(range(7, 30))
    assert result == scan_scrypt(header, (1 << 256) - 1, 7, 30)


# ---- hashforge bench ---------------------------------------------------------------


def test_bench_cli_prints_the_device(opencl: GetBackend) -> None:
    from hashforge.cli import app

    gpu = opencl("sha256d")
    out = CliRunner().invoke(app, ["bench", "--backend", "opencl", "--seconds", "1", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["device"] == gpu.device_name
    assert data["backend"] == gpu.name and data["requested_backend"] == "opencl"
    assert data["hashes"] > 0 and data["hashrate"] > 0
