"""GPU-backend tests: OpenCL runs on whatever OpenCL device is here (PoCL's CPU device in CI).

PoCL compiles kernels into a cache directory; it defaults to ~/.cache/pocl, which may not
be writable (CI, containers), so the tests point it at a per-user directory under the
system temp dir unless POCL_CACHE_DIR is already set. It must be set before PoCL starts,
hence here, at collection time.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("POCL_CACHE_DIR", str(Path(tempfile.gettempdir()) / f"hashforge-pocl-{os.getuid()}"))

from hashforge.kernels import BackendUnavailableError
from hashforge.kernels.gpu import GPUBackend, GPUError, get_gpu_backend

GetBackend = Callable[..., GPUBackend]


def gpu_backend_or_skip(algo: str, name: str, **kwargs: int) -> GPUBackend:
    """The GPU backend, or a skip that says exactly why this machine cannot run it."""
    try:
        return get_gpu_backend(algo, name, **kwargs)
    except (BackendUnavailableError, GPUError) as exc:
        hint = (
            "OpenCL tests need pyopencl and an OpenCL device (pip install pyopencl pocl-binary-distribution)"
            if name.startswith("opencl")
            else "CUDA tests need CuPy (pip install 'hashforge[cuda]') and an NVIDIA GPU"
        )
        pytest.skip(f"{hint}: {exc}")


@pytest.fixture
def opencl() -> GetBackend:
    """`opencl(algo, intensity=..., lookup_gap=...)`: the default OpenCL device, or a skip."""

    def get(algo: str, **kwargs: int) -> GPUBackend:
        return gpu_backend_or_skip(algo, "opencl", **kwargs)

    return get


@pytest.fixture
def cuda() -> GetBackend:
    def get(algo: str, **kwargs: int) -> GPUBackend:
        return gpu_backend_or_skip(algo, "cuda", **kwargs)

    return get
