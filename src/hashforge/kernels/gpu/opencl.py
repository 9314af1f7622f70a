"""The OpenCL runtime (pyopencl): device enumeration and the engine that runs the .cl kernels.

Any vendor's OpenCL works (NVIDIA, AMD, Intel); CI uses PoCL's CPU device from PyPI
(`pocl-binary-distribution`). Devices are numbered across all platforms in platform order,
then device order: `opencl:0`, `opencl:1`, ...
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from hashforge.kernels import BackendUnavailableError

from ._engine import DeviceInfo, GPUEngine, GPUError, kernel_source, scrypt_item_bytes
from ._host import Job, U32Array

# Imported by name so the module types the same with or without pyopencl installed.
cl: Any
IMPORT_ERROR: str | None
try:
    cl, IMPORT_ERROR = importlib.import_module("pyopencl"), None
except ImportError as exc:  # pragma: no cover - pyopencl is a dev dependency
    cl, IMPORT_ERROR = None, f"{type(exc).__name__}: {exc}"

_LOCAL = {"sha256d": 256, "scrypt": 64}  # GPUs
_LOCAL_CPU = 16  # CPU devices (PoCL): small groups measured fastest
_TYPES = (("GPU", 1 << 2), ("CPU", 1 << 1), ("ACCELERATOR", 1 << 3))


def _device_type(bits: int) -> str:
    return next((name for name, bit in _TYPES if bits & bit), "OTHER")


def _pci_bus_id(device: Any) -> str | None:
    """NVIDIA's OpenCL tells the PCI location (cl_nv_device_attribute_query); others don't here."""
    if "cl_nv_device_attribute_query" not in device.extensions:
        return None
    try:
        bus, slot = int(device.pci_bus_id_nv), int(device.pci_slot_id_nv)
    except Exception:  # attribute missing in this pyopencl, or the driver refuses
        return None
    return f"0000:{bus:02x}:{slot:02x}.0"


def _cl_devices() -> list[tuple[Any, Any]]:
    if cl is None:
        raise BackendUnavailableError(
            f"the opencl backend needs pyopencl ({IMPORT_ERROR}); pip install pyopencl "
            "(and pocl-binary-distribution for a CPU device)"
        )
    try:
        platforms = cl.get_platforms()
    except Exception as exc:  # no ICD loader, or no platform (PLATFORM_NOT_FOUND_KHR)
        raise BackendUnavailableError(f"no OpenCL platform: {exc}") from None
    out: list[tuple[Any, Any]] = []
    for platform in platforms:
        try:
            out.extend((platform, d) for d in platform.get_devices())
        except Exception:  # a platform with no devices raises DEVICE_NOT_FOUND
            continue
    return out


def list_devices() -> list[DeviceInfo]:
    """Every OpenCL device, numbered as `opencl:N` selects them (empty without pyopencl)."""
    try:
        pairs = _cl_devices()
    except BackendUnavailableError:
        return []
    return [_info(i, p, d) for i, (p, d) in enumerate(pairs)]


def _info(index: int, platform: Any, device: Any) -> DeviceInfo:
    return DeviceInfo(
        kind="opencl",
        index=index,
        name=device.name.strip(),
        platform=platform.name.strip(),
        vendor=device.vendor.strip(),
        device_type=_device_type(int(device.type)),
        compute_units=int(device.max_compute_units),
        global_memory=int(device.global_mem_size),
        max_allocation=int(device.max_mem_alloc_size),
        pci_bus_id=_pci_bus_id(device),
    )


def open_engine(index: int | None, lookup_gap: int = 1) -> OpenCLEngine:
    """The engine for `opencl:index`; None picks the first GPU (else device 0, e.g. PoCL's CPU)."""
    pairs = _cl_devices()
    if not pairs:
        raise BackendUnavailableError("OpenCL is installed but reports no device")
    infos = [_info(i, p, d) for i, (p, d) in enumerate(pairs)]
    if index is None:
        index = next((i.index for i in infos if i.is_gpu), 0)
    if not 0 <= index < len(pairs):
        listing = "; ".join(i.describe() for i in infos)
        raise BackendUnavailableError(f"no OpenCL device {index} (this machine has {len(pairs)}: {listing})")
    return OpenCLEngine(infos[index], pairs[index][1], lookup_gap)


class OpenCLEngine(GPUEngine):
    kind = "opencl"

    def __init__(self, info: DeviceInfo, device: Any, lookup_gap: int = 1) -> None:
        super().__init__(info, lookup_gap)
        assert cl is not None
        self._device = device
        try:
            self._ctx = cl.Context([device])
            self._queue = cl.CommandQueue(self._ctx)
        except Exception as exc:
            raise GPUError(f"{info.backend_name}: cannot open {info.name}: {exc}") from None
        self._kernels: dict[str, Any] = {}
        self._out: Any = None
        self._out_words = 0
        self._v: Any = None
        self._v_items = 0

    def _kernel(self, algo: str) -> Any:
        kernel = self._kernels.get(algo)
        if kernel is None:
            assert cl is not None
            program = cl.Program(self._ctx, kernel_source("opencl", algo))
            try:
                program.build(options=[f"-DLOOKUP_GAP={self.lookup_gap}"])
            except Exception as exc:
                raise GPUError(f"{self.info.backend_name}: the {algo} kernel did not build: {exc}") from None
            kernel = self._kernels[algo] = cl.Kernel(program, f"{algo}_scan")
        return kernel

    def local_size(self, algo: str) -> int:
        allowed = int(self._device.max_work_group_size)
        wanted = _LOCAL[algo] if self.info.is_gpu else _LOCAL_CPU
        return max(1, min(wanted, allowed))

    def _upload(self, job: Job) -> Any:
        assert cl is not None
        flags = cl.mem_flags.READ_ONLY | cl.mem_flags.COPY_HOST_PTR
        return (cl.Buffer(self._ctx, flags, hostbuf=job.records), cl.Buffer(self._ctx, flags, hostbuf=job.params))

    def _buffers(self, capacity: int, items: int, algo: str) -> None:
        assert cl is not None
        words = 1 + 2 * capacity
        if words > self._out_words:
            self._out = cl.Buffer(self._ctx, cl.mem_flags.READ_WRITE, 4 * words)
            self._out_words = words
        if algo == "scrypt" and items > self._v_items:
            self._v = None  # free the old V array before allocating the larger one
            self._v = cl.Buffer(self._ctx, cl.mem_flags.READ_WRITE, items * scrypt_item_bytes(self.lookup_gap))
            self._v_items = items

    def _launch(
        self, algo: str, uploaded: Any, nversions: int, base: int, count: int, capacity: int
    ) -> tuple[int, U32Array]:
        assert cl is not None
        kernel = self._kernel(algo)
        local = self.local_size(algo)
        items = -(-count // local) * local
        records, params = uploaded
        try:
            self._buffers(capacity, items, algo)
            cl.enqueue_copy(self._queue, self._out, np.zeros(1, dtype=np.uint32))
            args = [records, np.uint32(nversions), params, np.uint32(base), np.uint32(count), self._out,
                    np.uint32(capacity)]
            if algo == "scrypt":
                args.append(self._v)
            kernel.set_args(*args)
            cl.enqueue_nd_range_kernel(self._queue, kernel, (items,), (local,))
            head = np.zeros(1, dtype=np.uint32)
            cl.enqueue_copy(self._queue, head, self._out)
            total = int(head[0])
            body = np.zeros(1 + 2 * min(total, capacity), dtype=np.uint32)
            if total:
                cl.enqueue_copy(self._queue, body, self._out)
        except GPUError:
            raise
        except Exception as exc:
            raise GPUError(f"{self.info.backend_name}: {algo} launch failed: {exc}") from None
        return total, body[1:]
