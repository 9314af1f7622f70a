"""Base58 and Base58Check, as Bitcoin Core's base58.cpp defines them.

Leading zero bytes map to leading '1' characters and back. Decoding is strict: unlike Core's
DecodeBase58 it does not skip leading or trailing whitespace, so every accepted string is exactly
the canonical encoding of its bytes (Core's encoder output).
"""

from __future__ import annotations

from .hashes import hash256

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
CHECKSUM_SIZE = 4
# log(58)/log(256) is 0.7322...; a lower bound on decoded bytes per significant character.
_BYTES_PER_CHAR_MILLI = 732


class Base58Error(ValueError):
    """A string that is not valid Base58 / Base58Check."""


class Base58CharacterError(Base58Error):
    """A character outside the Base58 alphabet (0, O, I, l, and anything non-alphanumeric)."""

    def __init__(self, char: str, position: int) -> None:
        super().__init__(f"invalid Base58 character {char!r} at position {position}")
        self.char = char
        self.position = position


class Base58LengthError(Base58Error):
    """Decoded data too short (no room for a checksum) or longer than the caller allows."""


class Base58ChecksumError(Base58Error):
    """The last 4 bytes are not the first 4 bytes of SHA-256d of the rest."""


def b58encode(data: bytes) -> str:
    """Base58 of `data`: one '1' per leading zero byte, then the big-endian number in base 58."""
    zeros = len(data) - len(data.lstrip(b"\x00"))
    n = int.from_bytes(data, "big")
    digits: list[str] = []
    while n:
        n, r = divmod(n, 58)
        digits.append(ALPHABET[r])
    return "1" * zeros + "".join(reversed(digits))


def b58decode(s: str, max_len: int | None = None) -> bytes:
    """Bytes of a Base58 string; `max_len` bounds the result (checked before the big-number work)."""
    for pos, c in enumerate(s):
        if c not in _INDEX:
            raise Base58CharacterError(c, pos)
    zeros = len(s) - len(s.lstrip("1"))
    significant = len(s) - zeros
    if (
        max_len is not None
        and significant
        and zeros + (significant - 1) * _BYTES_PER_CHAR_MILLI // 1000 > max_len
    ):
        raise Base58LengthError(f"Base58 string decodes to more than {max_len} bytes")
    n = 0
    for c in s[zeros:]:
        n = n * 58 + _INDEX[c]
    out = b"\x00" * zeros + n.to_bytes((n.bit_length() + 7) // 8, "big")
    if max_len is not None and len(out) > max_len:
        raise Base58LengthError(
            f"Base58 string decodes to {len(out)} bytes, more than {max_len}"
        )
    return out


def checksum(payload: bytes) -> bytes:
    """The Base58Check checksum: the first 4 bytes of SHA-256d."""
    return hash256(payload)[:CHECKSUM_SIZE]


def b58check_encode(payload: bytes) -> str:
    return b58encode(payload + checksum(payload))


def b58check_decode(s: str, max_payload_len: int | None = None) -> bytes:
    """The payload of a Base58Check string (checksum verified and removed)."""
    try:
        raw = b58decode(s, None if max_payload_len is None else max_payload_len + CHECKSUM_SIZE)
    except Base58LengthError:
        raise Base58LengthError(
            f"Base58Check payload is more than {max_payload_len} bytes"
        ) from None
    if len(raw) < CHECKSUM_SIZE:
        raise Base58LengthError(
            f"Base58Check data is {len(raw)} bytes, too short for a {CHECKSUM_SIZE}-byte checksum"
        )
    payload, check = raw[:-CHECKSUM_SIZE], raw[-CHECKSUM_SIZE:]
    if checksum(payload) != check:
        raise Base58ChecksumError(
            f"Base58Check checksum mismatch: expected {checksum(payload).hex()}, got {check.hex()}"
        )
    return payload
