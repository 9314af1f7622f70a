"""The P2WPKH fast path (consensus/fastpath.py) against the generic interpreter, input by input.

Spends are signed properly and then mutated (signature, key form, key hash, witness shape,
scriptSig, amount, hash type) and checked under arbitrary flag sets: the fast path, inline and
with its ECDSA check deferred to a signature queue, must give exactly the interpreter's result.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from coincurve import PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashforge.consensus.ecc import CURVE_ORDER, parse_der_lax
from hashforge.consensus.fastpath import NOT_HANDLED, deferred_error, verify_p2wpkh
from hashforge.consensus.hashes import hash160
from hashforge.consensus.interpreter import (
    MANDATORY_SCRIPT_VERIFY_FLAGS,
    STANDARD_SCRIPT_VERIFY_FLAGS,
    ScriptError,
    ScriptFlags,
    verify_input,
    verify_transaction,
)
from hashforge.consensus.script import push_data
from hashforge.consensus.sighash import PrecomputedTxData, segwit_v0_sighash
from hashforge.consensus.sigqueue import native_available, open_sig_queue
from hashforge.consensus.tx import OutPoint, Transaction, TxIn, TxOut

KEY = PrivateKey(b"\x5a" * 32)
OTHER = PrivateKey(b"\xa5" * 32)


def _point(key: PrivateKey) -> tuple[bytes, bytes]:
    full = key.public_key.format(compressed=False)
    return full[1:33], full[33:]


def pubkey_form(form: str) -> bytes:
    x, y = _point(KEY)
    odd = y[-1] & 1
    return {
        "compressed": KEY.public_key.format(compressed=True),
        "uncompressed": b"\x04" + x + y,
        "hybrid": bytes([6 + odd]) + x + y,
        "hybrid_wrong_parity": bytes([7 - odd]) + x + y,
        "other_key": OTHER.public_key.format(compressed=True),
        "not_on_curve": b"\x02" + b"\x00" * 31 + b"\x05",
        "length_mismatch": b"\x02" + x + y,
        "bad_header": b"\x05" + x,
        "empty": b"",
        "oversize": b"\x02" + b"\x01" * 520,
    }[form]


def _der(r: int, s: int) -> bytes:
    def integer(v: int) -> bytes:
        b = v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big")
        if b[0] & 0x80:
            b = b"\x00" + b
        return b"\x02" + bytes([len(b)]) + b

    body = integer(r) + integer(s)
    return b"\x30" + bytes([len(body)]) + body


def mutate_sig(der: bytes, form: str) -> bytes:
    """A DER signature (no hash type) changed as `form` says."""
    parsed = parse_der_lax(der)
    assert parsed is not None
    r, s = parsed
    if form == "valid":
        return der
    if form == "high_s":
        return _der(r, CURVE_ORDER - s)
    if form == "zero_r":
        return _der(0, s)
    if form == "r_over_order":
        return _der(r + CURVE_ORDER if r + CURVE_ORDER < 1 << 256 else CURVE_ORDER, s)
    if form == "padded_r":  # a superfluous leading zero: lax DER accepts it, strict does not
        rb = der[4 : 4 + der[3]]
        body = b"\x02" + bytes([len(rb) + 1]) + b"\x00" + rb + der[4 + der[3] :]
        return b"\x30" + bytes([len(body)]) + body
    if form == "long_length":  # long-form total length
        return b"\x30\x81" + der[1:2] + der[2:]
    if form == "trailing_garbage":
        return der + b"\x01"
    if form == "truncated":
        return der[:-3]
    if form == "flipped_bit":
        return der[:-1] + bytes([der[-1] ^ 1])
    raise AssertionError(form)


SIG_FORMS = (
    "valid", "high_s", "zero_r", "r_over_order", "padded_r", "long_length", "trailing_garbage",
    "truncated", "flipped_bit", "empty", "random", "oversize", "wrong_message", "other_key",
)  # fmt: skip
KEY_FORMS = (
    "compressed", "uncompressed", "hybrid", "hybrid_wrong_parity", "other_key", "not_on_curve",
    "length_mismatch", "bad_header", "empty", "oversize",
)  # fmt: skip
HASH_TYPES = (0x01, 0x02, 0x03, 0x81, 0x82, 0x83, 0x00, 0x04, 0x80, 0x84, 0x41, 0xFF)
_SEGWIT = int(ScriptFlags.P2SH | ScriptFlags.WITNESS)
# Mostly flag sets the fast path applies under (it needs P2SH and WITNESS), some it must refuse.
FLAG_SETS = st.one_of(
    st.sampled_from([int(MANDATORY_SCRIPT_VERIFY_FLAGS), int(STANDARD_SCRIPT_VERIFY_FLAGS)]),
    st.integers(0, (1 << 21) - 1).map(lambda f: f | _SEGWIT),
    st.integers(0, (1 << 21) - 1).map(lambda f: f | _SEGWIT),
    st.integers(0, (1 << 21) - 1),
)


@dataclass(frozen=True)
class Case:
    tx: Transaction
    index: int
    spent: TxOut
    flags: int


@st.composite
def cases(draw: st.DrawFn) -> Case:
    key_form = draw(st.sampled_from(("compressed",) * 8 + ("uncompressed", "hybrid") * 2 + KEY_FORMS))
    pubkey = pubkey_form(key_form)
    program = draw(
        st.sampled_from(["match"] * 12 + ["compressed", "zeros", "negative_zero", "random"])
    )
    if program == "match":
        prog = hash160(pubkey)
    elif program == "compressed":
        prog = hash160(KEY.public_key.format(compressed=True))
    elif program == "zeros":
        prog = b"\x00" * 20
    elif program == "negative_zero":
        prog = b"\x00" * 19 + b"\x80"
    else:
        prog = draw(st.binary(min_size=20, max_size=20))
    amount = draw(st.sampled_from([50_000, 0, 1, -1, 21_000_000 * 10**8, 2**62]))
    index = draw(st.integers(0, 1))
    n_out = draw(st.integers(1, 2))
    spent = TxOut(amount, b"\x00\x14" + prog)
    vin = (TxIn(OutPoint(b"\x01" * 32, 0), b"", 0xFFFFFFFE), TxIn(OutPoint(b"\x02" * 32, 3), b"", 7))
    vout = tuple(TxOut(10 + n, b"\x51") for n in range(n_out))
    unsigned = Transaction(2, vin, vout, 0)

    hash_type = draw(st.sampled_from((0x01,) * 6 + HASH_TYPES))
    signed_type = draw(st.sampled_from((hash_type,) * 4 + HASH_TYPES))  # mostly the type appended
    code = b"\x76\xa9\x14" + prog + b"\x88\xac"
    msg = segwit_v0_sighash(code, unsigned, index, signed_type, amount, PrecomputedTxData(unsigned))
    sig_form = draw(st.sampled_from(("valid",) * 10 + ("empty",) * 2 + SIG_FORMS))
    if sig_form == "empty":
        sig = b""
    elif sig_form == "random":
        sig = draw(st.binary(max_size=80))
    elif sig_form == "oversize":
        sig = b"\x30" + b"\x01" * 520 + bytes([hash_type])
    else:
        signer = OTHER if sig_form == "other_key" else KEY
        signed = bytes(32) if sig_form == "wrong_message" else msg
        der = bytes(signer.sign(signed, hasher=None))
        form = "valid" if sig_form in ("other_key", "wrong_message") else sig_form
        sig = mutate_sig(der, form) + bytes([hash_type])

    witness: tuple[bytes, ...] = (sig, pubkey)
    shape = draw(st.sampled_from(["two"] * 24 + ["one", "none", "extra_first", "extra_last"]))
    if shape == "one":
        witness = (sig,)
    elif shape == "none":
        witness = ()
    elif shape == "extra_first":
        witness = (b"", sig, pubkey)
    elif shape == "extra_last":
        witness = (sig, pubkey, b"\x01")
    script_sig = draw(st.sampled_from([b""] * 24 + [b"\x00", push_data(b"\x01" * 3), b"\x51"]))
    other_witness = draw(st.sampled_from([(), (b"\x01",)]))
    ins = list(unsigned.vin)
    ins[index] = TxIn(ins[index].prevout, script_sig, ins[index].sequence, witness)
    ins[1 - index] = TxIn(ins[1 - index].prevout, b"", ins[1 - index].sequence, other_witness)
    tx = Transaction(2, tuple(ins), vout, 0)
    return Case(tx, index, spent, draw(FLAG_SETS))


def outcome(fn: object, *args: object, **kwargs: object) -> object:
    """The result, or the exception's type: both paths must raise alike too."""
    assert callable(fn)
    try:
        return fn(*args, **kwargs)
    except Exception as e:  # compared, not hidden
        return type(e)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_fast_path_equals_the_interpreter(case: Case) -> None:
    want = outcome(verify_input, case.tx, case.index, case.spent, case.flags, generic=True)
    got = outcome(verify_input, case.tx, case.index, case.spent, case.flags)
    assert got == want


