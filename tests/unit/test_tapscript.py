"""Taproot and tapscript (BIP341/342) with real Schnorr signatures: the rules the vectors barely reach."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from coincurve import PrivateKey, PublicKeyXOnly

from hashforge.consensus.ecc import CURVE_ORDER, taptweak_hash
from hashforge.consensus.interpreter import (
    MANDATORY_SCRIPT_VERIFY_FLAGS,
    STANDARD_SCRIPT_VERIFY_FLAGS,
    ScriptError,
    ScriptFlags,
    verify_input,
)
from hashforge.consensus.script import (
    OP_1,
    OP_2,
    OP_CHECKMULTISIG,
    OP_CHECKSIG,
    OP_CHECKSIGADD,
    OP_CHECKSIGVERIFY,
    OP_CODESEPARATOR,
    OP_DROP,
    OP_DUP,
    OP_ELSE,
    OP_ENDIF,
    OP_IF,
    OP_NUMEQUAL,
    push_data,
)
from hashforge.consensus.sighash import PrecomputedTxData, taproot_sighash
from hashforge.consensus.taproot import (
    TAPROOT_LEAF_TAPSCRIPT,
    tapleaf_hash,
    taproot_output_key,
)
from hashforge.consensus.tx import OutPoint, Transaction, TxIn, TxOut

KEYS = [PrivateKey(bytes([i + 1]) * 32) for i in range(3)]
XONLY = [PublicKeyXOnly.from_secret(k.secret).format() for k in KEYS]
INTERNAL = KEYS[2]
INTERNAL_X = XONLY[2]
STANDARD = STANDARD_SCRIPT_VERIFY_FLAGS
MANDATORY = MANDATORY_SCRIPT_VERIFY_FLAGS

Signer = Callable[[Transaction, PrecomputedTxData, bytes | None], list[bytes]]


def _unsigned_tx() -> Transaction:
    return Transaction(
        version=2,
        vin=(TxIn(OutPoint(b"\xaa" * 32, 0), b"", 0xFFFFFFFE),),
        vout=(TxOut(90_000, b"\x51\x20" + b"\x01" * 32),),
        locktime=0,
    )


def script_path(
    script: bytes,
    make_stack: Signer | None = None,
    *,
    leaf_version: int = TAPROOT_LEAF_TAPSCRIPT,
    annex: bytes | None = None,
    flags: int = STANDARD,
    control_override: bytes | None = None,
    extra_stack: Sequence[bytes] = (),
) -> ScriptError | None:
    """Spends a one-leaf taproot output through `script` with the stack `make_stack` returns."""
    leaf = tapleaf_hash(leaf_version, script)
    output_key, parity = taproot_output_key(INTERNAL_X, leaf)
    spent = TxOut(100_000, b"\x51\x20" + output_key)
    tx = _unsigned_tx()
    txdata = PrecomputedTxData(tx, [spent])
    stack = (make_stack(tx, txdata, annex) if make_stack else []) + list(extra_stack)
    control = control_override or bytes([leaf_version | parity]) + INTERNAL_X
    witness = (*stack, script, control, *([annex] if annex is not None else []))
    signed = Transaction(
        tx.version, (TxIn(tx.vin[0].prevout, b"", tx.vin[0].sequence, witness),), tx.vout
    )
    return verify_input(signed, 0, spent, flags, [spent])


def sig_for(
    key: int, script: bytes, *, hash_type: int = 0, codesep_pos: int = 0xFFFFFFFF
) -> Signer:
    def make(tx: Transaction, txdata: PrecomputedTxData, annex: bytes | None) -> list[bytes]:
        leaf = tapleaf_hash(TAPROOT_LEAF_TAPSCRIPT, script)
        msg = taproot_sighash(
            txdata, 0, hash_type, annex=annex, tapleaf_hash=leaf, codesep_pos=codesep_pos
        )
        assert msg is not None
        sig = KEYS[key].sign_schnorr(msg, b"\x00" * 32)
        return [sig + (bytes([hash_type]) if hash_type else b"")]

    return make


def checksig_script(key: int) -> bytes:
    return push_data(XONLY[key]) + bytes([OP_CHECKSIG])


def test_checksig_valid_invalid_and_empty() -> None:
    script = checksig_script(0)
    assert script_path(script, sig_for(0, script)) is None
    assert script_path(script, sig_for(1, script)) == ScriptError.SCHNORR_SIG
    assert script_path(script, lambda *_: [b""]) == ScriptError.EVAL_FALSE
    assert script_path(script, lambda *_: [b"\x01" * 63]) == ScriptError.SCHNORR_SIG_SIZE


def test_hash_types() -> None:
    script = checksig_script(0)
    for hash_type in (0x01, 0x02, 0x03, 0x81, 0x82, 0x83):
        assert script_path(script, sig_for(0, script, hash_type=hash_type)) is None

    # an explicit 0x00 byte is not allowed; undefined types fail
    def explicit_default(tx: Transaction, d: PrecomputedTxData, a: bytes | None) -> list[bytes]:
        return [sig_for(0, script)(tx, d, a)[0] + b"\x00"]

    assert script_path(script, explicit_default) == ScriptError.SCHNORR_SIG_HASHTYPE

    def undefined(tx: Transaction, d: PrecomputedTxData, a: bytes | None) -> list[bytes]:
        return [sig_for(0, script)(tx, d, a)[0] + b"\x04"]

    assert script_path(script, undefined) == ScriptError.SCHNORR_SIG_HASHTYPE


def test_checksigadd_threshold() -> None:
    script = (
        push_data(XONLY[0])
        + bytes([OP_CHECKSIG])
        + push_data(XONLY[1])
        + bytes([OP_CHECKSIGADD])
        + push_data(XONLY[2])
        + bytes([OP_CHECKSIGADD, OP_2, OP_NUMEQUAL])
    )

    def two_of_three(skip: int) -> Signer:
        def make(tx: Transaction, d: PrecomputedTxData, a: bytes | None) -> list[bytes]:
            sigs = [b"" if k == skip else sig_for(k, script)(tx, d, a)[0] for k in range(3)]
            return sigs[::-1]  # the first key's signature is on top

        return make

    for skip in range(3):
        assert script_path(script, two_of_three(skip)) is None
    assert script_path(script, lambda *_: [b"", b"", b""]) == ScriptError.EVAL_FALSE


def test_checkmultisig_is_gone() -> None:
    script = bytes([OP_1]) + push_data(XONLY[0]) + bytes([OP_1, OP_CHECKMULTISIG])
    err = script_path(script, lambda *_: [b"", b""])
    assert err == ScriptError.TAPSCRIPT_CHECKMULTISIG


def test_codeseparator_position_is_signed() -> None:
    script = bytes([OP_CODESEPARATOR]) + checksig_script(0)
    assert script_path(script, sig_for(0, script, codesep_pos=0)) is None
    assert script_path(script, sig_for(0, script)) == ScriptError.SCHNORR_SIG


def test_annex_is_committed() -> None:
    script = checksig_script(0)
    assert script_path(script, sig_for(0, script), annex=b"\x50\xde\xad") is None

    def signed_without_annex(tx: Transaction, d: PrecomputedTxData, a: bytes | None) -> list[bytes]:
        return sig_for(0, script)(tx, d, None)

    assert (
        script_path(script, signed_without_annex, annex=b"\x50\xde\xad") == ScriptError.SCHNORR_SIG
    )


def test_minimalif_is_consensus() -> None:
    script = bytes([OP_IF, OP_1, OP_ELSE, OP_1, OP_ENDIF])
    assert script_path(script, lambda *_: [b"\x01"], flags=MANDATORY) is None
    assert script_path(script, lambda *_: [b""], flags=MANDATORY) is None
    assert script_path(script, lambda *_: [b"\x02"], flags=MANDATORY) == (
        ScriptError.TAPSCRIPT_MINIMALIF
    )


def test_op_success_and_unknown_leaf_versions() -> None:
    # OP_SUCCESS80 wins over everything, even a later truncated push
    assert script_path(b"\x50\x4c", flags=MANDATORY) is None
    assert script_path(b"\x50", flags=STANDARD) == ScriptError.DISCOURAGE_OP_SUCCESS
    assert script_path(b"\x4c", flags=MANDATORY) == ScriptError.BAD_OPCODE
    assert script_path(b"\x51", leaf_version=0xC2, flags=MANDATORY) is None
    assert script_path(b"\x00", leaf_version=0xC2, flags=STANDARD) == (
        ScriptError.DISCOURAGE_UPGRADABLE_TAPROOT_VERSION
    )


def test_control_block_checks() -> None:
    script = bytes([OP_1])
    assert script_path(script, control_override=b"\xc0" + INTERNAL_X + b"\x00") == (
        ScriptError.TAPROOT_WRONG_CONTROL_SIZE
    )
    assert script_path(script, control_override=b"\xc0" + XONLY[0]) == (
        ScriptError.WITNESS_PROGRAM_MISMATCH
    )


def test_pubkey_types() -> None:
    empty_key = bytes([0x00, OP_CHECKSIG])
    assert script_path(empty_key, lambda *_: [b"\x01" * 64]) == ScriptError.TAPSCRIPT_EMPTY_PUBKEY
    unknown = push_data(b"\x02" * 33) + bytes([OP_CHECKSIG])
    # an unknown key type succeeds for any non-empty signature (reserved for soft forks)
    assert script_path(unknown, lambda *_: [b"\x01"], flags=MANDATORY) is None
    assert script_path(unknown, lambda *_: [b"\x01"], flags=STANDARD) == (
        ScriptError.DISCOURAGE_UPGRADABLE_PUBKEYTYPE
    )


def test_validation_weight_budget() -> None:
    def repeated(n: int) -> bytes:
        one = bytes([OP_DUP]) + push_data(XONLY[0]) + bytes([OP_CHECKSIGVERIFY])
        return one * n + checksig_script(0)

    # every passed check costs 50 out of (witness size + 50)
    assert script_path(repeated(2), sig_for(0, repeated(2))) is None
    assert script_path(repeated(10), sig_for(0, repeated(10))) == (
        ScriptError.TAPSCRIPT_VALIDATION_WEIGHT
    )
    # padding the witness buys budget
    pad_items = [b"\x00" * 80] * 6
    script = bytes([OP_DROP]) * 6 + repeated(10)
    assert script_path(script, sig_for(0, script), extra_stack=pad_items) is None


def test_stack_limits() -> None:
    many = [b""] * 1001
    assert script_path(bytes([OP_1]), lambda *_: many, flags=MANDATORY) == ScriptError.STACK_SIZE
    big = [b"\x00" * 521]
    assert script_path(bytes([OP_DROP, OP_1]), lambda *_: big, flags=MANDATORY) == (
        ScriptError.PUSH_SIZE
    )


# --- key path -------------------------------------------------------------------------------------


def _tweaked_secret(merkle_root: bytes | None) -> PrivateKey:
    d = INTERNAL.to_int()
    if INTERNAL.public_key.format(compressed=True)[0] == 3:
        d = CURVE_ORDER - d  # BIP340 keys are the even-Y lift of the x coordinate
    t = int.from_bytes(taptweak_hash(INTERNAL_X, merkle_root), "big")
    return PrivateKey.from_int((d + t) % CURVE_ORDER)


@pytest.mark.parametrize("annex", [None, b"\x50"])
def test_key_path(annex: bytes | None) -> None:
    output_key, _ = taproot_output_key(INTERNAL_X, None)
    spent = TxOut(100_000, b"\x51\x20" + output_key)
    tx = _unsigned_tx()
    txdata = PrecomputedTxData(tx, [spent])
    msg = taproot_sighash(txdata, 0, 0, annex=annex)
    assert msg is not None
    sig = _tweaked_secret(None).sign_schnorr(msg, b"\x00" * 32)

    def spend(witness: tuple[bytes, ...], flags: int = STANDARD) -> ScriptError | None:
        signed = Transaction(
            tx.version, (TxIn(tx.vin[0].prevout, b"", 0xFFFFFFFE, witness),), tx.vout
        )
        return verify_input(signed, 0, spent, flags, [spent])

    tail = (annex,) if annex is not None else ()
    assert spend((sig, *tail)) is None
    assert spend((sig[:-1] + bytes([sig[-1] ^ 1]), *tail)) == ScriptError.SCHNORR_SIG
    assert spend(()) == ScriptError.WITNESS_PROGRAM_WITNESS_EMPTY
    # without the TAPROOT flag, v1 outputs are anyone-can-spend, even for policy (as in Core)
    no_taproot = ScriptFlags.P2SH | ScriptFlags.WITNESS
    assert spend((b"junk",), no_taproot) is None
    assert spend((b"junk",), no_taproot | ScriptFlags.DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM) is None


def test_wrapped_or_anchor_v1_programs_are_not_taproot() -> None:
    from hashforge.consensus.hashes import hash160

    program = b"\x51\x20" + b"\x07" * 32
    p2sh = b"\xa9" + push_data(hash160(program)) + b"\x87"
    tx = _unsigned_tx()
    for spk, script_sig, witness in (
        (p2sh, push_data(program), (b"anything",)),  # P2SH-wrapped: an unknown program
        (b"\x51\x02\x4e\x73", b"", ()),  # pay-to-anchor: anyone can spend, standard too
    ):
        spent = TxOut(1000, spk)
        signed = Transaction(
            tx.version, (TxIn(tx.vin[0].prevout, script_sig, 1, witness),), tx.vout
        )
        assert verify_input(signed, 0, spent, MANDATORY, [spent]) is None
        expected = ScriptError.DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM if spk == p2sh else None
        assert verify_input(signed, 0, spent, STANDARD, [spent]) == expected
