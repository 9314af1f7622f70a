"""secp256k1 for script checks: Core's signature/pubkey encoding rules, lax-DER ECDSA and BIP340 Schnorr via libsecp256k1."""

from __future__ import annotations

from typing import Any

from coincurve._libsecp256k1 import ffi as _ffi_untyped
from coincurve._libsecp256k1 import lib as _lib_untyped

from .hashes import tagged_hash

# The cffi module has no type information; keep the Any in one place.
_ffi: Any = _ffi_untyped
_lib: Any = _lib_untyped
_CTX: Any = _lib.secp256k1_context_static


def libsecp256k1_address(name: str) -> int:
    """The address of one of libsecp256k1's functions in coincurve's copy, for native code
    (consensus/sigqueue.py) that calls it without going through Python."""
    return int(_ffi.cast("uintptr_t", _ffi.addressof(_lib, name)))


def static_context_address() -> int:
    """The address of libsecp256k1's static (verification-only, immutable) context."""
    return int(_ffi.cast("uintptr_t", _CTX))

CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_ORDER = CURVE_ORDER // 2

COMPRESSED_PUBKEY_SIZE = 33
UNCOMPRESSED_PUBKEY_SIZE = 65


# --- encoding rules (consensus-critical since BIP66; the rest is policy) --------------------


def is_valid_signature_encoding(sig: bytes) -> bool:
    """Strict DER plus a trailing hash-type byte: Core's IsValidSignatureEncoding (BIP66)."""
    n = len(sig)
    if n < 9 or n > 73:
        return False
    if sig[0] != 0x30 or sig[1] != n - 3:
        return False
    len_r = sig[3]
    if 5 + len_r >= n:
        return False
    len_s = sig[5 + len_r]
    if len_r + len_s + 7 != n:
        return False
    if sig[2] != 0x02 or len_r == 0 or sig[4] & 0x80:
        return False
    if len_r > 1 and sig[4] == 0 and not sig[5] & 0x80:
        return False
    if sig[len_r + 4] != 0x02 or len_s == 0 or sig[len_r + 6] & 0x80:
        return False
    return not (len_s > 1 and sig[len_r + 6] == 0 and not sig[len_r + 7] & 0x80)


def is_low_s(der_sig: bytes) -> bool:
    """True unless S > n/2 (Core's CPubKey::CheckLowS; takes the DER bytes without hash type)."""
    parsed = parse_der_lax(der_sig)
    if parsed is None:
        return False
    return parsed[1] <= HALF_ORDER


def is_compressed_or_uncompressed_pubkey(pubkey: bytes) -> bool:
    """STRICTENC public-key form: 0x02/0x03 + 32 bytes or 0x04 + 64 bytes."""
    if len(pubkey) < COMPRESSED_PUBKEY_SIZE:
        return False
    if pubkey[0] == 0x04:
        return len(pubkey) == UNCOMPRESSED_PUBKEY_SIZE
    if pubkey[0] in (0x02, 0x03):
        return len(pubkey) == COMPRESSED_PUBKEY_SIZE
    return False


def is_compressed_pubkey(pubkey: bytes) -> bool:
    return len(pubkey) == COMPRESSED_PUBKEY_SIZE and pubkey[0] in (0x02, 0x03)


# --- lax DER (what OpenSSL accepted before BIP66, as Core parses it) -------------------------


def _read_len(data: bytes, pos: int) -> tuple[int, int] | None:
    """A DER length at `pos` as the lax parser reads it: (length, new pos), or None."""
    n = len(data)
    if pos == n:
        return None
    lenbyte = data[pos]
    pos += 1
    if not lenbyte & 0x80:
        return lenbyte, pos
    lenbyte -= 0x80
    if lenbyte > n - pos:
        return None
    while lenbyte > 0 and data[pos] == 0:
        pos += 1
        lenbyte -= 1
    if lenbyte >= 4:
        return None
    value = 0
    while lenbyte > 0:
        value = (value << 8) | data[pos]
        pos += 1
        lenbyte -= 1
    return value, pos


def parse_der_lax(sig: bytes) -> tuple[int, int] | None:
    """(r, s) from a loosely DER-encoded signature, or None where even the lax parser gives up.

    Mirrors the parser Core ships beside libsecp256k1 (ecdsa_signature_parse_der_lax): lengths may
    be long-form and padded, integers may carry any number of leading zeros, trailing garbage is
    ignored. A value that does not fit 32 bytes, or is not below the curve order, gives (0, 0):
    parsed, but never valid.
    """
    n = len(sig)
    pos = 0
    if pos == n or sig[pos] != 0x30:
        return None
    pos += 1
    if pos == n:
        return None
    lenbyte = sig[pos]
    pos += 1
    if lenbyte & 0x80:
        lenbyte -= 0x80
        if lenbyte > n - pos:
            return None
        pos += lenbyte
    values: list[int] = []
    overflow = False
    for _ in range(2):
        if pos >= n or sig[pos] != 0x02:
            return None
        pos += 1
        got = _read_len(sig, pos)
        if got is None:
            return None
        length, pos = got
        if length > n - pos:
            return None
        start = pos
        pos += length
        raw = sig[start:pos].lstrip(b"\x00")
        if len(raw) > 32:
            overflow = True
        values.append(int.from_bytes(raw, "big"))
    r, s = values
    if overflow or r >= CURVE_ORDER or s >= CURVE_ORDER:
        return 0, 0
    return r, s