@pytest.mark.skipif(not native_available(), reason="signature queue not built (HASHFORGE_NO_EXT=1)")
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_deferred_fast_path_equals_the_interpreter(case: Case) -> None:
    want = outcome(verify_input, case.tx, case.index, case.spent, case.flags, generic=True)
    queue = open_sig_queue(threads=1)
    assert queue is not None
    try:
        got = outcome(verify_input, case.tx, case.index, case.spent, case.flags, sig_queue=queue, tag=9)
        failed = queue.collect()
    finally:
        queue.close()
    if failed:
        assert failed == [9] and got is None
        got = deferred_error(case.flags)
    assert got == want


def _good_case(flags: int = int(STANDARD_SCRIPT_VERIFY_FLAGS)) -> Case:
    pubkey = KEY.public_key.format(compressed=True)
    spent = TxOut(50_000, b"\x00\x14" + hash160(pubkey))
    unsigned = Transaction(2, (TxIn(OutPoint(b"\x01" * 32, 0)),), (TxOut(40_000, b"\x51"),), 0)
    code = b"\x76\xa9\x14" + hash160(pubkey) + b"\x88\xac"
    msg = segwit_v0_sighash(code, unsigned, 0, 1, spent.value, PrecomputedTxData(unsigned))
    sig = bytes(KEY.sign(msg, hasher=None)) + b"\x01"
    tx = Transaction(2, (TxIn(OutPoint(b"\x01" * 32, 0), b"", 0xFFFFFFFF, (sig, pubkey)),), unsigned.vout, 0)
    return Case(tx, 0, spent, flags)


