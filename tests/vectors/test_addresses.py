"""Base58, Bech32/Bech32m, addresses and WIF keys against Bitcoin Core's and the BIPs' vectors.

key_io tests follow Core's src/test/key_io_tests.cpp: key_io_valid_parse, key_io_valid_gen and
key_io_invalid (every network we know, not just Core's).
"""

from __future__ import annotations

from typing import Any

import pytest

from hashforge.consensus.address import (
    AddressError,
    WifError,
    address_to_script,
    decode_wif,
    encode_wif,
    script_to_address,
    validate_address,
)
from hashforge.consensus.base58 import b58decode, b58encode
from hashforge.consensus.bech32 import (
    Bech32ChecksumError,
    Bech32Error,
    Bech32FormatError,
    Encoding,
    SegwitAddressError,
    bech32_decode,
    bech32_encode,
    decode_segwit_address,
    encode_segwit_address,
)
from hashforge.consensus.params import NETWORKS, ChainParams, get_params
from tests.vectorfiles import load_json

BASE58 = load_json("bitcoin-core/base58_encode_decode.json")
KEY_IO_VALID = load_json("bitcoin-core/key_io_valid.json")
KEY_IO_INVALID = load_json("bitcoin-core/key_io_invalid.json")
BECH32 = load_json("bips/bech32_vectors.json")


def _id(v: Any) -> str:
    s = v[0] if isinstance(v, list) else v["string"]
    return repr(s)[:60]


def test_vector_files_are_complete() -> None:
    # Guards against a truncated or emptied vector file making the parametrized tests vacuous.
    assert len(BASE58) >= 14
    assert len(KEY_IO_VALID) >= 70
    assert len(KEY_IO_INVALID) >= 70
    counts = {k: len(v) for k, v in BECH32.items() if isinstance(v, list)}
    assert counts["bech32_valid"] >= 7 and counts["bech32m_valid"] >= 7, counts
    assert counts["segwit_address_valid"] >= 8 and counts["segwit_address_invalid"] >= 15, counts


# ---------------------------------------------------------------------------- Base58


@pytest.mark.parametrize("vec", BASE58, ids=_id)
def test_base58_encode_decode(vec: list[str]) -> None:
    hexdata, encoded = vec
    data = bytes.fromhex(hexdata)
    assert b58encode(data) == encoded, f"encode {vec}"
    assert b58decode(encoded) == data, f"decode {vec}"


# ---------------------------------------------------------------------------- key_io (Core)


def _flip_case(s: str) -> str:
    return "".join(
        c.upper() if "a" <= c <= "z" else c.lower() if "A" <= c <= "Z" else c for c in s
    )


def _is_address(s: str, params: ChainParams) -> bool:
    try:
        address_to_script(s, params)
    except AddressError:
        return False
    return True


def _is_wif(s: str, params: ChainParams) -> bool:
    try:
        decode_wif(s, params)
    except WifError:
        return False
    return True


@pytest.mark.parametrize("vec", KEY_IO_VALID, ids=_id)
def test_key_io_valid_parse(vec: list[Any]) -> None:
    string, payload_hex, meta = vec
    params = get_params(meta["chain"])
    payload = bytes.fromhex(payload_hex)
    if meta["isPrivkey"]:
        key, compressed = decode_wif(string, params)
        assert key == payload, f"key mismatch: {vec}"
        assert compressed == meta["isCompressed"], f"compressed mismatch: {vec}"
        assert not _is_address(string, params), f"privkey valid as address: {vec}"
        return
    assert address_to_script(string, params) == payload, f"script mismatch: {vec}"
    result = validate_address(string, params)
    assert result["isvalid"] and result["scriptPubKey"] == payload_hex, f"{vec}: {result}"
    assert not _is_wif(string, params), f"address valid as privkey: {vec}"
    flipped = _flip_case(string)
    if meta.get("tryCaseFlip", False):
        assert address_to_script(flipped, params) == payload, f"case-flipped: {vec}"
    else:
        assert not _is_address(flipped, params), f"case-flipped valid: {vec}"
    assert not _is_wif(flipped, params), f"case-flipped address valid as privkey: {vec}"


