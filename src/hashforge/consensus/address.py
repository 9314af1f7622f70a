"""Addresses and WIF private keys, as Bitcoin Core's key_io treats them.

An address names an output script (scriptPubKey) on one network:
  P2PKH, P2SH             Base58Check of (version byte + 20-byte hash)
  P2WPKH, P2WSH           Bech32, witness version 0, 20- or 32-byte program
  P2TR, P2A, v1..v16      Bech32m, witness version 1..16, 2- to 40-byte program
Decoding follows Core's DecodeDestination: a string whose first characters equal the network's
Bech32 HRP (ignoring case) is only tried as Bech32; anything else only as Base58Check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Required, TypedDict

from .base58 import (
    Base58CharacterError,
    Base58ChecksumError,
    Base58Error,
    b58check_decode,
    b58check_encode,
)
from .bech32 import (
    MAX_WITNESS_PROGRAM,
    MAX_WITNESS_VERSION,
    MIN_WITNESS_PROGRAM,
    Bech32Error,
    bech32_decode,
    decode_segwit_address,
    encode_segwit_address,
)
from .params import NETWORKS, ChainParams

OP_0 = 0x00
OP_1 = 0x51
OP_16 = 0x60
OP_DUP = 0x76
OP_HASH160 = 0xA9
OP_EQUAL = 0x87
OP_EQUALVERIFY = 0x88
OP_CHECKSIG = 0xAC

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ANCHOR_PROGRAM = bytes.fromhex("4e73")  # BIP-less "pay to anchor": OP_1 <0x4e73>
_MAX_BASE58_BYTES = 64  # far above any address or key; bounds the work on junk input


class KeyIOError(ValueError):
    """A string that does not decode as the requested address or key."""


class AddressError(KeyIOError):
    """Not a valid address for the given network; the message says why, in one line."""


class WifError(KeyIOError):
    """Not a valid WIF private key for the given network."""


class AddressType(StrEnum):
    """Output types that have an address, named as Core's `decodescript` names them."""

    P2PKH = "pubkeyhash"
    P2SH = "scripthash"
    P2WPKH = "witness_v0_keyhash"
    P2WSH = "witness_v0_scripthash"
    P2TR = "witness_v1_taproot"
    P2A = "anchor"
    WITNESS_UNKNOWN = "witness_unknown"


# ---------------------------------------------------------------------------- script templates


def _need_len(what: str, data: bytes, n: int) -> None:
    if len(data) != n:
        raise ValueError(f"{what} must be {n} bytes, got {len(data)}")


def p2pkh_script(h160: bytes) -> bytes:
    """OP_DUP OP_HASH160 <20 bytes> OP_EQUALVERIFY OP_CHECKSIG."""
    _need_len("P2PKH key hash", h160, 20)
    return bytes([OP_DUP, OP_HASH160, 20]) + h160 + bytes([OP_EQUALVERIFY, OP_CHECKSIG])


def p2sh_script(h160: bytes) -> bytes:
    """OP_HASH160 <20 bytes> OP_EQUAL."""
    _need_len("P2SH script hash", h160, 20)
    return bytes([OP_HASH160, 20]) + h160 + bytes([OP_EQUAL])


def witness_program_script(version: int, program: bytes) -> bytes:
    """OP_n <program>: a witness program of version 0..16 and 2..40 bytes (BIP141)."""
    if not 0 <= version <= MAX_WITNESS_VERSION:
        raise ValueError(f"witness version must be 0 to 16, got {version}")
    if not MIN_WITNESS_PROGRAM <= len(program) <= MAX_WITNESS_PROGRAM:
        raise ValueError(f"witness program must be 2 to 40 bytes, got {len(program)}")
    opcode = OP_0 if version == 0 else OP_1 + version - 1
    return bytes([opcode, len(program)]) + program


def p2wpkh_script(h160: bytes) -> bytes:
    _need_len("P2WPKH key hash", h160, 20)
    return witness_program_script(0, h160)


