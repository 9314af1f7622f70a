"""The pure-Python kernels: hashlib, one hash at a time, in the order the native ones report.

This is the oracle the native backends are tested against, and the fallback when the
extension is not built. It shares no code with the C kernels beyond hashlib's primitives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from hashforge.consensus.hashes import scrypt_pow


def scan(
    algo: str, header: bytes, versions: Sequence[int], target: int, start: int, end: int
) -> list[tuple[int, int]]:
    """(version, nonce) pairs whose hash <= target, nonce-major then in `versions` order."""
    found: list[tuple[int, int]] = []
    middle = header[4:76]
    if algo == "sha256d":
        # hashlib's midstate: hash the first 64 bytes once per version, copy per nonce.
        firsts = [hashlib.sha256(v.to_bytes(4, "little") + header[4:64]) for v in versions]
        tail = header[64:76]
        sha256 = hashlib.sha256
        for nonce in range(start, end):
            last = tail + nonce.to_bytes(4, "little")
            for version, first in zip(versions, firsts, strict=True):
                inner = first.copy()
                inner.update(last)
                digest = sha256(inner.digest()).digest()
                if int.from_bytes(digest, "little") <= target:
                    found.append((version, nonce))
        return found
    if algo == "scrypt":
        for nonce in range(start, end):
            nonce_bytes = nonce.to_bytes(4, "little")
            for version in versions:
                digest = scrypt_pow(version.to_bytes(4, "little") + middle + nonce_bytes)
                if int.from_bytes(digest, "little") <= target:
                    found.append((version, nonce))
        return found
    raise ValueError(f"unknown algorithm {algo!r}")
