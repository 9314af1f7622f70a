"""Nonce scanners for SHA-256d (Bitcoin) and scrypt(1024, 1, 1) (Litecoin), native and Python.

One call hashes a block header for every nonce in a range and returns every nonce whose
hash meets the target::

    from hashforge.kernels import scan_sha256d
    result = scan_sha256d(header, target, start=0, end=1 << 24)
    result.nonces   # every nonce in [start, end) with hash <= target, ascending
    result.hashes   # hashes done: end - start

- ``header`` is the 80-byte header (its nonce field is ignored) or its 76-byte prefix.
- ``target`` is an int in [0, 2**256); the hash, read as a 256-bit **little-endian**
  integer (Bitcoin's convention), qualifies when it is ``<= target``.
- ``[start, end)`` is a nonce range, ``0 <= start <= end <= 2**32``. A call always scans
  the whole range (miners bound latency by the size of the range they pass).
- The native kernels release the GIL for the whole call, so threads scanning disjoint
  ranges run in parallel.

Version rolling (BIP310 "overt AsicBoost")::

    versions = rolled_versions(0x20000000, mask=0x1FFFE000, count=256)
    result = scan_sha256d_versions(header, versions, target, start, end)
    result.found    # (version, nonce) pairs, nonce-major, then in `versions` order

Headers that differ only in version share the whole second 64-byte block, so the SIMD
kernels put one version in each lane and compute the block's message schedule once per
nonce. Pass many versions (a multiple of the backend's ``lanes``; 64-256 is a good size).
``scan_scrypt`` and ``scan_scrypt_versions`` take the same arguments (scrypt gains nothing
from version rolling, but miners get one interface).

Backends, by name: ``python`` (hashlib; the test oracle), ``scalar`` (portable C), ``sse2``
(4 lanes), ``avx2`` (8 lanes), ``avx512`` (16 lanes), ``shani`` (SHA extensions; SHA-256d
only), and ``auto`` (the fastest this CPU runs). Every backend returns exactly the same
result. ``available_backends(algo)`` lists those this machine can run, fastest first;
``cpu_features()`` says what the CPU has. If the C extension is not built, hashforge still
works on the ``python`` backend and warns loudly (``NATIVE_ERROR`` says why).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from hashforge.kernels import _reference

__all__ = [
    "ALGORITHMS",
    "BACKEND_NAMES",
    "NATIVE_ERROR",
    "NONCE_LIMIT",
    "Backend",
    "BackendUnavailableError",
    "Found",
    "KernelError",
    "ScanResult",
    "UnknownBackendError",
    "available_backends",
    "cpu_features",
    "get_backend",
    "native_available",
    "rolled_versions",
    "scan_scrypt",
    "scan_scrypt_versions",
    "scan_sha256d",
    "scan_sha256d_versions",
]

log = logging.getLogger(__name__)

ALGORITHMS = ("sha256d", "scrypt")
BACKEND_NAMES = ("python", "scalar", "sse2", "avx2", "avx512", "shani")
NONCE_LIMIT = 1 << 32
TARGET_LIMIT = 1 << 256

# Fastest first. SHA-NI beats AVX2 on the CPUs we measured but not 16-lane AVX-512.
_PREFERENCE = ("avx512", "shani", "avx2", "sse2", "scalar", "python")
# What each native backend needs, for skip messages and errors.
_NEEDS = {"sse2": "sse2", "avx2": "avx2", "avx512": "avx512f", "shani": "sha_ni"}

NATIVE_ERROR: str | None
try:
    import hashforge.kernels._native as _native

    NATIVE_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only without a compiler
    _native = None  # type: ignore[assignment]
    NATIVE_ERROR = f"{type(exc).__name__}: {exc}"
    warnings.warn(
        "hashforge.kernels: the native extension is not built "
        f"({NATIVE_ERROR}); hashing runs on the pure-Python backend, about 100x slower. "
        "Rebuild with `pip install -e .`.",
        RuntimeWarning,
        stacklevel=2,
    )


class KernelError(Exception):
    """Base class for errors from hashforge.kernels."""


class UnknownBackendError(KernelError, ValueError):
    """No backend of that name exists (or it does not implement the algorithm)."""


class BackendUnavailableError(KernelError, RuntimeError):
    """The backend exists but this CPU or build cannot run it."""


class Found(NamedTuple):
    """A qualifying header: its version word and nonce."""

    version: int
    nonce: int


@dataclass(frozen=True, slots=True)
class ScanResult:
    found: tuple[Found, ...]  # nonce-major, then in the order versions were given
    hashes: int  # headers hashed: (end - start) * len(versions)

    @property
    def nonces(self) -> tuple[int, ...]:
        return tuple(f.nonce for f in self.found)


def native_available() -> bool:
    return _native is not None


def cpu_features() -> frozenset[str]:
    """CPU features the kernels use (sse2, avx2, avx512f, sha_ni, ...); empty without the extension."""
    return frozenset(_native.cpu_features()) if _native is not None else frozenset()


def _native_lanes(algo: str) -> dict[str, int]:
    if _native is None:
        return {}
    return {name: lanes for a, name, lanes in _native.backends() if a == algo}


def check_algo(algo: str) -> None:
    if algo not in ALGORITHMS:
        raise UnknownBackendError(f"unknown algorithm {algo!r} (choose from {', '.join(ALGORITHMS)})")


def available_backends(algo: str = "sha256d") -> tuple[str, ...]:
    """Backends this machine can run for `algo`, fastest first (always ends with 'python')."""
    check_algo(algo)
    lanes = _native_lanes(algo)
    return tuple(n for n in _PREFERENCE if n == "python" or n in lanes)


@dataclass(frozen=True, slots=True)
class Backend:
    """A scanner for one algorithm; get one with get_backend()."""

    algo: str
    name: str
    lanes: int  # hashes per kernel step; version-rolled scans want a multiple of this

    @property
    def native(self) -> bool:
        return self.name != "python"

    def scan(self, header: bytes, target: int, start: int = 0, end: int = NONCE_LIMIT) -> ScanResult:
        """Every nonce in [start, end) whose hash <= target, with the header's own version."""
        header = header80(header)
        version = int.from_bytes(header[:4], "little")
        return self.scan_versions(header, [version], target, start, end)

    def scan_versions(
        self,
        header: bytes,
        versions: Sequence[int],
        target: int,
        start: int = 0,
        end: int = NONCE_LIMIT,
    ) -> ScanResult:
        """Every (version, nonce) in versions x [start, end) whose hash <= target."""
        header = header80(header)
        versions = list(versions)
        check_scan_args(versions, target, start, end)
        if self.name == "python":
            pairs = _reference.scan(self.algo, header, versions, target, start, end)
            hashes = (end - start) * len(versions)
        else:
            pairs, hashes = _native.scan(
                self.algo, self.name, header, versions, target.to_bytes(32, "little"), start, end
            )
        return ScanResult(tuple(Found(v, n) for v, n in pairs), hashes)


