"""Unit tests for script primitives: CScriptNum, pushes, parsing, templates, sigops, DER/ECDSA checks."""

from __future__ import annotations

import pytest
from coincurve import PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from hashforge.consensus.ecc import (
    CURVE_ORDER,
    HALF_ORDER,
    is_compressed_or_uncompressed_pubkey,
    is_low_s,
    is_valid_signature_encoding,
    parse_der_lax,
    verify_ecdsa,
)
from hashforge.consensus.hashes import hash160
from hashforge.consensus.interpreter import (
    ScriptError,
    ScriptFlags,
    SignatureChecker,
    SigVersion,
    count_witness_sigops,
    eval_script,
    transaction_sigop_cost,
)
from hashforge.consensus.script import (
    OP_0,
    OP_1,
    OP_1NEGATE,
    OP_2,
    OP_3,
    OP_16,
    OP_CHECKMULTISIG,
    OP_CHECKMULTISIGVERIFY,
    OP_CHECKSIG,
    OP_CHECKSIGVERIFY,
    OP_CODESEPARATOR,
    OP_DUP,
    OP_EQUAL,
    OP_EQUALVERIFY,
    OP_HASH160,
    OP_PUSHDATA1,
    OP_PUSHDATA2,
    OP_PUSHDATA4,
    OP_RETURN,
    ScriptNumError,
    ScriptParseError,
    cast_to_bool,
    decode_num,
    encode_num,
    find_and_delete,
    get_op_name,
    get_p2sh_sigop_count,
    get_sigop_count,
    has_valid_ops,
    is_minimal_push,
    is_p2pkh,
    is_p2sh,
    is_p2tr,
    is_p2wpkh,
    is_p2wsh,
    is_push_only,
    is_unspendable,
    iter_ops,
    legacy_sigop_count,
    minimal_push,
    p2sh_sigop_count,
    parse_script,
    push_data,
    push_int,
    witness_program,
    witness_sigop_count,
)
from hashforge.consensus.tx import OutPoint, Transaction, TxIn, TxOut

# --- CScriptNum ---------------------------------------------------------------------------------

KNOWN_NUMS = [
    (0, ""),
    (1, "01"),
    (-1, "81"),
    (127, "7f"),
    (128, "8000"),
    (-128, "8080"),
    (255, "ff00"),
    (-255, "ff80"),
    (256, "0001"),
    (32767, "ff7f"),
    (32768, "008000"),
    (-32768, "008080"),
    (2**31 - 1, "ffffff7f"),
    (-(2**31 - 1), "ffffffff"),
    (2**31, "0000008000"),
]


@pytest.mark.parametrize(("n", "hex_"), KNOWN_NUMS)
def test_script_num_known_encodings(n: int, hex_: str) -> None:
    assert encode_num(n).hex() == hex_
    assert decode_num(bytes.fromhex(hex_), require_minimal=True, max_size=5) == n


@given(st.integers(min_value=-(2**39) + 1, max_value=2**39 - 1))
def test_script_num_roundtrip(n: int) -> None:
    data = encode_num(n)
    assert len(data) <= 5
    assert decode_num(data, require_minimal=True, max_size=5) == n


def test_script_num_limits_and_minimality() -> None:
    with pytest.raises(ScriptNumError):
        decode_num(b"\x00\x00\x00\x80\x00")  # 5 bytes with the default 4-byte limit
    assert decode_num(b"\x00\x00\x00\x80\x00", max_size=5) == 2**31
    for non_minimal in ("00", "80", "0100", "0180", "ff0000"):
        with pytest.raises(ScriptNumError):
            decode_num(bytes.fromhex(non_minimal), require_minimal=True)
    # without the minimality rule those are fine, including negative zero
    assert decode_num(bytes.fromhex("80")) == 0
    assert decode_num(bytes.fromhex("0100")) == 1
    assert decode_num(bytes.fromhex("0180")) == -1
    # 0xff needs a padding byte to stay positive: ff00 is minimal
    assert decode_num(bytes.fromhex("ff00"), require_minimal=True) == 255


def test_cast_to_bool() -> None:
    assert not cast_to_bool(b"")
    assert not cast_to_bool(b"\x00\x00")
    assert not cast_to_bool(b"\x80")
    assert not cast_to_bool(b"\x00\x80")
    assert cast_to_bool(b"\x80\x00")
    assert cast_to_bool(b"\x01")