# --- verification ----------------------------------------------------------------------------


def _pubkey_len(header: int) -> int:
    if header in (2, 3):
        return COMPRESSED_PUBKEY_SIZE
    if header in (4, 6, 7):
        return UNCOMPRESSED_PUBKEY_SIZE
    return 0


def ecdsa_compact(pubkey: bytes, der_sig: bytes, strict_der: bool = False) -> bytes | None:
    """The 64-byte r||s (S normalized to low) that CPubKey::Verify would check, or None where it
    fails before libsecp256k1 (a key of the wrong length for its header byte, an unparseable or
    zero signature). `strict_der`: the caller knows `der_sig` + a hash type passed
    `is_valid_signature_encoding`, so r and s are sliced out, not parsed (the same values)."""
    if not pubkey or _pubkey_len(pubkey[0]) != len(pubkey):
        return None
    if strict_der:
        len_r = der_sig[3]
        r = int.from_bytes(der_sig[4 : 4 + len_r], "big")
        s = int.from_bytes(der_sig[6 + len_r :], "big")
        # The lax parser gives (0, 0) for a value over 32 bytes or not below the order.
        if r >= CURVE_ORDER or s >= CURVE_ORDER:
            return None
    else:
        parsed = parse_der_lax(der_sig)
        if parsed is None:
            return None
        r, s = parsed
    if r == 0 or s == 0:
        return None
    if s > HALF_ORDER:
        s = CURVE_ORDER - s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify_compact(pubkey: bytes, sig64: bytes, msg32: bytes) -> bool:
    """libsecp256k1's part of CPubKey::Verify: parse the key, then verify the low-S r||s."""
    c_pub = _ffi.new("secp256k1_pubkey *")
    if not _lib.secp256k1_ec_pubkey_parse(_CTX, c_pub, pubkey, len(pubkey)):
        return False
    c_sig = _ffi.new("secp256k1_ecdsa_signature *")
    if not _lib.secp256k1_ecdsa_signature_parse_compact(_CTX, c_sig, sig64):
        return False
    return bool(_lib.secp256k1_ecdsa_verify(_CTX, c_sig, msg32, c_pub))


def verify_ecdsa(pubkey: bytes, der_sig: bytes, msg32: bytes) -> bool:
    """Core's CPubKey::Verify: lax-DER signature, S normalized to low, any parseable key form."""
    sig64 = ecdsa_compact(pubkey, der_sig)
    return sig64 is not None and verify_compact(pubkey, sig64, msg32)


def _xonly(pubkey32: bytes) -> Any | None:
    c_pub = _ffi.new("secp256k1_xonly_pubkey *")
    if not _lib.secp256k1_xonly_pubkey_parse(_CTX, c_pub, pubkey32):
        return None
    return c_pub


def verify_schnorr(pubkey32: bytes, sig64: bytes, msg32: bytes) -> bool:
    """BIP340 verification of a 64-byte signature against an x-only key."""
    if len(pubkey32) != 32 or len(sig64) != 64 or len(msg32) != 32:
        return False
    c_pub = _xonly(pubkey32)
    if c_pub is None:
        return False
    return bool(_lib.secp256k1_schnorrsig_verify(_CTX, sig64, msg32, 32, c_pub))


def taptweak_hash(internal_key: bytes, merkle_root: bytes | None) -> bytes:
    return tagged_hash("TapTweak", internal_key + (merkle_root or b""))


def check_tap_tweak(
    output_key: bytes, internal_key: bytes, merkle_root: bytes, parity: int
) -> bool:
    """BIP341: is `output_key` (with Y parity `parity`) the internal key tweaked by the merkle root?"""
    c_internal = _xonly(internal_key)
    if c_internal is None:
        return False
    tweak = taptweak_hash(internal_key, merkle_root)
    return bool(
        _lib.secp256k1_xonly_pubkey_tweak_add_check(_CTX, output_key, parity, c_internal, tweak)
    )


def tweak_xonly_pubkey(internal_key: bytes, merkle_root: bytes | None) -> tuple[bytes, int] | None:
    """BIP341 output key and its parity for an internal key and optional script-tree root."""
    c_internal = _xonly(internal_key)
    if c_internal is None:
        return None
    tweak = taptweak_hash(internal_key, merkle_root)
    c_full = _ffi.new("secp256k1_pubkey *")
    if not _lib.secp256k1_xonly_pubkey_tweak_add(_CTX, c_full, c_internal, tweak):
        return None
    c_out = _ffi.new("secp256k1_xonly_pubkey *")
    parity = _ffi.new("int *")
    if not _lib.secp256k1_xonly_pubkey_from_pubkey(_CTX, c_out, parity, c_full):
        return None
    out = _ffi.new("unsigned char[32]")
    _lib.secp256k1_xonly_pubkey_serialize(_CTX, out, c_out)
    return bytes(_ffi.buffer(out, 32)), int(parity[0])