@pytest.mark.parametrize("vec", KEY_IO_VALID, ids=_id)
def test_key_io_valid_gen(vec: list[Any]) -> None:
    string, payload_hex, meta = vec
    params = get_params(meta["chain"])
    payload = bytes.fromhex(payload_hex)
    if meta["isPrivkey"]:
        assert encode_wif(payload, params, meta["isCompressed"]) == string, f"{vec}"
    else:
        assert script_to_address(payload, params) == string, f"{vec}"
        assert validate_address(string, params)["address"] == string, f"{vec}"


def test_key_io_valid_covers_core_chains() -> None:
    chains = {v[2]["chain"] for v in KEY_IO_VALID}
    assert {"main", "signet", "regtest"} <= chains, chains
    for chain in chains:
        get_params(chain)  # every chain the vectors name is one we know


@pytest.mark.parametrize("vec", KEY_IO_INVALID, ids=_id)
@pytest.mark.parametrize("network", list(NETWORKS))
def test_key_io_invalid(vec: list[str], network: str) -> None:
    string = vec[0]
    params = NETWORKS[network]
    assert not _is_address(string, params), f"valid address on {network}: {vec}"
    assert not _is_wif(string, params), f"valid privkey on {network}: {vec}"
    result = validate_address(string, params)
    assert result["isvalid"] is False and result["error"], f"{network} {vec}: {result}"


# ---------------------------------------------------------------------------- BIP173 / BIP350


def _string(vec: dict[str, str]) -> str:
    s = vec["string"]
    if "latin1_hex" in vec:
        assert s == bytes.fromhex(vec["latin1_hex"]).decode("latin1"), f"bad vector {vec}"
    return s


@pytest.mark.parametrize(
    ("vec", "encoding"),
    [(v, Encoding.BECH32) for v in BECH32["bech32_valid"]]
    + [(v, Encoding.BECH32M) for v in BECH32["bech32m_valid"]],
    ids=lambda x: _id(x) if isinstance(x, dict) else x.name,
)
def test_bech32_valid(vec: dict[str, str], encoding: Encoding) -> None:
    s = _string(vec)
    dec = bech32_decode(s)
    assert dec.encoding is encoding, f"{vec}: decoded as {dec.encoding}"
    assert bech32_encode(dec.hrp, dec.data, encoding) == s.lower(), f"re-encode {vec}"
    # BIP173's reference test: flipping one bit of the first data character breaks the checksum.
    pos = s.rfind("1")
    broken = s[: pos + 1] + chr(ord(s[pos + 1]) ^ 1) + s[pos + 2 :]
    with pytest.raises(Bech32Error):
        bech32_decode(broken)


# reason in the BIP text -> (exception class, words our message must contain)
_BECH32_REASONS: dict[str, tuple[type[Bech32Error], str]] = {
    "HRP character out of range": (Bech32FormatError, "outside US-ASCII"),
    "overall max length exceeded": (Bech32FormatError, "over the 90 limit"),
    "No separator character": (Bech32FormatError, "no separator"),
    "Empty HRP": (Bech32FormatError, "empty HRP"),
    "empty HRP": (Bech32FormatError, "empty HRP"),
    "Invalid data character": (Bech32FormatError, "invalid Bech32 data character"),
    "Too short checksum": (Bech32FormatError, "shorter than the 6-character checksum"),
    "Invalid character in checksum": (Bech32FormatError, "character"),
    "checksum calculated with uppercase form of HRP": (Bech32ChecksumError, "invalid checksum"),
}


@pytest.mark.parametrize(
    "vec", BECH32["bech32_invalid"] + BECH32["bech32m_invalid"], ids=_id
)
def test_bech32_invalid(vec: dict[str, str]) -> None:
    s = _string(vec)
    cls, words = _BECH32_REASONS[vec["reason"]]
    with pytest.raises(cls) as info:
        bech32_decode(s)
    assert words in str(info.value), f"{vec}: {info.value}"


