"""SipHash-2-4 (Aumasson & Bernstein), as BIP152 uses it for compact block short transaction ids."""

from __future__ import annotations

MASK64 = 0xFFFFFFFFFFFFFFFF


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & MASK64


def siphash24(k0: int, k1: int, data: bytes) -> int:
    """SipHash-2-4 of `data` under the 128-bit key (k0, k1) given as two little-endian 64-bit words."""
    v0 = k0 ^ 0x736F6D6570736575
    v1 = k1 ^ 0x646F72616E646F6D
    v2 = k0 ^ 0x6C7967656E657261
    v3 = k1 ^ 0x7465646279746573
    n = len(data)
    end = n - n % 8
    words = [int.from_bytes(data[i : i + 8], "little") for i in range(0, end, 8)]
    words.append(((n & 0xFF) << 56) | int.from_bytes(data[end:], "little"))
    for m in words:
        v3 ^= m
        for _ in range(2):
            v0 = (v0 + v1) & MASK64
            v1 = _rotl(v1, 13) ^ v0
            v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & MASK64
            v3 = _rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & MASK64
            v3 = _rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & MASK64
            v1 = _rotl(v1, 17) ^ v2
            v2 = _rotl(v2, 32)
        v0 ^= m
    v2 ^= 0xFF
    for _ in range(4):
        v0 = (v0 + v1) & MASK64
        v1 = _rotl(v1, 13) ^ v0
        v0 = _rotl(v0, 32)
        v2 = (v2 + v3) & MASK64
        v3 = _rotl(v3, 16) ^ v2
        v0 = (v0 + v3) & MASK64
        v3 = _rotl(v3, 21) ^ v0
        v2 = (v2 + v1) & MASK64
        v1 = _rotl(v1, 17) ^ v2
        v2 = _rotl(v2, 32)
    return v0 ^ v1 ^ v2 ^ v3


def siphash24_key(key: bytes) -> tuple[int, int]:
    """A 16-byte key as the (k0, k1) pair `siphash24` takes."""
    if len(key) != 16:
        raise ValueError("SipHash key must be 16 bytes")
    return int.from_bytes(key[:8], "little"), int.from_bytes(key[8:], "little")
