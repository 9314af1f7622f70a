"""Bech32 (BIP173) and Bech32m (BIP350) strings, and segwit addresses built on them.

A Bech32 string is `hrp` + "1" + data characters + a 6-character checksum. The two encodings
differ only in the constant the checksum polynomial must leave: 1 for Bech32, 0x2bc830a3 for
Bech32m. Segwit addresses use Bech32 for witness version 0 and Bech32m for versions 1-16.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_REV = {c: i for i, c in enumerate(CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)

SEPARATOR = "1"
CHECKSUM_LEN = 6
MAX_LENGTH = 90  # BIP173's limit on the whole string
MAX_HRP_LENGTH = 83
MIN_WITNESS_PROGRAM = 2
MAX_WITNESS_PROGRAM = 40
MAX_WITNESS_VERSION = 16


class Encoding(Enum):
    """A checksum variant, valued by the constant its polymod must equal."""

    BECH32 = 1
    BECH32M = 0x2BC830A3


class Bech32Error(ValueError):
    """A string that is not valid Bech32/Bech32m, or data that cannot be encoded."""

    def __init__(self, message: str, positions: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.positions: tuple[int, ...] = tuple(positions)


class Bech32FormatError(Bech32Error):
    """Length, character set, case, separator or HRP rules broken."""


class Bech32ChecksumError(Bech32Error):
    """The checksum matches neither Bech32 nor Bech32m."""


class SegwitAddressError(Bech32Error):
    """A valid Bech32/Bech32m string that is not a valid segwit address for the expected HRP."""


@dataclass(frozen=True, slots=True)
class Bech32Decoded:
    hrp: str  # always lower case
    data: tuple[int, ...]  # 5-bit values, checksum removed
    encoding: Encoding


def _polymod(values: Iterable[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ v
        for i, g in enumerate(_GENERATOR):
            if (top >> i) & 1:
                chk ^= g
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    codes = [ord(c) for c in hrp]
    return [c >> 5 for c in codes] + [0] + [c & 31 for c in codes]


def _create_checksum(hrp: str, data: Sequence[int], encoding: Encoding) -> list[int]:
    pm = _polymod([*_hrp_expand(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ encoding.value
    return [(pm >> 5 * (5 - i)) & 31 for i in range(CHECKSUM_LEN)]


def _check_hrp(hrp: str) -> None:
    if not 1 <= len(hrp) <= MAX_HRP_LENGTH:
        raise Bech32FormatError(f"HRP must be 1 to {MAX_HRP_LENGTH} characters, got {len(hrp)}")
    for pos, c in enumerate(hrp):
        if not 33 <= ord(c) <= 126:
            raise Bech32FormatError(
                f"HRP character {c!r} at position {pos} is outside US-ASCII 33-126", [pos]
            )


def bech32_encode(hrp: str, data: Sequence[int], encoding: Encoding) -> str:
    """Lower-case Bech32/Bech32m string of `hrp` and 5-bit `data`; the HRP is lower-cased first."""
    _check_hrp(hrp)
    hrp = hrp.lower()
    for i, v in enumerate(data):
        if not 0 <= v < 32:
            raise Bech32Error(f"data value {v} at index {i} is not a 5-bit value")
    length = len(hrp) + 1 + len(data) + CHECKSUM_LEN
    if length > MAX_LENGTH:
        raise Bech32FormatError(f"encoding would be {length} characters, over the {MAX_LENGTH} limit")
    combined = [*data, *_create_checksum(hrp, data, encoding)]
    return hrp + SEPARATOR + "".join(CHARSET[v] for v in combined)


def bech32_decode(s: str, max_length: int = MAX_LENGTH) -> Bech32Decoded:
    """Decodes a Bech32 or Bech32m string (upper or lower case, never mixed) and tells which."""
    if len(s) > max_length:
        raise Bech32FormatError(f"string is {len(s)} characters, over the {max_length} limit")
    bad = [i for i, c in enumerate(s) if not 33 <= ord(c) <= 126]
    if bad:
        raise Bech32FormatError(
            f"character {s[bad[0]]!r} at position {bad[0]} is outside US-ASCII 33-126", bad
        )
    if s.lower() != s and s.upper() != s:
        raise Bech32FormatError("mixed upper and lower case")
    s = s.lower()
    pos = s.rfind(SEPARATOR)
    if pos < 0:
        raise Bech32FormatError("no separator character '1'")
    if pos == 0:
        raise Bech32FormatError("empty HRP (the string starts with the separator '1')", [0])
    if len(s) - pos - 1 < CHECKSUM_LEN:
        raise Bech32FormatError(
            f"data part after the last '1' is {len(s) - pos - 1} characters, "
            f"shorter than the {CHECKSUM_LEN}-character checksum",
            [pos],
        )
    hrp = s[:pos]
    bad = [i for i in range(pos + 1, len(s)) if s[i] not in _CHARSET_REV]
    if bad:
        raise Bech32FormatError(
            f"invalid Bech32 data character {s[bad[0]]!r} at position {bad[0]}", bad
        )
    values = [_CHARSET_REV[c] for c in s[pos + 1 :]]
    const = _polymod([*_hrp_expand(hrp), *values])
    for encoding in Encoding:
        if const == encoding.value:
            return Bech32Decoded(hrp, tuple(values[:-CHECKSUM_LEN]), encoding)
    raise Bech32ChecksumError("invalid checksum (neither Bech32 nor Bech32m)")


def convertbits(data: Iterable[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    """Regroups a sequence of `frombits`-bit values into `tobits`-bit values (BIP173).

    With `pad` the last group is zero-filled; without it, leftover bits must be fewer than
    `frombits` and all zero, else Bech32Error.
    """
    acc = 0
    bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    for value in data:
        if value < 0 or value >> frombits:
            raise Bech32Error(f"value {value} does not fit in {frombits} bits")
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
        acc &= (1 << bits) - 1
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits:
        raise Bech32Error(f"{bits} bits of padding, more than the {frombits - 1} allowed")
    elif (acc << (tobits - bits)) & maxv:
        raise Bech32Error("non-zero padding bits")
    return out


def encoding_for_witness_version(witver: int) -> Encoding:
    return Encoding.BECH32 if witver == 0 else Encoding.BECH32M


def _bytes(n: int) -> str:
    return f"{n} byte" if n == 1 else f"{n} bytes"


def _check_witness(witver: int, program: bytes) -> None:
    if not 0 <= witver <= MAX_WITNESS_VERSION:
        raise SegwitAddressError(f"invalid witness version {witver} (must be 0 to 16)")
    if not MIN_WITNESS_PROGRAM <= len(program) <= MAX_WITNESS_PROGRAM:
        raise SegwitAddressError(
            f"invalid witness program length {_bytes(len(program))} (must be 2 to 40)"
        )
    if witver == 0 and len(program) not in (20, 32):
        raise SegwitAddressError(
            f"invalid witness program length {_bytes(len(program))} for witness version 0 "
            "(must be 20 or 32, per BIP141)"
        )


def encode_segwit_address(hrp: str, witver: int, program: bytes) -> str:
    """A segwit address: Bech32 for version 0, Bech32m for versions 1-16 (BIP350)."""
    _check_witness(witver, program)
    data = [witver, *convertbits(program, 8, 5, True)]
    return bech32_encode(hrp, data, encoding_for_witness_version(witver))


def decode_segwit_address(hrp: str, addr: str) -> tuple[int, bytes]:
    """(witness version, witness program) of a segwit address for `hrp`, with all BIP350 rules.

    Raises Bech32FormatError / Bech32ChecksumError for a bad string and SegwitAddressError for a
    valid string that is not a valid address for this HRP.
    """
    dec = bech32_decode(addr)
    if dec.hrp != hrp.lower():
        raise SegwitAddressError(f"wrong HRP: expected {hrp.lower()!r}, got {dec.hrp!r}")
    if not dec.data:
        raise SegwitAddressError("empty data section (no witness version)")
    witver = dec.data[0]
    if witver > MAX_WITNESS_VERSION:
        raise SegwitAddressError(f"invalid witness version {witver} (must be 0 to 16)")
    expected = encoding_for_witness_version(witver)
    if dec.encoding is not expected:
        raise SegwitAddressError(
            f"witness version {witver} must use {expected.name.capitalize()}, "
            f"not {dec.encoding.name.capitalize()}"
        )
    try:
        program = bytes(convertbits(dec.data[1:], 5, 8, False))
    except Bech32Error as e:
        raise SegwitAddressError(f"invalid padding in witness program: {e}") from None
    _check_witness(witver, program)
    return witver, program