# --- pushes and parsing ---------------------------------------------------------------------------


def test_push_data_forms() -> None:
    assert push_data(b"") == b"\x00"
    assert push_data(b"\x05") == b"\x01\x05"  # never OP_5: Core's CScript << vector
    assert push_data(b"a" * 75)[:1] == b"\x4b"
    assert push_data(b"a" * 76)[:2] == bytes([OP_PUSHDATA1, 76])
    assert push_data(b"a" * 256)[:3] == bytes([OP_PUSHDATA2, 0, 1])
    assert push_data(b"a" * 65536)[:5] == bytes([OP_PUSHDATA4, 0, 0, 1, 0])


def test_minimal_push_and_check() -> None:
    assert minimal_push(b"") == bytes([OP_0])
    assert minimal_push(b"\x10") == bytes([OP_16])
    assert minimal_push(b"\x81") == bytes([OP_1NEGATE])
    assert minimal_push(b"\x11") == b"\x01\x11"
    for data in (b"", b"\x01", b"\x81", b"\x11", b"x" * 75, b"x" * 76, b"x" * 300):
        op = next(iter_ops(minimal_push(data)))
        assert is_minimal_push(op.opcode, op.data or b"") or op.opcode > OP_PUSHDATA4
    assert not is_minimal_push(1, b"\x05")  # should be OP_5
    assert not is_minimal_push(OP_PUSHDATA1, b"x" * 10)
    assert not is_minimal_push(OP_PUSHDATA2, b"x" * 200)
    assert is_minimal_push(OP_PUSHDATA2, b"x" * 300)


def test_push_int_as_core_writes_numbers() -> None:
    assert push_int(0) == bytes([OP_0])
    assert push_int(-1) == bytes([OP_1NEGATE])
    assert push_int(16) == bytes([OP_16])
    assert push_int(17) == b"\x01\x11"
    assert push_int(-2) == b"\x01\x82"
    assert push_int(1000) == b"\x02\xe8\x03"


def test_iter_ops_and_truncated_pushes() -> None:
    script = push_data(b"abc") + bytes([OP_DUP, OP_1])
    ops = list(iter_ops(script))
    assert [(o.opcode, o.data) for o in ops] == [(3, b"abc"), (OP_DUP, None), (OP_1, None)]
    assert [(o.start, o.end) for o in ops] == [(0, 4), (4, 5), (5, 6)]
    for truncated in (b"\x02\x00", b"\x4c", b"\x4d\x01", b"\x4e\x05\x00\x00\x00abc"):
        with pytest.raises(ScriptParseError):
            list(iter_ops(bytes([OP_DUP]) + truncated))
    assert not has_valid_ops(b"\x02\x00")
    assert not has_valid_ops(bytes([0xBA]))  # above OP_NOP10
    assert has_valid_ops(bytes([OP_DUP, OP_CHECKSIG]))
    assert get_op_name(OP_CHECKSIG) == "OP_CHECKSIG"
    assert get_op_name(0xB1) == "OP_CHECKLOCKTIMEVERIFY"
    assert get_op_name(OP_0) == "0"
    assert get_op_name(0xFE) == "OP_UNKNOWN"


def test_find_and_delete() -> None:
    sig = push_data(b"\x30\x01")
    # op-aligned matches only
    assert find_and_delete(sig + bytes([OP_CHECKSIG]) + sig, sig) == (bytes([OP_CHECKSIG]), 2)
    inside = push_data(sig)  # the pattern is inside another push: not op-aligned
    assert find_and_delete(inside, sig) == (inside, 0)
    # consecutive matches
    assert find_and_delete(sig * 3, sig) == (b"", 3)
    # Core's examples (script_tests.cpp script_FindAndDelete)
    assert find_and_delete(bytes.fromhex("0302ff030302ff03"), bytes.fromhex("0302ff03")) == (b"", 2)
    assert find_and_delete(bytes.fromhex("0302ff030302ff03"), bytes.fromhex("02")) == (
        bytes.fromhex("0302ff030302ff03"),
        0,
    )
    assert find_and_delete(bytes.fromhex("0302ff030302ff03"), bytes.fromhex("ff")) == (
        bytes.fromhex("0302ff030302ff03"),
        0,
    )
    # a match can resync parsing: 0x02 0x03 0x02 0x04 0x03 ...
    assert find_and_delete(bytes.fromhex("0003feed"), bytes.fromhex("03feed")) == (b"\x00", 1)
    assert find_and_delete(bytes.fromhex("00"), b"") == (b"\x00", 0)