def test_the_fast_path_decides_a_standard_spend() -> None:
    case = _good_case()
    txdata = PrecomputedTxData(case.tx)
    assert verify_p2wpkh(case.tx, 0, case.spent, case.flags, txdata) is None
    bad = TxOut(50_001, case.spent.script_pubkey)  # the signature commits to the amount
    assert verify_p2wpkh(case.tx, 0, bad, case.flags, txdata) is ScriptError.SIG_NULLFAIL
    assert verify_p2wpkh(case.tx, 0, bad, int(MANDATORY_SCRIPT_VERIFY_FLAGS), txdata) is ScriptError.EVAL_FALSE
    assert verify_transaction(case.tx, [bad], case.flags) == (0, ScriptError.SIG_NULLFAIL)
    # An empty signature is a plain false, never a NULLFAIL.
    empty = Transaction(2, (TxIn(OutPoint(b"\x01" * 32, 0), b"", 0xFFFFFFFF, (b"", case.tx.vin[0].witness[1])),))
    assert verify_p2wpkh(empty, 0, case.spent, case.flags, PrecomputedTxData(empty)) is ScriptError.EVAL_FALSE
    # Not a P2WPKH spend under these flags: the interpreter decides.
    assert verify_p2wpkh(case.tx, 0, case.spent, 0, txdata) is NOT_HANDLED
    assert verify_p2wpkh(case.tx, 0, TxOut(1, b"\x51"), case.flags, txdata) is NOT_HANDLED
