"""The CUDA runtime (CuPy, `pip install hashforge[cuda]`): the same kernel source, via NVRTC.

The .cl kernels are written against a handful of portable macros; prelude_cuda.h spells them
in CUDA C++ (extern "C" __global__, __funnelshift_r, __byte_perm, atomicAdd), and CuPy's
RawModule compiles the result. Devices are numbered as CUDA numbers them (`cuda:N`;
CUDA_VISIBLE_DEVICES applies).
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from hashforge.kernels import BackendUnavailableError

from ._engine import DeviceInfo, GPUEngine, GPUError, kernel_source, scrypt_item_bytes
from ._host import Job, U32Array

# Imported by name so the module types the same with or without CuPy installed.
cupy: Any
IMPORT_ERROR: str | None
try:
    cupy, IMPORT_ERROR = importlib.import_module("cupy"), None
except Exception as exc:  # ImportError, or CuPy failing to find its CUDA libraries
    cupy, IMPORT_ERROR = None, f"{type(exc).__name__}: {exc}"

_BLOCK = {"sha256d": 256, "scrypt": 64}


def _device_count() -> int:
    if cupy is None:
        raise BackendUnavailableError(
            f"the cuda backend needs CuPy ({IMPORT_ERROR}); pip install 'hashforge[cuda]'"
        )
    try:
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:  # no driver, no device
        raise BackendUnavailableError(f"no CUDA device: {exc}") from None


def _info(index: int) -> DeviceInfo:
    assert cupy is not None
    props = cupy.cuda.runtime.getDeviceProperties(index)
    name = props["name"]
    try:
        bus_id: str | None = str(cupy.cuda.Device(index).pci_bus_id)
    except Exception:
        bus_id = None
    return DeviceInfo(
        kind="cuda",
        index=index,
        name=name.decode() if isinstance(name, bytes) else str(name),
        platform="CUDA",
        vendor="NVIDIA",
        device_type="GPU",
        compute_units=int(props["multiProcessorCount"]),
        global_memory=int(props["totalGlobalMem"]),
        max_allocation=int(props["totalGlobalMem"]),
        pci_bus_id=bus_id,
    )


def list_devices() -> list[DeviceInfo]:
    """Every CUDA device, numbered as `cuda:N` selects them (empty without CuPy or a device)."""
    try:
        return [_info(i) for i in range(_device_count())]
    except BackendUnavailableError:
        return []


def open_engine(index: int | None, lookup_gap: int = 1) -> CUDAEngine:
    count = _device_count()
    if count == 0:
        raise BackendUnavailableError("CUDA is installed but reports no device")
    index = 0 if index is None else index
    if not 0 <= index < count:
        listing = "; ".join(_info(i).describe() for i in range(count))
        raise BackendUnavailableError(f"no CUDA device {index} (this machine has {count}: {listing})")
    return CUDAEngine(_info(index), lookup_gap)


class CUDAEngine(GPUEngine):
    kind = "cuda"

    def __init__(self, info: DeviceInfo, lookup_gap: int = 1) -> None:
        super().__init__(info, lookup_gap)
        assert cupy is not None
        self._cp = cupy
        self._device = cupy.cuda.Device(info.index)
        self._kernels: dict[str, Any] = {}
        self._out: Any = None
        self._v: Any = None
        self._v_items = 0

    def _kernel(self, algo: str) -> Any:
        kernel = self._kernels.get(algo)
        if kernel is None:
            try:
                module = self._cp.RawModule(
                    code=kernel_source("cuda", algo), options=(f"-DLOOKUP_GAP={self.lookup_gap}",)
                )
                kernel = self._kernels[algo] = module.get_function(f"{algo}_scan")
            except Exception as exc:
                raise GPUError(f"{self.info.backend_name}: the {algo} kernel did not build: {exc}") from None
        return kernel

    def local_size(self, algo: str) -> int:
        return _BLOCK[algo]

    def _upload(self, job: Job) -> Any:
        with self._device:
            return self._cp.asarray(job.records), self._cp.asarray(job.params)

    def _launch(
        self, algo: str, uploaded: Any, nversions: int, base: int, count: int, capacity: int
    ) -> tuple[int, U32Array]:
        cp = self._cp
        block = self.local_size(algo)
        blocks = -(-count // block)
        records, params = uploaded
        try:
            with self._device:
                kernel = self._kernel(algo)
                if self._out is None or self._out.size < 1 + 2 * capacity:
                    self._out = cp.zeros(1 + 2 * capacity, dtype=cp.uint32)
                else:
                    self._out[0] = 0
                args = [records, np.uint32(nversions), params, np.uint32(base), np.uint32(count), self._out,
                        np.uint32(capacity)]
                if algo == "scrypt":
                    items = blocks * block
                    if items > self._v_items:
                        self._v = None
                        self._v = cp.empty(items * scrypt_item_bytes(self.lookup_gap) // 4, dtype=cp.uint32)
                        self._v_items = items
                    args.append(self._v)
                kernel((blocks,), (block,), tuple(args))
                total = int(self._out[0].get())
                body = self._out[1 : 1 + 2 * min(total, capacity)].get() if total else np.zeros(0, np.uint32)
        except GPUError:
            raise
        except Exception as exc:
            raise GPUError(f"{self.info.backend_name}: {algo} launch failed: {exc}") from None
        return total, np.asarray(body, dtype=np.uint32)
