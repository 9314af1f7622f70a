"""Host-side work for the GPU kernels: SHA-256 midstates and first rounds, job buffers, checks.

The kernels get per-version records (see sha256d_scan.cl / scrypt_scan.cl for the layouts)
and a small `params` block; this module builds both with a plain-Python SHA-256 compression
(hashlib hides its midstate) and re-checks every reported hit with hashlib.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hashforge.consensus.hashes import scrypt_pow

REC_WORDS = 20  # sha256d_scan.cl
SREC_WORDS = 12  # scrypt_scan.cl
PARAM_WORDS = 32

MASK = 0xFFFFFFFF
K256 = (
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
)  # fmt: skip
IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)

State = tuple[int, int, int, int, int, int, int, int]


def _rotr(x: int, n: int) -> int:
    return (x >> n | x << (32 - n)) & MASK


def _big_sigma0(a: int) -> int:
    return _rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)


def _big_sigma1(e: int) -> int:
    return _rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)


def _ch(e: int, f: int, g: int) -> int:
    return (e & f) ^ (~e & g & MASK)


def _maj(a: int, b: int, c: int) -> int:
    return (a & b) ^ (a & c) ^ (b & c)


def rounds(state: Sequence[int], words: Sequence[int]) -> State:
    """The working variables a..h after len(words) rounds (<= 16) from `state` (no feed-forward)."""
    a, b, c, d, e, f, g, h = state
    for i, w in enumerate(words):
        t1 = (h + _big_sigma1(e) + _ch(e, f, g) + K256[i] + w) & MASK
        t2 = (_big_sigma0(a) + _maj(a, b, c)) & MASK
        a, b, c, d, e, f, g, h = (t1 + t2) & MASK, a, b, c, (d + t1) & MASK, e, f, g
    return a, b, c, d, e, f, g, h


def compress(state: Sequence[int], block: bytes) -> State:
    """SHA-256's compression function: `state` after one 64-byte block."""
    w = list(struct.unpack(">16I", block))
    for i in range(16, 64):
        s0 = _rotr(w[i - 15], 7) ^ _rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
        s1 = _rotr(w[i - 2], 17) ^ _rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
        w.append((w[i - 16] + s0 + w[i - 7] + s1) & MASK)
    a, b, c, d, e, f, g, h = state
    for i in range(64):
        t1 = (h + _big_sigma1(e) + _ch(e, f, g) + K256[i] + w[i]) & MASK
        t2 = (_big_sigma0(a) + _maj(a, b, c)) & MASK
        a, b, c, d, e, f, g, h = (t1 + t2) & MASK, a, b, c, (d + t1) & MASK, e, f, g
    out = (a, b, c, d, e, f, g, h)
    return tuple((s + o) & MASK for s, o in zip(state, out, strict=True))  # type: ignore[return-value]


def target_words(target: int) -> list[int]:
    """The 256-bit target as eight little-endian 32-bit words (word 7 most significant)."""
    return [(target >> (32 * k)) & MASK for k in range(8)]


U32Array = npt.NDArray[np.uint32]


@dataclass(frozen=True, slots=True)
class Job:
    """What one scan uploads: per-version records and the shared params block."""

    algo: str
    records: U32Array
    params: U32Array
    nversions: int


def _version_block(header: bytes, version: int) -> bytes:
    return version.to_bytes(4, "little") + header[4:64]


def sha256d_job(header: bytes, versions: Sequence[int], target: int) -> Job:
    w0, w1, w2 = struct.unpack(">3I", header[64:76])
    records = np.zeros((len(versions), REC_WORDS), dtype=np.uint32)
    for row, version in enumerate(versions):
        mid = compress(IV, _version_block(header, version))
        a, b, c, d, e, f, g, h = rounds(mid, (w0, w1, w2))
        t1_partial = (h + _big_sigma1(e) + _ch(e, f, g) + K256[3]) & MASK
        t2 = (_big_sigma0(a) + _maj(a, b, c)) & MASK
        records[row, :18] = (*mid, a, b, c, d, e, f, g, h, t1_partial, t2)
    params = np.zeros(PARAM_WORDS, dtype=np.uint32)
    params[0:3] = (w0, w1, w2)
    params[8:16] = target_words(target)
    return Job("sha256d", records.reshape(-1), params, len(versions))


def scrypt_job(header: bytes, versions: Sequence[int], target: int) -> Job:
    records = np.zeros((len(versions), SREC_WORDS), dtype=np.uint32)
    for row, version in enumerate(versions):
        block = _version_block(header, version)
        records[row, :8] = compress(IV, block)
        records[row, 8] = struct.unpack(">I", block[:4])[0]
    params = np.zeros(PARAM_WORDS, dtype=np.uint32)
    params[1:19] = struct.unpack(">18I", header[4:76])
    params[24:32] = target_words(target)
    return Job("scrypt", records.reshape(-1), params, len(versions))


def build_job(algo: str, header: bytes, versions: Sequence[int], target: int) -> Job:
    return (sha256d_job if algo == "sha256d" else scrypt_job)(header, versions, target)


def pow_hash(algo: str, header: bytes, version: int, nonce: int) -> bytes:
    """The proof-of-work hash of `header` with `version` and `nonce` put in, by hashlib."""
    full = version.to_bytes(4, "little") + header[4:76] + nonce.to_bytes(4, "little")
    if algo == "sha256d":
        return hashlib.sha256(hashlib.sha256(full).digest()).digest()
    return scrypt_pow(full)


def qualifies(algo: str, header: bytes, version: int, nonce: int, target: int) -> bool:
    return int.from_bytes(pow_hash(algo, header, version, nonce), "little") <= target
