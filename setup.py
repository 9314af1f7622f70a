"""Builds the native kernels (hashforge.kernels._native) and the signature queue
(hashforge.consensus._sigqueue); everything else is in pyproject.toml.

The SIMD code is compiled with per-function target attributes and chosen at run time,
so the same binary runs on any x86-64 (never -march=native). Set HASHFORGE_NO_EXT=1 to
skip the extensions; hashforge then runs its pure-Python kernels and says so loudly, and
verifies block signatures inline on the chain thread.
"""

import os
from glob import glob

from setuptools import Extension, setup

NATIVE = "src/hashforge/kernels/native"
SIGQUEUE = "src/hashforge/consensus/native"
CFLAGS = ["-O3", "-std=gnu11", "-Wall", "-Wextra", "-fno-strict-aliasing"]

ext_modules = []
if os.environ.get("HASHFORGE_NO_EXT") != "1":
    ext_modules.append(
        Extension(
            "hashforge.kernels._native",
            sources=sorted(glob(f"{NATIVE}/*.c")),
            depends=sorted(glob(f"{NATIVE}/*.h")),
            include_dirs=[NATIVE],
            extra_compile_args=CFLAGS,
        )
    )
    # libsecp256k1 is coincurve's, reached through function pointers at run time: nothing to link.
    ext_modules.append(
        Extension(
            "hashforge.consensus._sigqueue",
            sources=[f"{SIGQUEUE}/sigqueue.c"],
            extra_compile_args=[*CFLAGS, "-pthread"],
            extra_link_args=["-pthread"],
        )
    )

setup(ext_modules=ext_modules)