# --- templates -----------------------------------------------------------------------------------

H20 = bytes(range(20))
H32 = bytes(range(32))
P2PKH = bytes([OP_DUP, OP_HASH160]) + push_data(H20) + bytes([OP_EQUALVERIFY, OP_CHECKSIG])
P2SH = bytes([OP_HASH160]) + push_data(H20) + bytes([OP_EQUAL])


def test_classification() -> None:
    assert is_p2pkh(P2PKH) and not is_p2sh(P2PKH)
    assert is_p2sh(P2SH) and not is_p2pkh(P2SH)
    assert is_p2wpkh(b"\x00\x14" + H20) and witness_program(b"\x00\x14" + H20) == (0, H20)
    assert is_p2wsh(b"\x00\x20" + H32) and not is_p2wpkh(b"\x00\x20" + H32)
    assert is_p2tr(b"\x51\x20" + H32) and witness_program(b"\x51\x20" + H32) == (1, H32)
    assert witness_program(b"\x60\x02\xab\xcd") == (16, b"\xab\xcd")
    assert witness_program(b"\x00\x01\xab") is None  # program shorter than 2
    assert witness_program(b"\x00\x29" + bytes(41)) is None  # longer than 40
    assert witness_program(b"\x4f\x02\xab\xcd") is None  # OP_1NEGATE is not a version
    assert is_unspendable(bytes([OP_RETURN])) and not is_unspendable(P2PKH)
    assert is_unspendable(bytes(10_001))
    assert is_push_only(push_data(b"x") + bytes([OP_1, OP_16, OP_1NEGATE, 0x50]))
    assert not is_push_only(bytes([OP_DUP]))
    assert not is_push_only(b"\x02\x00")


# --- sigops --------------------------------------------------------------------------------------


def _counted_by_parsing(script: bytes, accurate: bool) -> int:
    n, last = 0, -1
    for op in parse_script(script).ops:  # up to a truncated push, as the count stops there
        if op.opcode in (OP_CHECKSIG, OP_CHECKSIGVERIFY):
            n += 1
        elif op.opcode in (OP_CHECKMULTISIG, OP_CHECKMULTISIGVERIFY):
            n += last - OP_1 + 1 if accurate and OP_1 <= last <= OP_16 else 20
        last = op.opcode
    return n


_SIGOP_BYTES = st.sampled_from([0x00, 0x01, 0x14, 0x20, 0x4B, 0x51, 0x53, 0x60, 0xAC, 0xAD, 0xAE, 0xAF])


@given(st.lists(st.integers(0, 255) | _SIGOP_BYTES, max_size=45).map(bytes), st.booleans(), st.booleans())
def test_sigop_count_shortcuts_agree_with_parsing(script: bytes, as_program: bool, accurate: bool) -> None:
    if as_program and len(script) >= 2:
        script = script[:1] + bytes([len(script) - 2]) + script[2:]  # OP_? then one push of the rest
    assert get_sigop_count(script, accurate) == _counted_by_parsing(script, accurate)