def p2wsh_script(h256: bytes) -> bytes:
    _need_len("P2WSH script hash", h256, 32)
    return witness_program_script(0, h256)


def p2tr_script(output_key: bytes) -> bytes:
    """OP_1 <32-byte x-only output key>."""
    _need_len("P2TR output key", output_key, 32)
    return witness_program_script(1, output_key)


def witness_program_of(script_pubkey: bytes) -> tuple[int, bytes] | None:
    """(version, program) if the script is a witness program (Core's IsWitnessProgram)."""
    n = len(script_pubkey)
    if not 4 <= n <= MAX_WITNESS_PROGRAM + 2:
        return None
    op = script_pubkey[0]
    if op != OP_0 and not OP_1 <= op <= OP_16:
        return None
    if script_pubkey[1] + 2 != n:
        return None
    return (0 if op == OP_0 else op - OP_1 + 1), script_pubkey[2:]


# ---------------------------------------------------------------------------- destinations


@dataclass(frozen=True, slots=True)
class Destination:
    """What an address stands for: a type, its hash or witness program, and the witness version."""

    type: AddressType
    program: bytes  # 20-byte hash for P2PKH/P2SH, the witness program otherwise
    witness_version: int | None = None

    @property
    def script_pubkey(self) -> bytes:
        if self.type is AddressType.P2PKH:
            return p2pkh_script(self.program)
        if self.type is AddressType.P2SH:
            return p2sh_script(self.program)
        assert self.witness_version is not None
        return witness_program_script(self.witness_version, self.program)

    @property
    def is_witness(self) -> bool:
        return self.witness_version is not None


def _witness_destination(version: int, program: bytes) -> Destination | None:
    if version == 0:
        if len(program) == 20:
            return Destination(AddressType.P2WPKH, program, 0)
        if len(program) == 32:
            return Destination(AddressType.P2WSH, program, 0)
        return None  # Core: NONSTANDARD, no address
    if version == 1 and len(program) == 32:
        return Destination(AddressType.P2TR, program, 1)
    if version == 1 and program == ANCHOR_PROGRAM:
        return Destination(AddressType.P2A, program, 1)
    return Destination(AddressType.WITNESS_UNKNOWN, program, version)


def script_to_destination(script_pubkey: bytes) -> Destination | None:
    """The destination of an output script, or None when it has no address (Core's
    ExtractDestination; bare pubkeys, multisig, OP_RETURN and non-standard scripts have none)."""
    s = script_pubkey
    if len(s) == 25 and s[:3] == bytes([OP_DUP, OP_HASH160, 20]) and s[23:] == bytes(
        [OP_EQUALVERIFY, OP_CHECKSIG]
    ):
        return Destination(AddressType.P2PKH, s[3:23])
    if len(s) == 23 and s[:2] == bytes([OP_HASH160, 20]) and s[22] == OP_EQUAL:
        return Destination(AddressType.P2SH, s[2:22])
    wp = witness_program_of(s)
    if wp is not None:
        return _witness_destination(*wp)
    return None


def encode_address(dest: Destination, params: ChainParams) -> str:
    if dest.type is AddressType.P2PKH:
        return b58check_encode(bytes([params.base58_pubkey_prefix]) + dest.program)
    if dest.type is AddressType.P2SH:
        return b58check_encode(bytes([params.base58_script_prefix]) + dest.program)
    assert dest.witness_version is not None
    if not params.has_segwit_addresses:
        raise AddressError(f"{params.name} has no segwit addresses")
    return encode_segwit_address(params.bech32_hrp, dest.witness_version, dest.program)


def script_to_address(script_pubkey: bytes, params: ChainParams) -> str | None:
    """The address of an output script on `params`' network, or None if it has none."""
    dest = script_to_destination(script_pubkey)
    if dest is None or (dest.is_witness and not params.has_segwit_addresses):
        return None
    return encode_address(dest, params)