def get_backend(algo: str = "sha256d", name: str = "auto") -> Backend:
    """The backend `name` for `algo`; 'auto' is the fastest available one.

    Raises UnknownBackendError for a name that does not exist for `algo`, and
    BackendUnavailableError for one this CPU (or a build without the extension) lacks.
    """
    check_algo(algo)
    if name.partition(":")[0] in ("opencl", "cuda"):  # GPU backends: hashforge.kernels.gpu
        from hashforge.kernels.gpu import get_gpu_backend

        return get_gpu_backend(algo, name)
    lanes = _native_lanes(algo)
    if name == "auto":
        name = available_backends(algo)[0]
        if name == "python":
            log.warning("hashforge.kernels: no native %s kernel (%s); using pure Python", algo, NATIVE_ERROR)
        return Backend(algo, name, lanes.get(name, 1))
    if name not in BACKEND_NAMES or (algo == "scrypt" and name == "shani"):
        valid = ", ".join(["auto", *(n for n in BACKEND_NAMES if not (algo == "scrypt" and n == "shani"))])
        raise UnknownBackendError(f"unknown {algo} backend {name!r} (choose from {valid})")
    if name == "python":
        return Backend(algo, name, 1)
    if name not in lanes:
        if _native is None:
            raise BackendUnavailableError(f"backend {name!r} needs the native extension, which is not built ({NATIVE_ERROR})")
        raise BackendUnavailableError(f"backend {name!r} needs the CPU feature {_NEEDS.get(name, name)}, which this CPU lacks")
    return Backend(algo, name, lanes[name])


def rolled_versions(version: int, mask: int, count: int, first: int = 0) -> list[int]:
    """BIP310 version rolling: `count` versions that keep `version` outside `mask`.

    Version k (k = first, first + 1, ...) puts the bits of k into the mask's bit positions,
    lowest first, so consecutive calls with `first` advanced never repeat a version.
    """
    if not 0 <= version < NONCE_LIMIT or not 0 <= mask < NONCE_LIMIT:
        raise ValueError("version and mask are 32-bit values")
    positions = [b for b in range(32) if mask >> b & 1]
    if count < 0 or first < 0 or first + count > (1 << len(positions)):
        raise ValueError(f"mask {mask:#010x} allows only {1 << len(positions)} versions")
    base = version & ~mask
    out = []
    for k in range(first, first + count):
        rolled = base
        for i, bit in enumerate(positions):
            if k >> i & 1:
                rolled |= 1 << bit
        out.append(rolled)
    return out


def header80(header: bytes) -> bytes:
    header = bytes(header)
    if len(header) == 76:
        return header + b"\x00\x00\x00\x00"
    if len(header) != 80:
        raise ValueError(f"header must be 80 bytes (or the 76-byte prefix), not {len(header)}")
    return header


def check_scan_args(versions: list[int], target: int, start: int, end: int) -> None:
    if not versions:
        raise ValueError("versions must not be empty")
    if any(not 0 <= v < NONCE_LIMIT for v in versions):
        raise ValueError("versions are 32-bit unsigned values")
    if not 0 <= target < TARGET_LIMIT:
        raise ValueError("target must be in [0, 2**256)")
    if not 0 <= start <= end <= NONCE_LIMIT:
        raise ValueError(f"need 0 <= start <= end <= 2**32, got [{start}, {end})")


def scan_sha256d(
    header: bytes, target: int, start: int = 0, end: int = NONCE_LIMIT, *, backend: str = "auto"
) -> ScanResult:
    return get_backend("sha256d", backend).scan(header, target, start, end)


def scan_sha256d_versions(
    header: bytes,
    versions: Sequence[int],
    target: int,
    start: int = 0,
    end: int = NONCE_LIMIT,
    *,
    backend: str = "auto",
) -> ScanResult:
    return get_backend("sha256d", backend).scan_versions(header, versions, target, start, end)


def scan_scrypt(
    header: bytes, target: int, start: int = 0, end: int = NONCE_LIMIT, *, backend: str = "auto"
) -> ScanResult:
    return get_backend("scrypt", backend).scan(header, target, start, end)


def scan_scrypt_versions(
    header: bytes,
    versions: Sequence[int],
    target: int,
    start: int = 0,
    end: int = NONCE_LIMIT,
    *,
    backend: str = "auto",
) -> ScanResult:
    return get_backend("scrypt", backend).scan_versions(header, versions, target, start, end)
