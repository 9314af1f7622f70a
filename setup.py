"""Builds the native kernels (hashforge.kernels._native); everything else is in pyproject.toml.

The SIMD code is compiled with per-function target attributes and chosen at run time,
so the same binary runs on any x86-64 (never -march=native). Set HASHFORGE_NO_EXT=1 to
skip the extension; hashforge then runs its pure-Python kernels and says so loudly.
"""

import os
from glob import glob

from setuptools import Extension, setup

NATIVE = "src/hashforge/kernels/native"

ext_modules = []
if os.environ.get("HASHFORGE_NO_EXT") != "1":
    ext_modules.append(
        Extension(
            "hashforge.kernels._native",
            sources=sorted(glob(f"{NATIVE}/*.c")),
            depends=sorted(glob(f"{NATIVE}/*.h")),
            include_dirs=[NATIVE],
            extra_compile_args=["-O3", "-std=gnu11", "-Wall", "-Wextra", "-fno-strict-aliasing"],
        )
    )

setup(ext_modules=ext_modules)