def test_sigop_counting() -> None:
    multisig = bytes([OP_2]) + push_data(bytes(33)) * 3 + bytes([OP_3, OP_CHECKMULTISIG])
    assert get_sigop_count(multisig, accurate=True) == 3
    assert get_sigop_count(multisig, accurate=False) == 20
    # without a small-number key count even the accurate count assumes 20
    assert get_sigop_count(push_data(b"\x03") + bytes([OP_CHECKMULTISIG]), accurate=True) == 20
    assert get_sigop_count(bytes([OP_CHECKSIG, OP_CHECKSIGVERIFY, OP_CODESEPARATOR]), True) == 2
    # counting stops at a truncated push
    assert get_sigop_count(bytes([OP_CHECKSIG]) + b"\x05\xac" + bytes([OP_CHECKSIG]), True) == 1

    # the shortcuts: witness programs, and scripts without any signature-opcode byte
    assert get_sigop_count(b"\x00\x14" + bytes(19) + b"\xae", False) == 0
    assert get_sigop_count(b"\x51\x20" + b"\xac" * 32, False) == 0
    assert get_sigop_count(b"\x00\x13" + bytes(19) + b"\xae", False) == 20  # a push short of the end

    redeem = multisig
    p2sh = bytes([OP_HASH160]) + push_data(hash160(redeem)) + bytes([OP_EQUAL])
    assert get_p2sh_sigop_count(p2sh, push_data(b"sig") + push_data(redeem)) == 3
    assert get_p2sh_sigop_count(p2sh, bytes([OP_DUP]) + push_data(redeem)) == 0  # not push-only
    assert get_p2sh_sigop_count(P2PKH, b"") == 1

    wsh = b"\x00\x20" + H32
    assert witness_sigop_count(b"", wsh, [b"", redeem]) == 3
    assert witness_sigop_count(b"", b"\x00\x14" + H20, [b"s", b"k"]) == 1
    assert witness_sigop_count(b"", b"\x51\x20" + H32, [b"s"]) == 0  # taproot: budgeted instead
    nested = b"\x00\x14" + H20
    p2sh_nested = bytes([OP_HASH160]) + push_data(hash160(nested)) + bytes([OP_EQUAL])
    assert witness_sigop_count(push_data(nested), p2sh_nested, [b"s", b"k"]) == 1
    flags = ScriptFlags.P2SH | ScriptFlags.WITNESS
    assert count_witness_sigops(b"", wsh, [b"", redeem], flags) == 3
    assert count_witness_sigops(b"", wsh, [b"", redeem], ScriptFlags.P2SH) == 0


def test_transaction_sigop_cost() -> None:
    redeem = bytes([OP_1]) + push_data(bytes(33)) + bytes([OP_1, OP_CHECKMULTISIG])
    p2sh = bytes([OP_HASH160]) + push_data(hash160(redeem)) + bytes([OP_EQUAL])
    spent = [TxOut(1, p2sh), TxOut(1, P2PKH), TxOut(1, b"\x00\x14" + H20)]
    tx = Transaction(
        vin=(
            TxIn(OutPoint(b"\x01" * 32, 0), push_data(b"sig") + push_data(redeem)),
            TxIn(OutPoint(b"\x01" * 32, 1), push_data(b"sig") + push_data(bytes(33))),
            TxIn(OutPoint(b"\x01" * 32, 2), b"", witness=(b"sig", bytes(33))),
        ),
        vout=(TxOut(1, P2PKH), TxOut(1, bytes([OP_CHECKMULTISIG]))),
    )
    assert legacy_sigop_count(tx) == 1 + 20  # outputs only: scriptSigs hold pushes
    assert p2sh_sigop_count(tx, spent) == 1
    flags = ScriptFlags.P2SH | ScriptFlags.WITNESS
    assert transaction_sigop_cost(tx, spent, flags) == 4 * 21 + 4 * 1 + 1
    assert transaction_sigop_cost(tx, spent, ScriptFlags.NONE) == 4 * 21


# --- DER / pubkey encodings and ECDSA ---------------------------------------------------------


def _der(r: bytes, s: bytes, hash_type: int | None = 1) -> bytes:
    body = b"\x02" + bytes([len(r)]) + r + b"\x02" + bytes([len(s)]) + s
    return (
        b"\x30" + bytes([len(body)]) + body + (bytes([hash_type]) if hash_type is not None else b"")
    )