@pytest.mark.parametrize(
    "vec",
    BECH32["segwit_address_valid"]
    + [v for v in BECH32["bip173_segwit_address_valid_original"] if v["script_pubkey"][:2] == "00"],
    ids=_id,
)
def test_segwit_address_valid(vec: dict[str, str]) -> None:
    s, script = vec["string"], vec["script_pubkey"]
    hrp = "bc"
    try:
        version, program = decode_segwit_address(hrp, s)
    except SegwitAddressError:
        hrp = "tb"
        version, program = decode_segwit_address(hrp, s)
    first = 0 if version == 0 else 0x50 + version
    assert (bytes([first, len(program)]) + program).hex() == script, f"{vec}"
    assert encode_segwit_address(hrp, version, program) == s.lower(), f"{vec}"
    # The same through the address layer, on every network with this HRP.
    networks = [p for p in NETWORKS.values() if p.bech32_hrp == hrp]
    assert networks, hrp
    for params in networks:
        assert address_to_script(s, params).hex() == script, f"{params.name}: {vec}"
        assert script_to_address(bytes.fromhex(script), params) == s.lower(), f"{vec}"


_SEGWIT_REASONS: dict[str, tuple[type[Bech32Error], str]] = {
    "Invalid human-readable part": (SegwitAddressError, "wrong HRP"),
    "Invalid checksum (Bech32 instead of Bech32m)": (SegwitAddressError, "must use Bech32m"),
    "Invalid checksum (Bech32m instead of Bech32)": (SegwitAddressError, "must use Bech32,"),
    "Invalid character in checksum": (Bech32FormatError, "invalid Bech32 data character"),
    "Invalid witness version": (SegwitAddressError, "invalid witness version"),
    "Invalid program length (1 byte)": (SegwitAddressError, "length 1 byte "),
    "Invalid program length (41 bytes)": (SegwitAddressError, "length 41 bytes"),
    "Invalid program length": (SegwitAddressError, "program length"),
    "Invalid program length for witness version 0 (per BIP141)": (
        SegwitAddressError,
        "for witness version 0",
    ),
    "Mixed case": (Bech32FormatError, "mixed"),
    "zero padding of more than 4 bits": (SegwitAddressError, "bits of padding"),
    "Non-zero padding in 8-to-5 conversion": (SegwitAddressError, "non-zero padding"),
    "Empty data section": (SegwitAddressError, "empty data section"),
    "Invalid checksum": (Bech32ChecksumError, "invalid checksum"),
}


@pytest.mark.parametrize(
    ("vec", "bip350"),
    [(v, True) for v in BECH32["segwit_address_invalid"]]
    + [(v, False) for v in BECH32["bip173_segwit_address_invalid_original"]],
    ids=lambda x: _id(x) if isinstance(x, dict) else ("bip350" if x else "bip173"),
)
def test_segwit_address_invalid(vec: dict[str, str], bip350: bool) -> None:
    s = vec["string"]
    cls, words = _SEGWIT_REASONS[vec["reason"]]
    for hrp in ("bc", "tb"):
        with pytest.raises(Bech32Error) as info:
            decode_segwit_address(hrp, s)
        # BIP173's reasons predate BIP350: some of its v1+ strings now fail first on the checksum
        # variant. For the other HRP the first failure may be the HRP itself.
        if not bip350 and info.value.__class__ is SegwitAddressError and "Bech32m" in str(info.value):
            continue
        if "human-readable" not in vec["reason"] and s[:2].lower() != hrp:
            continue
        assert isinstance(info.value, cls), f"{vec} with {hrp}: {info.value!r}"
        assert words in str(info.value), f"{vec} with {hrp}: {info.value}"
    for params in NETWORKS.values():
        assert not _is_address(s, params), f"valid on {params.name}: {vec}"


@pytest.mark.parametrize(
    "vec",
    [v for v in BECH32["bip173_segwit_address_valid_original"] if v["script_pubkey"][:2] != "00"],
    ids=_id,
)
def test_bip173_v1plus_bech32_addresses_are_invalid_under_bip350(vec: dict[str, str]) -> None:
    s = vec["string"]
    hrp = s[:2].lower()
    with pytest.raises(SegwitAddressError, match="must use Bech32m"):
        decode_segwit_address(hrp, s)
    for params in NETWORKS.values():
        assert not _is_address(s, params), f"valid on {params.name}: {vec}"
