"""Mining devices: the plug-in interface (base) and the CPU driver; GPU drivers register alike."""

from .base import (
    DRIVERS,
    Device,
    DeviceOptions,
    ResultSink,
    ThreadedDevice,
    build_devices,
    register_driver,
)
from .cpu import CPUDevice, default_threads
from .gpu import CUDADevice, GPUDevice, OpenCLDevice  # registers the opencl and cuda drivers

__all__ = [
    "DRIVERS",
    "CPUDevice",
    "CUDADevice",
    "Device",
    "DeviceOptions",
    "GPUDevice",
    "OpenCLDevice",
    "ResultSink",
    "ThreadedDevice",
    "build_devices",
    "default_threads",
    "register_driver",
]
