"""The CUDA spelling of the kernels, compiled as host C++ with g++ and run through the real engine.

No GPU or CuPy is needed: a small shim stands in for CUDA's built-ins (blockIdx, atomicAdd,
__funnelshift_r, __byte_perm, ...), loops over every thread of the grid, and the test drives
it through GPUEngine.scan() exactly as the CuPy engine would. This catches C++-only compile
errors and mistakes in prelude_cuda.h that the OpenCL tests cannot see. Skips without g++.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hashforge.kernels import scan_scrypt_versions, scan_sha256d_versions
from hashforge.kernels.gpu._engine import DeviceInfo, GPUEngine, kernel_source, scrypt_item_bytes
from hashforge.kernels.gpu._host import Job, U32Array
from tests.unit.test_kernels import LITECOIN_GENESIS, hashlib_hits, target_from_bits

SHIM = r"""
#include <cstddef>
struct hf_dim3 { unsigned x, y, z; };
static hf_dim3 blockIdx, blockDim, threadIdx;
#define __global__
#define __device__
#define __forceinline__ inline
#define __constant__ static
static inline unsigned __funnelshift_r(unsigned lo, unsigned hi, unsigned s)
{ s &= 31; return s ? (lo >> s) | (hi << (32 - s)) : lo; }
static inline unsigned __funnelshift_l(unsigned lo, unsigned hi, unsigned s)
{ s &= 31; return s ? (hi << s) | (lo >> (32 - s)) : hi; }
static inline unsigned __byte_perm(unsigned x, unsigned y, unsigned sel)
{
    unsigned long long v = ((unsigned long long)y << 32) | x;
    unsigned r = 0;
    for (int i = 0; i < 4; i++) r |= (unsigned)((v >> (8 * ((sel >> (4 * i)) & 7))) & 0xff) << (8 * i);
    return r;
}
static inline unsigned atomicAdd(unsigned *p, unsigned v) { unsigned old = *p; *p += v; return old; }
"""

RUNNERS = {
    "sha256d": r"""
extern "C" void run(unsigned grid, unsigned block, const uint *recs, uint nv, const uint *params,
                    uint base, uint count, uint *out, uint cap, uint *unused)
{
    blockDim.x = block;
    for (unsigned b = 0; b < grid; b++)
        for (unsigned t = 0; t < block; t++) {
            blockIdx.x = b; threadIdx.x = t;
            sha256d_scan(recs, nv, params, base, count, out, cap);
        }
}
""",
    "scrypt": r"""
extern "C" void run(unsigned grid, unsigned block, const uint *recs, uint nv, const uint *params,
                    uint base, uint count, uint *out, uint cap, uint *V)
{
    blockDim.x = block;
    for (unsigned b = 0; b < grid; b++)
        for (unsigned t = 0; t < block; t++) {
            blockIdx.x = b; threadIdx.x = t;
            scrypt_scan(recs, nv, params, base, count, out, cap, V);
        }
}
""",
}

INFO = DeviceInfo("cuda", 0, "host C++ stand-in", "g++", "none", "CPU", 1, 1 << 30, 1 << 30)


def build(tmp: Path, algo: str, lookup_gap: int) -> ctypes.CDLL:
    src = tmp / f"{algo}_{lookup_gap}.cpp"
    lib = tmp / f"{algo}_{lookup_gap}.so"
    src.write_text(SHIM + kernel_source("cuda", algo) + RUNNERS[algo])
    cmd = ["g++", "-x", "c++", "-std=c++14", "-O2", "-shared", "-fPIC", "-Wall", "-Werror",
           "-Wno-unused-function", "-Wno-unknown-pragmas", f"-DLOOKUP_GAP={lookup_gap}", str(src), "-o", str(lib)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    dll = ctypes.CDLL(str(lib))
    u32, ptr = ctypes.c_uint32, ctypes.c_void_p
    dll.run.argtypes = [u32, u32, ptr, u32, ptr, u32, u32, ptr, u32, ptr]
    return dll


class HostEngine(GPUEngine):
    """GPUEngine over the host-compiled CUDA source: a 'device' whose launch is a C loop."""

    kind = "cuda"

    def __init__(self, dll: ctypes.CDLL, lookup_gap: int) -> None:
        super().__init__(INFO, lookup_gap)
        self.dll = dll

    def local_size(self, algo: str) -> int:
        return 32

    def _upload(self, job: Job) -> Any:
        return job.records.copy(), job.params.copy()

    def _launch(
        self, algo: str, uploaded: Any, nversions: int, base: int, count: int, capacity: int
    ) -> tuple[int, U32Array]:
        records, params = uploaded
        blocks = -(-count // 32)
        out = np.zeros(1 + 2 * capacity, dtype=np.uint32)
        v = np.zeros(blocks * 32 * scrypt_item_bytes(self.lookup_gap) // 4 if algo == "scrypt" else 1, np.uint32)
        self.dll.run(blocks, 32, records.ctypes.data, nversions, params.ctypes.data, base, count,
                     out.ctypes.data, capacity, v.ctypes.data)
        total = int(out[0])
        return total, out[1 : 1 + 2 * min(total, capacity)]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed: cannot compile the CUDA source for the host")
    return tmp_path_factory.mktemp("cuda_host")


def test_cuda_sha256d_source_matches_cpu_kernels(workdir: Path) -> None:
    engine = HostEngine(build(workdir, "sha256d", 1), 1)
    engine.set_intensity("sha256d", 1000)
    header = bytes(range(5, 85))
    versions = [0x20000000, 0x20002000, 0x3FFFE000]
    for target in ((1 << 256) - 1, 1 << 252, 1 << 240):
        expected = scan_sha256d_versions(header, versions, target, 4000, 7000)
        assert engine.scan("sha256d", header, versions, target, 4000, 7000) == [tuple(f) for f in expected.found]


@pytest.mark.parametrize("lookup_gap", [1, 4])
def test_cuda_scrypt_source_finds_litecoin_genesis(workdir: Path, lookup_gap: int) -> None:
    engine = HostEngine(build(workdir, "scrypt", lookup_gap), lookup_gap)
    engine.set_intensity("scrypt", 40)
    nonce = 2084524493
    target = target_from_bits(0x1E0FFFF0)
    found = engine.scan("scrypt", LITECOIN_GENESIS, [1], target, nonce - 2, nonce + 2)
    assert found == [tuple(f) for f in hashlib_hits("scrypt", LITECOIN_GENESIS, [1], target, nonce - 2, nonce + 2)]
    assert (1, nonce) in found
    header = bytes(range(80))
    easy = engine.scan("scrypt", header, [7], (1 << 256) - 1, 0, 3)
    assert easy == [tuple(f) for f in scan_scrypt_versions(header, [7], (1 << 256) - 1, 0, 3).found]
