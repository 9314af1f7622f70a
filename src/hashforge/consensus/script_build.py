"""Minimal script building blocks (pushes of data and numbers) needed outside the interpreter."""

from __future__ import annotations

OP_0 = 0x00
OP_PUSHDATA1 = 0x4C
OP_PUSHDATA2 = 0x4D
OP_PUSHDATA4 = 0x4E
OP_1NEGATE = 0x4F
OP_1 = 0x51


def push_data(data: bytes) -> bytes:
    """The shortest push of `data` (Core's CScript << vector)."""
    n = len(data)
    if n < OP_PUSHDATA1:
        return bytes([n]) + data
    if n <= 0xFF:
        return bytes([OP_PUSHDATA1, n]) + data
    if n <= 0xFFFF:
        return bytes([OP_PUSHDATA2]) + n.to_bytes(2, "little") + data
    return bytes([OP_PUSHDATA4]) + n.to_bytes(4, "little") + data


def script_num_encode(n: int) -> bytes:
    """CScriptNum serialization: little-endian magnitude with a sign bit."""
    if n == 0:
        return b""
    neg = n < 0
    absn = -n if neg else n
    out = bytearray()
    while absn:
        out.append(absn & 0xFF)
        absn >>= 8
    if out[-1] & 0x80:
        out.append(0x80 if neg else 0x00)
    elif neg:
        out[-1] |= 0x80
    return bytes(out)


def push_int(n: int) -> bytes:
    """Push a number as Core's CScript << int64 does (OP_0, OP_1NEGATE, OP_1..OP_16, else data)."""
    if n == 0:
        return bytes([OP_0])
    if n == -1 or 1 <= n <= 16:
        return bytes([n + (OP_1 - 1)])
    return push_data(script_num_encode(n))
