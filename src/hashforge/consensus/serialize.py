"""Bitcoin wire serialization primitives: CompactSize, length-prefixed strings and vectors."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import BinaryIO, TypeVar

T = TypeVar("T")

MAX_SIZE = 0x02000000  # Core's MAX_SIZE: no serialized length may exceed 32 MiB


class DeserializationError(ValueError):
    """Bytes that do not decode as the expected structure."""


def read_exact(f: BinaryIO, n: int) -> bytes:
    b = f.read(n)
    if len(b) != n:
        raise DeserializationError(f"unexpected end of data: wanted {n} bytes, got {len(b)}")
    return b


def ser_compact_size(n: int) -> bytes:
    if n < 0:
        raise ValueError("CompactSize cannot encode a negative number")
    if n < 253:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFFFFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def deser_compact_size(f: BinaryIO, range_check: bool = True) -> int:
    """Reads a CompactSize; rejects non-canonical encodings and (by default) values over MAX_SIZE."""
    first = read_exact(f, 1)[0]
    if first < 253:
        n = first
    elif first == 253:
        n = int.from_bytes(read_exact(f, 2), "little")
        if n < 253:
            raise DeserializationError("non-canonical CompactSize")
    elif first == 254:
        n = int.from_bytes(read_exact(f, 4), "little")
        if n < 0x10000:
            raise DeserializationError("non-canonical CompactSize")
    else:
        n = int.from_bytes(read_exact(f, 8), "little")
        if n < 0x100000000:
            raise DeserializationError("non-canonical CompactSize")
    if range_check and n > MAX_SIZE:
        raise DeserializationError("CompactSize exceeds MAX_SIZE")
    return n


def read_compact_size(data: bytes, pos: int, range_check: bool = True) -> tuple[int, int]:
    """`deser_compact_size` on a buffer: (value, position after it), with the same rules."""
    if pos >= len(data):
        raise DeserializationError("unexpected end of data: wanted 1 bytes, got 0")
    first = data[pos]
    if first < 253:
        return first, pos + 1
    width = 2 if first == 253 else 4 if first == 254 else 8
    end = pos + 1 + width
    if end > len(data):
        raise DeserializationError(f"unexpected end of data: wanted {width} bytes, got {len(data) - pos - 1}")
    n = int.from_bytes(data[pos + 1 : end], "little")
    if n < (253, 0x10000, 0x100000000)[width.bit_length() - 2]:
        raise DeserializationError("non-canonical CompactSize")
    if range_check and n > MAX_SIZE:
        raise DeserializationError("CompactSize exceeds MAX_SIZE")
    return n, end


def ser_string(b: bytes) -> bytes:
    return ser_compact_size(len(b)) + b


def deser_string(f: BinaryIO) -> bytes:
    return read_exact(f, deser_compact_size(f))


def ser_vector(items: Iterable[T], ser: Callable[[T], bytes]) -> bytes:
    items = list(items)
    return ser_compact_size(len(items)) + b"".join(ser(i) for i in items)


def deser_vector(f: BinaryIO, deser: Callable[[BinaryIO], T]) -> list[T]:
    return [deser(f) for _ in range(deser_compact_size(f))]


def ser_string_vector(items: Iterable[bytes]) -> bytes:
    return ser_vector(items, ser_string)


def deser_string_vector(f: BinaryIO) -> list[bytes]:
    return deser_vector(f, deser_string)


def ser_u32(n: int) -> bytes:
    return n.to_bytes(4, "little")


def deser_u32(f: BinaryIO) -> int:
    return int.from_bytes(read_exact(f, 4), "little")


def ser_i32(n: int) -> bytes:
    return n.to_bytes(4, "little", signed=True)


def deser_i32(f: BinaryIO) -> int:
    return int.from_bytes(read_exact(f, 4), "little", signed=True)


def ser_i64(n: int) -> bytes:
    return n.to_bytes(8, "little", signed=True)


def deser_i64(f: BinaryIO) -> int:
    return int.from_bytes(read_exact(f, 8), "little", signed=True)


def parse_exact(data: bytes, deser: Callable[[BinaryIO], T]) -> T:
    """Decodes `data` completely; trailing bytes are an error."""
    f = io.BytesIO(data)
    obj = deser(f)
    if f.tell() != len(data):
        raise DeserializationError(f"{len(data) - f.tell()} trailing bytes after data")
    return obj