# ---------------------------------------------------------------------------- decoding


def _ascii_lower(s: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)


def _networks(match: Callable[[ChainParams], bool]) -> str:
    return ", ".join(p.name for p in NETWORKS.values() if match(p))


def _wrong_hrp(hrp: str, address: str, params: ChainParams) -> AddressError:
    """The error for a well-formed Bech32 string whose HRP is not this network's."""
    owners = _networks(lambda p: p.bech32_hrp == hrp)
    expects = f"{params.name} expects {params.bech32_hrp!r}"
    if not owners:
        return AddressError(f"unknown Bech32 prefix {hrp!r} ({expects})")
    try:
        decode_segwit_address(hrp, address)
    except Bech32Error as e:
        return AddressError(
            f"wrong network: Bech32 prefix {hrp!r} is for {owners} ({expects}), "
            f"and the address is invalid there too: {e}"
        )
    return AddressError(f"wrong network: this is a {owners} address ({expects})")


def _decode_bech32_address(address: str, params: ChainParams) -> Destination:
    try:
        dec = bech32_decode(address)
    except Bech32Error as e:
        raise AddressError(f"invalid Bech32 address: {e}") from None
    if dec.hrp != params.bech32_hrp:
        raise _wrong_hrp(dec.hrp, address, params)
    try:
        version, program = decode_segwit_address(params.bech32_hrp, address)
    except Bech32Error as e:
        raise AddressError(f"invalid segwit address: {e}") from None
    dest = _witness_destination(version, program)
    assert dest is not None  # decode_segwit_address enforced the v0 program sizes
    return dest


def _decode_base58_address(address: str, params: ChainParams) -> Destination:
    try:
        payload = b58check_decode(address, _MAX_BASE58_BYTES)
    except Base58Error as e:
        if not address:
            raise AddressError("empty address") from None
        try:
            dec = bech32_decode(address)
        except Bech32Error as bech32_error:
            if isinstance(e, Base58ChecksumError):
                raise AddressError("bad checksum: not a valid Base58Check address") from None
            reason = f"not a Base58Check or Bech32 address: {e}"
            if isinstance(e, Base58CharacterError) and address.rfind("1") > 0:
                reason += f"; as Bech32: {bech32_error}"
            raise AddressError(reason) from None
        raise _wrong_hrp(dec.hrp, address, params) from None
    version = payload[0] if payload else None
    if len(payload) == 21:
        if version == params.base58_pubkey_prefix:
            return Destination(AddressType.P2PKH, payload[1:])
        if version in (params.base58_script_prefix, params.base58_script_prefix_legacy):
            return Destination(AddressType.P2SH, payload[1:])
        owners = _networks(
            lambda p: version
            in (p.base58_pubkey_prefix, p.base58_script_prefix, p.base58_script_prefix_legacy)
        )
        if owners:
            raise AddressError(
                f"wrong network: Base58 version byte {version} is for {owners}, not {params.name}"
            )
        raise AddressError(f"unknown Base58 address version byte {version}")
    if version is not None and len(payload) in (33, 34):
        owners = _networks(lambda p: p.base58_secret_prefix == version)
        if owners:
            raise AddressError("this is a WIF private key, not an address")
    if version in (params.base58_pubkey_prefix, params.base58_script_prefix):
        raise AddressError(
            f"invalid length: Base58 payload is {len(payload)} bytes, P2PKH/P2SH need 21"
        )
    raise AddressError(
        f"invalid or unsupported Base58 address ({len(payload)}-byte payload, "
        f"version byte {version})"
    )


def decode_address(address: str, params: ChainParams) -> Destination:
    """The destination `address` names on `params`' network, or AddressError."""
    hrp = params.bech32_hrp
    if hrp and _ascii_lower(address[: len(hrp)]) == hrp:
        try:
            return _decode_bech32_address(address, params)
        except AddressError:
            # a base58 address can begin with the HRP too (Litecoin's "LTC..." P2PKH): Litecoin Core
            # 0.21 tries base58 first; Bitcoin's base58 versions never begin with theirs
            try:
                return _decode_base58_address(address, params)
            except AddressError:
                pass
            raise
    return _decode_base58_address(address, params)


