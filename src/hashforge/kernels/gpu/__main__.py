"""`python -m hashforge.kernels.gpu`: list the OpenCL and CUDA devices hashforge can mine on."""

from __future__ import annotations

from hashforge.kernels.gpu import list_devices
from hashforge.kernels.gpu.cuda import IMPORT_ERROR as CUDA_ERROR
from hashforge.kernels.gpu.opencl import IMPORT_ERROR as OPENCL_ERROR


def main() -> None:
    devices = list_devices()
    for device in devices:
        print(device.describe())
    if not devices:
        print("no OpenCL or CUDA device found")
    for runtime, error in (("opencl", OPENCL_ERROR), ("cuda", CUDA_ERROR)):
        if error:
            print(f"{runtime}: unavailable ({error})")


if __name__ == "__main__":
    main()
