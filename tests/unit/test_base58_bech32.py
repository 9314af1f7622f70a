"""Base58 / Bech32 edge cases and error reporting beyond the public vectors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashforge.consensus.base58 import (
    Base58CharacterError,
    Base58ChecksumError,
    Base58Error,
    Base58LengthError,
    b58check_decode,
    b58check_encode,
    b58decode,
    b58encode,
)
from hashforge.consensus.bech32 import (
    MAX_LENGTH,
    Bech32ChecksumError,
    Bech32Error,
    Bech32FormatError,
    Encoding,
    SegwitAddressError,
    bech32_decode,
    bech32_encode,
    convertbits,
    decode_segwit_address,
    encode_segwit_address,
)

# ---------------------------------------------------------------------------- Base58


@given(st.binary(max_size=80))
def test_base58_round_trip(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data
    assert b58check_decode(b58check_encode(data)) == data


def test_base58_leading_zeros() -> None:
    assert b58encode(b"\x00\x00\x01") == "112"
    assert b58decode("112") == b"\x00\x00\x01"
    assert b58encode(b"\x00" * 5) == "11111"
    assert b58decode("11111") == b"\x00" * 5
    assert b58decode("") == b""


@pytest.mark.parametrize(("s", "char", "pos"), [("0abc", "0", 0), ("abOc", "O", 2), ("abcI", "I", 3),
                                                ("l", "l", 0), ("ab c", " ", 2), (" 2g", " ", 0),
                                                ("2g\n", "\n", 2), ("2\x00g", "\x00", 1)])
def test_base58_bad_character(s: str, char: str, pos: int) -> None:
    # Stricter than Core's DecodeBase58, which skips leading/trailing whitespace.
    with pytest.raises(Base58CharacterError) as info:
        b58decode(s)
    assert (info.value.char, info.value.position) == (char, pos)
    assert f"position {pos}" in str(info.value)


def test_base58check_errors() -> None:
    good = b58check_encode(b"\x00" + bytes(range(20)))
    bad = good[:-1] + ("2" if good[-1] != "2" else "3")
    with pytest.raises(Base58ChecksumError, match="checksum mismatch"):
        b58check_decode(bad)
    with pytest.raises(Base58LengthError, match="too short"):
        b58check_decode(b58encode(b"abc"))
    with pytest.raises(Base58LengthError, match="more than 21"):
        b58check_decode(b58check_encode(bytes(22)), max_payload_len=21)
    assert b58check_decode(good, max_payload_len=21) == b"\x00" + bytes(range(20))
    assert issubclass(Base58Error, ValueError)


def test_base58_max_len_rejects_huge_input_early() -> None:
    with pytest.raises(Base58LengthError):
        b58decode("z" * 200_000, max_len=64)


@given(st.binary(max_size=40), st.integers(min_value=0, max_value=50))
def test_base58_max_len_is_exact(data: bytes, max_len: int) -> None:
    s = b58encode(data)
    if len(data) <= max_len:
        assert b58decode(s, max_len) == data
    else:
        with pytest.raises(Base58LengthError):
            b58decode(s, max_len)


# ---------------------------------------------------------------------------- Bech32


@given(
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20),
    st.lists(st.integers(0, 31), max_size=60),
    st.sampled_from(list(Encoding)),
)
def test_bech32_round_trip(hrp: str, data: list[int], encoding: Encoding) -> None:
    s = bech32_encode(hrp, data, encoding)
    assert s == s.lower() and len(s) <= MAX_LENGTH
    dec = bech32_decode(s)
    assert (dec.hrp, list(dec.data), dec.encoding) == (hrp.lower(), data, encoding)
    assert bech32_decode(s.upper()) == dec


def test_bech32_encode_limits() -> None:
    with pytest.raises(Bech32FormatError, match="over the 90 limit"):
        bech32_encode("a", [0] * 83, Encoding.BECH32)
    assert len(bech32_encode("a", [0] * 82, Encoding.BECH32)) == 90
    with pytest.raises(Bech32FormatError, match="HRP must be 1 to 83"):
        bech32_encode("", [], Encoding.BECH32)
    with pytest.raises(Bech32FormatError, match="outside US-ASCII"):
        bech32_encode("b c", [], Encoding.BECH32)
    with pytest.raises(Bech32Error, match="not a 5-bit value"):
        bech32_encode("bc", [32], Encoding.BECH32)


def test_bech32_decode_errors_say_why() -> None:
    good = bech32_encode("bc", [1, 2, 3], Encoding.BECH32M)
    with pytest.raises(Bech32ChecksumError):
        bech32_decode(good[:-1] + ("q" if good[-1] != "q" else "p"))
    with pytest.raises(Bech32FormatError, match="mixed"):
        bech32_decode("B" + good[1:])
    with pytest.raises(Bech32FormatError, match="invalid Bech32 data character 'b' at position 4") as info:
        bech32_decode(good[:4] + "b" + good[5:])
    assert info.value.positions == (4,)
    # A longer limit can be asked for (BOLT11-style strings), the default is BIP173's 90.
    long_one = bech32_encode("a", [0] * 82, Encoding.BECH32)
    with pytest.raises(Bech32FormatError):
        bech32_decode(long_one, max_length=89)


def test_bech32_one_character_change_is_detected() -> None:
    s = bech32_encode("tb", list(range(32)), Encoding.BECH32)
    for i in range(3, len(s)):
        for c in "qpzry9x8gf2tvdw0s3jn54khce6mua7l":
            if c != s[i]:
                with pytest.raises(Bech32Error):
                    bech32_decode(s[:i] + c + s[i + 1 :])


def test_convertbits_padding_rules() -> None:
    assert convertbits(b"\xff", 8, 5, True) == [31, 28]
    assert convertbits([31, 28], 5, 8, False) == [255]
    with pytest.raises(Bech32Error, match="non-zero padding"):
        convertbits([31, 29], 5, 8, False)
    with pytest.raises(Bech32Error, match="5 bits of padding"):
        convertbits([0], 5, 8, False)
    with pytest.raises(Bech32Error, match="7 bits of padding"):
        convertbits([31, 28, 0], 5, 8, False)
    with pytest.raises(Bech32Error, match="does not fit"):
        convertbits([32], 5, 8, False)


# ---------------------------------------------------------------------------- segwit addresses


@given(st.integers(0, 16), st.binary(min_size=2, max_size=40), st.sampled_from(["bc", "tb", "bcrt"]))
def test_segwit_round_trip(version: int, program: bytes, hrp: str) -> None:
    if version == 0 and len(program) not in (20, 32):
        with pytest.raises(SegwitAddressError, match="for witness version 0"):
            encode_segwit_address(hrp, version, program)
        return
    addr = encode_segwit_address(hrp, version, program)
    assert decode_segwit_address(hrp, addr) == (version, program)
    assert decode_segwit_address(hrp, addr.upper()) == (version, program)
    assert bech32_decode(addr).encoding is (Encoding.BECH32 if version == 0 else Encoding.BECH32M)


def test_segwit_encode_rejects_bad_witness() -> None:
    with pytest.raises(SegwitAddressError, match="witness version 17"):
        encode_segwit_address("bc", 17, bytes(32))
    with pytest.raises(SegwitAddressError, match="witness version -1"):
        encode_segwit_address("bc", -1, bytes(32))
    with pytest.raises(SegwitAddressError, match="length 1 byte "):
        encode_segwit_address("bc", 1, b"\x01")
    with pytest.raises(SegwitAddressError, match="length 41 bytes"):
        encode_segwit_address("bc", 1, bytes(41))


def test_segwit_decode_wrong_hrp_and_checksum_variant() -> None:
    v0 = encode_segwit_address("bc", 0, bytes(20))
    with pytest.raises(SegwitAddressError, match="wrong HRP: expected 'tb', got 'bc'"):
        decode_segwit_address("tb", v0)
    # Re-encode the same data with the other checksum constant.
    dec = bech32_decode(v0)
    v0m = bech32_encode("bc", dec.data, Encoding.BECH32M)
    with pytest.raises(SegwitAddressError, match="witness version 0 must use Bech32, not Bech32m"):
        decode_segwit_address("bc", v0m)
    v1 = encode_segwit_address("bc", 1, bytes(32))
    v1b = bech32_encode("bc", bech32_decode(v1).data, Encoding.BECH32)
    with pytest.raises(SegwitAddressError, match="witness version 1 must use Bech32m, not Bech32"):
        decode_segwit_address("bc", v1b)
    with pytest.raises(SegwitAddressError, match="empty data section"):
        decode_segwit_address("bc", bech32_encode("bc", [], Encoding.BECH32))