def test_strict_der_rules() -> None:
    good = _der(b"\x01" * 32, b"\x02" * 32)
    assert is_valid_signature_encoding(good)
    assert is_valid_signature_encoding(_der(b"\x00\x80" + b"\x01" * 31, b"\x01"))  # padded: needed
    assert not is_valid_signature_encoding(_der(b"\x00\x01", b"\x01"))  # needless padding
    assert not is_valid_signature_encoding(_der(b"\x80", b"\x01"))  # negative R
    assert not is_valid_signature_encoding(_der(b"\x01", b"\x81"))  # negative S
    assert not is_valid_signature_encoding(_der(b"", b"\x01"))  # empty R
    assert not is_valid_signature_encoding(good[:-2] + good[-1:])  # length mismatch
    assert not is_valid_signature_encoding(b"\x31" + good[1:])  # not a SEQUENCE
    assert not is_valid_signature_encoding(good[:8])  # too short
    assert not is_valid_signature_encoding(_der(b"\x01" * 34, b"\x01" * 34))  # too long (> 73)
    assert is_compressed_or_uncompressed_pubkey(b"\x02" + bytes(32))
    assert is_compressed_or_uncompressed_pubkey(b"\x04" + bytes(64))
    assert not is_compressed_or_uncompressed_pubkey(b"\x06" + bytes(64))  # hybrid
    assert not is_compressed_or_uncompressed_pubkey(b"\x04" + bytes(32))


def test_lax_der_and_low_s() -> None:
    assert parse_der_lax(_der(b"\x00\x00\x05", b"\x07", None)) == (5, 7)
    # long-form lengths are accepted by the lax parser
    body = b"\x02\x81\x01\x05\x02\x01\x07"
    assert parse_der_lax(b"\x30\x81" + bytes([len(body)]) + body) == (5, 7)
    assert parse_der_lax(b"\x31\x00") is None
    # a value of 33 significant bytes overflows: parsed but never valid
    assert parse_der_lax(_der(b"\x01" * 33, b"\x01", None)) == (0, 0)
    high = (CURVE_ORDER - 1).to_bytes(32, "big")
    low = HALF_ORDER.to_bytes(32, "big")
    assert not is_low_s(_der(b"\x01", b"\x00" + high, None))
    assert is_low_s(_der(b"\x01", low, None))


def test_ecdsa_verify_like_core() -> None:
    key = PrivateKey(b"\x11" * 32)
    msg = b"\x42" * 32
    sig = key.sign(msg, hasher=None)  # strict DER, low S
    pub = key.public_key.format(compressed=True)
    assert verify_ecdsa(pub, sig, msg)
    assert verify_ecdsa(key.public_key.format(compressed=False), sig, msg)
    assert not verify_ecdsa(pub, sig, b"\x43" * 32)
    assert not verify_ecdsa(pub[:-1], sig, msg)
    # the high-S twin is valid too (consensus does not require low S)
    r, s = parse_der_lax(sig) or (0, 0)
    s_high = (CURVE_ORDER - s).to_bytes(32, "big")
    high_sig = _der(r.to_bytes(32, "big").lstrip(b"\x00"), b"\x00" + s_high, None)
    assert not is_low_s(high_sig)
    assert verify_ecdsa(pub, high_sig, msg)
    # hybrid keys (0x06/0x07) parse, as libsecp256k1 accepts them
    uncompressed = key.public_key.format(compressed=False)
    hybrid = bytes([6 + (uncompressed[-1] & 1)]) + uncompressed[1:]
    assert verify_ecdsa(hybrid, sig, msg)


def test_eval_script_basics() -> None:
    checker = SignatureChecker()
    stack: list[bytes] = []
    assert eval_script(stack, bytes([OP_1, OP_2, 0x93]), ScriptFlags.NONE, checker) is None  # ADD
    assert stack == [b"\x03"]
    assert eval_script([], bytes([0x63]), ScriptFlags.NONE, checker) == (
        ScriptError.INVALID_STACK_OPERATION
    )
    assert eval_script([b"\x01"], bytes([0x63]), ScriptFlags.NONE, checker) == (
        ScriptError.UNBALANCED_CONDITIONAL
    )
    assert eval_script([], b"\x02\x01", ScriptFlags.NONE, checker) == ScriptError.BAD_OPCODE
    assert eval_script([], bytes([OP_RETURN]), ScriptFlags.NONE, checker) == ScriptError.OP_RETURN
    assert eval_script([], bytes(10_001), ScriptFlags.NONE, checker) == ScriptError.SCRIPT_SIZE
    # tapscript has no script size limit
    big = bytes([OP_1]) + bytes([0x75, OP_1]) * 5_001  # 1 (DROP 1)*
    assert eval_script([], big, ScriptFlags.NONE, checker, SigVersion.TAPSCRIPT) is None
