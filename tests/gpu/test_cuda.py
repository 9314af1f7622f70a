"""CUDA backend (CuPy): the same kernel source as OpenCL, checked against hashlib and the CPU kernels.

Without CuPy or an NVIDIA GPU (CI, most developer machines) these skip and say why; the
CUDA spelling of the kernels is still compiled and run on the host by test_cuda_source.py.
"""

from __future__ import annotations

import pytest

from hashforge.kernels import (
    BackendUnavailableError,
    get_backend,
    scan_sha256d,
    scan_sha256d_versions,
)
from hashforge.kernels.gpu import cuda as cuda_runtime
from hashforge.kernels.gpu import list_devices
from tests.gpu.conftest import GetBackend
from tests.unit.test_kernels import LITECOIN_GENESIS, hashlib_hits, target_from_bits
from tests.vectorfiles import read_framed_blocks


def test_missing_cupy_is_a_clear_error() -> None:
    if cuda_runtime.cupy is not None:
        pytest.skip("CuPy is installed here")
    assert list_devices("cuda") == []
    with pytest.raises(BackendUnavailableError, match=r"hashforge\[cuda\]"):
        get_backend("sha256d", "cuda")


def test_mainnet_genesis_nonce_found(cuda: GetBackend) -> None:
    gpu = cuda("sha256d", intensity=1 << 16)
    genesis = read_framed_blocks("mainnet/btcd/blk_0_to_4.dat.bz2")[0][:80]
    nonce = int.from_bytes(genesis[76:], "little")
    target = target_from_bits(int.from_bytes(genesis[72:76], "little"))
    result = gpu.scan(genesis, target, nonce - (1 << 20), nonce + (1 << 20))
    assert result.nonces == (nonce,) and result.hashes == 1 << 21
    assert gpu.device_name


def test_sha256d_matches_cpu_kernels(cuda: GetBackend) -> None:
    gpu = cuda("sha256d", intensity=4096)
    header = bytes(range(80))
    for target in ((1 << 256) - 1, 1 << 255, 1 << 248):
        assert gpu.scan(header, target, 10, 5000) == scan_sha256d(header, target, 10, 5000)
    versions = [0x20000000 | (k << 13) for k in range(32)]
    assert gpu.scan_versions(header, versions, 1 << 250, 0, 2000) == scan_sha256d_versions(
        header, versions, 1 << 250, 0, 2000
    )


@pytest.mark.parametrize("lookup_gap", [1, 2])
def test_scrypt_litecoin_genesis(cuda: GetBackend, lookup_gap: int) -> None:
    gpu = cuda("scrypt", intensity=256, lookup_gap=lookup_gap)
    nonce = 2084524493
    target = target_from_bits(0x1E0FFFF0)
    result = gpu.scan(LITECOIN_GENESIS, target, nonce - 300, nonce + 300)
    assert list(result.found) == hashlib_hits("scrypt", LITECOIN_GENESIS, [1], target, nonce - 300, nonce + 300)
    assert nonce in result.nonces


def test_telemetry_reads_or_is_none(cuda: GetBackend) -> None:
    telemetry = cuda("sha256d").telemetry()
    if telemetry is not None and telemetry.temperature is not None:
        assert 0 < telemetry.temperature < 130