def address_to_script(address: str, params: ChainParams) -> bytes:
    """The scriptPubKey that `address` pays on `params`' network, or AddressError."""
    return decode_address(address, params).script_pubkey


def is_valid_address(address: str, params: ChainParams) -> bool:
    try:
        decode_address(address, params)
    except AddressError:
        return False
    return True


class ValidateAddressResult(TypedDict, total=False):
    """The object Core's `validateaddress` RPC returns."""

    isvalid: Required[bool]
    address: str
    scriptPubKey: str
    isscript: bool
    iswitness: bool
    witness_version: int
    witness_program: str
    error_locations: list[int]
    error: str


def validate_address(address: str, params: ChainParams) -> ValidateAddressResult:
    """Core's `validateaddress` result: on success the normalized address, its scriptPubKey and
    what kind it is (keys exactly as Core sets them per type); on failure `error`."""
    try:
        dest = decode_address(address, params)
    except AddressError as e:
        return {"isvalid": False, "error_locations": [], "error": str(e)}
    out: ValidateAddressResult = {
        "isvalid": True,
        "address": encode_address(dest, params),
        "scriptPubKey": dest.script_pubkey.hex(),
    }
    t = dest.type
    if t is not AddressType.WITNESS_UNKNOWN:
        out["isscript"] = t in (AddressType.P2SH, AddressType.P2WSH, AddressType.P2TR, AddressType.P2A)
    out["iswitness"] = dest.is_witness
    if dest.witness_version is not None and t is not AddressType.P2A:
        out["witness_version"] = dest.witness_version
        out["witness_program"] = dest.program.hex()
    return out


# ---------------------------------------------------------------------------- WIF keys


def encode_wif(privkey: bytes, params: ChainParams, compressed: bool = True) -> str:
    """Wallet Import Format: Base58Check(secret prefix + key [+ 0x01 if compressed])."""
    _need_len("private key", privkey, 32)
    if not 0 < int.from_bytes(privkey, "big") < SECP256K1_ORDER:
        raise WifError("private key out of range (must be 1 to n-1 of secp256k1)")
    suffix = b"\x01" if compressed else b""
    return b58check_encode(bytes([params.base58_secret_prefix]) + privkey + suffix)


def decode_wif(s: str, params: ChainParams) -> tuple[bytes, bool]:
    """(32-byte private key, compressed) of a WIF string for `params`' network (Core's
    DecodeSecret: 33 bytes uncompressed or 34 ending in 0x01, key in 1..n-1)."""
    try:
        payload = b58check_decode(s, _MAX_BASE58_BYTES)
    except Base58ChecksumError:
        raise WifError("bad checksum: not a valid WIF private key") from None
    except Base58Error as e:
        raise WifError(f"not a WIF private key: {e}") from None
    if len(payload) == 21:
        raise WifError("21-byte payload: this looks like an address, not a WIF private key")
    if len(payload) == 34 and payload[-1] != 0x01:
        raise WifError(f"bad compression flag 0x{payload[-1]:02x} (must be 0x01)")
    if len(payload) not in (33, 34):
        raise WifError(f"invalid length: WIF payload is {len(payload)} bytes, need 33 or 34")
    version = payload[0]
    if version != params.base58_secret_prefix:
        owners = _networks(lambda p: p.base58_secret_prefix == version)
        if owners:
            raise WifError(
                f"wrong network: WIF version byte {version} is for {owners}, not {params.name}"
            )
        raise WifError(f"unknown WIF version byte {version}")
    key = payload[1:33]
    if not 0 < int.from_bytes(key, "big") < SECP256K1_ORDER:
        raise WifError("private key out of range (zero or not below the secp256k1 order)")
    return key, len(payload) == 34
