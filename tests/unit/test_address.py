"""Addresses, scripts and WIF keys on every network we know (NETWORKS, whatever it holds)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashforge.consensus.address import (
    ANCHOR_PROGRAM,
    SECP256K1_ORDER,
    AddressError,
    AddressType,
    Destination,
    WifError,
    address_to_script,
    decode_address,
    decode_wif,
    encode_address,
    encode_wif,
    p2pkh_script,
    p2sh_script,
    p2tr_script,
    p2wpkh_script,
    p2wsh_script,
    script_to_address,
    script_to_destination,
    validate_address,
    witness_program_script,
)
from hashforge.consensus.bech32 import Encoding, bech32_decode, bech32_encode
from hashforge.consensus.params import MAINNET, NETWORKS, REGTEST, TESTNET3, ChainParams, get_params

ALL = list(NETWORKS.values())
net = pytest.mark.parametrize("params", ALL, ids=lambda p: p.name)

H20 = bytes(range(20))
H32 = bytes(range(32))

TEMPLATES = [
    (AddressType.P2PKH, p2pkh_script(H20), None),
    (AddressType.P2SH, p2sh_script(H20), None),
    (AddressType.P2WPKH, p2wpkh_script(H20), 0),
    (AddressType.P2WSH, p2wsh_script(H32), 0),
    (AddressType.P2TR, p2tr_script(H32), 1),
    (AddressType.P2A, witness_program_script(1, ANCHOR_PROGRAM), 1),
    *[(AddressType.WITNESS_UNKNOWN, witness_program_script(v, H20), v) for v in range(2, 17)],
    (AddressType.WITNESS_UNKNOWN, witness_program_script(1, H20), 1),
]


def test_script_templates() -> None:
    assert p2pkh_script(H20).hex() == "76a914" + H20.hex() + "88ac"
    assert p2sh_script(H20).hex() == "a914" + H20.hex() + "87"
    assert p2wpkh_script(H20).hex() == "0014" + H20.hex()
    assert p2wsh_script(H32).hex() == "0020" + H32.hex()
    assert p2tr_script(H32).hex() == "5120" + H32.hex()
    assert witness_program_script(16, b"\x75\x1e").hex() == "6002751e"
    bad: list[tuple[Callable[[bytes], bytes], bytes]] = [
        (p2pkh_script, H32), (p2sh_script, H32), (p2wpkh_script, H32), (p2wsh_script, H20),
        (p2tr_script, H20), (lambda p: witness_program_script(17, p), H20),
        (lambda p: witness_program_script(2, p), b"x"),
    ]
    for build, arg in bad:
        with pytest.raises(ValueError):
            build(arg)


@net
@pytest.mark.parametrize(("kind", "script", "version"), TEMPLATES, ids=lambda x: getattr(x, "name", None))
def test_round_trip_every_type(params: ChainParams, kind: AddressType, script: bytes,
                               version: int | None) -> None:
    address = script_to_address(script, params)
    if version is not None and not params.has_segwit_addresses:
        assert address is None, f"{params.name} has no segwit, yet {kind} got {address}"
        with pytest.raises(AddressError, match="no segwit addresses"):
            encode_address(Destination(kind, script[2:], version), params)
        return
    assert address is not None, f"{params.name} {kind}"
    dest = decode_address(address, params)
    assert (dest.type, dest.witness_version) == (kind, version), address
    assert address_to_script(address, params) == script, address
    if version is not None:
        assert address.startswith(params.bech32_hrp + "1")
        assert address_to_script(address.upper(), params) == script
        enc = bech32_decode(address).encoding
        assert enc is (Encoding.BECH32 if version == 0 else Encoding.BECH32M), address
    result = validate_address(address, params)
    assert result["isvalid"] and result["address"] == address and result["scriptPubKey"] == script.hex()
    assert result["iswitness"] == (version is not None)


@net
@given(data=st.data())
def test_round_trip_arbitrary_programs(params: ChainParams, data: st.DataObject) -> None:
    version = data.draw(st.integers(0, 16))
    size = data.draw(st.sampled_from([20, 32]) if version == 0 else st.integers(2, 40))
    program = data.draw(st.binary(min_size=size, max_size=size))
    script = witness_program_script(version, program)
    address = script_to_address(script, params)
    if params.has_segwit_addresses:
        assert address is not None
        assert address_to_script(address, params) == script
    else:
        assert address is None
    h = data.draw(st.binary(min_size=20, max_size=20))
    for s in (p2pkh_script(h), p2sh_script(h)):
        a = script_to_address(s, params)
        assert a is not None and address_to_script(a, params) == s


@pytest.mark.parametrize(("a", "b"), [(a, b) for a in ALL for b in ALL if a is not b],
                         ids=lambda p: p.name)
def test_addresses_do_not_cross_networks(a: ChainParams, b: ChainParams) -> None:
    for kind, script, version in TEMPLATES:
        address = script_to_address(script, a)
        if version is not None and not a.has_segwit_addresses:
            assert address is None
            continue
        assert address is not None
        if version is not None:
            same = a.bech32_hrp == b.bech32_hrp
        elif kind is AddressType.P2PKH:
            same = a.base58_pubkey_prefix == b.base58_pubkey_prefix
        else:  # P2SH: Litecoin also accepts the old prefix
            same = a.base58_script_prefix in (b.base58_script_prefix, b.base58_script_prefix_legacy)
        if same:
            assert address_to_script(address, b) == script
        else:
            with pytest.raises(AddressError, match="wrong network") as info:
                address_to_script(address, b)
            assert a.name in str(info.value) and b.name in str(info.value), str(info.value)


def test_validate_address_shape_matches_core() -> None:
    m = MAINNET
    p2pkh = script_to_address(p2pkh_script(H20), m)
    p2sh = script_to_address(p2sh_script(H20), m)
    assert p2pkh is not None and p2sh is not None
    assert validate_address(p2pkh, m) == {
        "isvalid": True, "address": p2pkh, "scriptPubKey": p2pkh_script(H20).hex(),
        "isscript": False, "iswitness": False,
    }
    assert validate_address(p2sh, m)["isscript"] is True
    upper = "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"
    assert validate_address(upper, m) == {
        "isvalid": True, "address": upper.lower(),
        "scriptPubKey": "0014751e76e8199196d454941c45d1b3a323f1433bd6",
        "isscript": False, "iswitness": True, "witness_version": 0,
        "witness_program": "751e76e8199196d454941c45d1b3a323f1433bd6",
    }
    wsh = script_to_address(p2wsh_script(H32), m)
    tr = script_to_address(p2tr_script(H32), m)
    assert wsh is not None and tr is not None
    assert validate_address(wsh, m)["isscript"] is True
    assert validate_address(tr, m) | {} == {
        "isvalid": True, "address": tr, "scriptPubKey": "5120" + H32.hex(),
        "isscript": True, "iswitness": True, "witness_version": 1, "witness_program": H32.hex(),
    }
    # Core: P2A says isscript/iswitness only; WitnessUnknown has no isscript key.
    assert validate_address("bc1pfeessrawgf", m) == {
        "isvalid": True, "address": "bc1pfeessrawgf", "scriptPubKey": "51024e73",
        "isscript": True, "iswitness": True,
    }
    assert validate_address("BC1SW50QGDZ25J", m) == {
        "isvalid": True, "address": "bc1sw50qgdz25j", "scriptPubKey": "6002751e",
        "iswitness": True, "witness_version": 16, "witness_program": "751e",
    }
    bad = validate_address("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", m)
    assert bad["isvalid"] is False and "checksum" in bad["error"] and bad["error_locations"] == []


@pytest.mark.parametrize(
    ("address", "params", "reason"),
    [
        ("", MAINNET, "empty address"),
        ("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", MAINNET, "wrong network: this is a testnet3"),
        (script_to_address(p2wpkh_script(H20), REGTEST), MAINNET, "wrong network: this is a regtest"),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", REGTEST, "wrong network: this is a mainnet"),
        ("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", MAINNET, "wrong network: Base58 version byte 111"),
        ("17VZNX1SN5NtKa8UQFxwQbFeFc3iqRYhem", TESTNET3, "wrong network: Base58 version byte 0"),
        ("17VZNX1SN5NtKa8UQFxwQbFeFc3iqRYhen", MAINNET, "bad checksum"),
        ("17VZNX1SN5NtKa8UQFxwQbFeFc3iqRYhe0", MAINNET, "invalid Base58 character '0'"),
        ("5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ", MAINNET, "WIF private key, not an address"),
        ("zz1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", MAINNET, "as Bech32: invalid checksum"),
        ("bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du", MAINNET, "must use Bech32m"),
    ],
)
def test_address_errors_say_why(address: str, params: ChainParams, reason: str) -> None:
    with pytest.raises(AddressError) as info:
        address_to_script(address, params)
    message = str(info.value)
    assert reason in message, message
    assert "\n" not in message


def test_bech32_prefix_decides_like_core() -> None:
    # Core only tries Bech32 when the string starts with the network's HRP (any case), else only
    # Base58: a valid Bech32 string under another HRP that starts with ours is still rejected.
    addr = bech32_encode("bcx", [0, *([0] * 32)], Encoding.BECH32)
    with pytest.raises(AddressError, match="Bech32 prefix 'bcx'"):
        address_to_script(addr, MAINNET)


def test_script_to_address_none_for_scripts_without_address() -> None:
    pubkey = b"\x02" + H32
    for script in (
        bytes([33]) + pubkey + b"\xac",  # P2PK: Core gives a PubKeyDestination, no address
        b"\x6a\x04test",  # OP_RETURN
        b"",
        witness_program_script(0, bytes(16)),  # v0 with a size other than 20/32: non-standard
        b"\x00\x14" + bytes(19),  # length byte disagrees with the script size
        b"\x51\x01\x00",  # 1-byte program: not a witness program
        b"\x51\x29" + bytes(41),  # 41-byte program: not a witness program
        b"\x4f\x14" + H20,  # OP_1NEGATE is not a witness version
        p2pkh_script(H20)[:-1] + b"\xad",
        p2sh_script(H20) + b"\x87",
    ):
        assert script_to_destination(script) is None, script.hex()
        assert script_to_address(script, MAINNET) is None, script.hex()


def test_destination_value() -> None:
    d = Destination(AddressType.P2TR, H32, 1)
    assert d.script_pubkey == p2tr_script(H32) and d.is_witness
    assert encode_address(d, MAINNET) == script_to_address(p2tr_script(H32), MAINNET)
    assert script_to_destination(p2tr_script(H32)) == d


# ---------------------------------------------------------------------------- WIF


@net
@given(st.integers(1, SECP256K1_ORDER - 1), st.booleans())
def test_wif_round_trip(params: ChainParams, k: int, compressed: bool) -> None:
    key = k.to_bytes(32, "big")
    wif = encode_wif(key, params, compressed)
    assert decode_wif(wif, params) == (key, compressed)
    with pytest.raises(AddressError):
        address_to_script(wif, params)


def test_wif_known_key() -> None:
    key = bytes.fromhex("0c28fca386c7a227600b2fe50b7cae11ec86d3bf1fbe471be89827e19d72aa1d")
    assert encode_wif(key, MAINNET, False) == "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ"
    assert decode_wif("5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ", MAINNET) == (key, False)


def test_wif_errors_say_why() -> None:
    from hashforge.consensus.base58 import b58check_encode

    def wif(payload: bytes) -> str:
        return b58check_encode(payload)

    key = bytes(31) + b"\x01"
    cases = [
        (wif(b"\x80" + key + b"\x02"), MAINNET, "bad compression flag 0x02"),
        (wif(b"\x80" + key[:31]), MAINNET, "invalid length"),
        (wif(b"\x80" + bytes(32)), MAINNET, "out of range"),
        (wif(b"\x80" + SECP256K1_ORDER.to_bytes(32, "big")), MAINNET, "out of range"),
        (wif(b"\xef" + key), MAINNET, "wrong network: WIF version byte 239"),
        (wif(b"\x80" + key), TESTNET3, "wrong network: WIF version byte 128 is for mainnet"),
        (wif(b"\x42" + key), MAINNET, "unknown WIF version byte 66"),
        (wif(b"\x00" + H20), MAINNET, "looks like an address"),
        (wif(b"\x80" + key)[:-1] + "z", MAINNET, "bad checksum"),
        ("5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyT0", MAINNET, "invalid Base58 character"),
    ]
    for s, params, reason in cases:
        with pytest.raises(WifError) as info:
            decode_wif(s, params)
        assert reason in str(info.value), (s, str(info.value))
    with pytest.raises(WifError, match="out of range"):
        encode_wif(bytes(32), MAINNET)
    with pytest.raises(ValueError, match="32 bytes"):
        encode_wif(bytes(33), MAINNET)


def test_a_litecoin_p2pkh_address_that_begins_with_the_bech32_hrp() -> None:
    """Base58 "LTc..." begins with Litecoin's HRP ("ltc", case-insensitively): it is still the P2PKH it
    encodes, as Litecoin Core 0.21 (base58 first) reads it; a broken bech32 one is still refused."""
    params = get_params("litecoin")
    script = p2pkh_script(bytes.fromhex("5c0cd9ab7c32fdddbf51e017e9b16be8bf0ca4d4"))
    address = script_to_address(script, params)
    assert address == "LTcfpiNEhfGZYKk3yRQ9aEHQxj9P2hNaqn"
    assert address_to_script(address, params) == script
    assert validate_address(address, params)["isvalid"]
    assert not validate_address("ltc1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", params)["isvalid"]
