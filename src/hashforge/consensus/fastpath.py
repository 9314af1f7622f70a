"""P2WPKH spends checked without the script interpreter: the same result for every input, faster.

A P2WPKH input (scriptPubKey exactly OP_0 <20 bytes>, empty scriptSig, two witness items, WITNESS
and P2SH on) always runs the same five opcodes, so `verify_p2wpkh` applies their rules in the
interpreter's order (witness item size, key hash, signature and key encoding, BIP143 sighash,
ECDSA, NULLFAIL, the final truth test) and returns the interpreter's exact ScriptError. Any other
shape (including a program that is itself false, which fails before the witness is looked at)
returns NOT_HANDLED and goes to the interpreter. tests/unit/test_fastpath.py compares both on
mutated spends under every flag combination.

With a signature queue, the last step (libsecp256k1's verify) is submitted instead of run: the
input is then valid unless its tag fails at `collect`, and `deferred_error(flags)` is the error
the interpreter would have given.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final

from .ecc import (
    ecdsa_compact,
    is_compressed_or_uncompressed_pubkey,
    is_compressed_pubkey,
    is_low_s,
    is_valid_signature_encoding,
    verify_compact,
)
from .hashes import hash160
from .script import MAX_SCRIPT_ELEMENT_SIZE, cast_to_bool
from .script_flags import ScriptError, ScriptFlags
from .sighash import PrecomputedTxData, segwit_v0_sighash
from .tx import Transaction, TxOut

if TYPE_CHECKING:
    from .sigqueue import SigQueue



class NotHandled(enum.Enum):
    """The input is not a P2WPKH spend this module decides: run the interpreter."""

    NOT_HANDLED = "not handled"


NOT_HANDLED: Final = NotHandled.NOT_HANDLED

_WITNESS_P2SH = ScriptFlags.WITNESS.value | ScriptFlags.P2SH.value
_DER_RULES = ScriptFlags.DERSIG.value | ScriptFlags.LOW_S.value | ScriptFlags.STRICTENC.value
_LOW_S = ScriptFlags.LOW_S.value
_STRICTENC = ScriptFlags.STRICTENC.value
_WITNESS_PUBKEYTYPE = ScriptFlags.WITNESS_PUBKEYTYPE.value
_NULLFAIL = ScriptFlags.NULLFAIL.value

# DUP HASH160 <20 bytes> EQUALVERIFY CHECKSIG, as BIP143's scriptCode with its length prefix.
_CODE_HEAD = b"\x76\xa9\x14"
_CODE_TAIL = b"\x88\xac"


def deferred_error(flags: int) -> ScriptError:
    """The interpreter's error for a P2WPKH input whose (non-empty) signature does not verify."""
    return ScriptError.SIG_NULLFAIL if flags & _NULLFAIL else ScriptError.EVAL_FALSE


def verify_p2wpkh(
    tx: Transaction,
    index: int,
    spent_output: TxOut,
    flags: int,
    txdata: PrecomputedTxData,
    sig_queue: SigQueue | None = None,
    tag: int = 0,
) -> ScriptError | NotHandled | None:
    """None if input `index` is valid (with `sig_queue`: unless `tag` fails), its ScriptError if
    not, or NOT_HANDLED if it is not a P2WPKH spend (or not one under these flags)."""
    spk = spent_output.script_pubkey
    txin = tx.vin[index]
    witness = txin.witness
    if (
        len(spk) != 22
        or spk[0] != 0
        or spk[1] != 20
        or txin.script_sig
        or len(witness) != 2
        or flags & _WITNESS_P2SH != _WITNESS_P2SH
    ):
        return NOT_HANDLED
    program = spk[2:]
    if not cast_to_bool(program):
        return NOT_HANDLED  # EVAL_FALSE from the scriptPubKey itself: the interpreter says so
    sig, pubkey = witness
    if len(sig) > MAX_SCRIPT_ELEMENT_SIZE or len(pubkey) > MAX_SCRIPT_ELEMENT_SIZE:
        return ScriptError.PUSH_SIZE
    if hash160(pubkey) != program:
        return ScriptError.EQUALVERIFY
    # OP_CHECKSIG: CheckSignatureEncoding (an empty signature passes), CheckPubKeyEncoding.
    strict_der = False
    if sig:
        if flags & _DER_RULES:
            if not is_valid_signature_encoding(sig):
                return ScriptError.SIG_DER
            strict_der = True
        if flags & _LOW_S and not is_low_s(sig[:-1]):
            return ScriptError.SIG_HIGH_S
        if flags & _STRICTENC and not 1 <= sig[-1] & 0x7F <= 3:
            return ScriptError.SIG_HASHTYPE
    if flags & _STRICTENC and not is_compressed_or_uncompressed_pubkey(pubkey):
        return ScriptError.PUBKEYTYPE
    if flags & _WITNESS_PUBKEYTYPE and not is_compressed_pubkey(pubkey):
        return ScriptError.WITNESS_PUBKEYTYPE
    # An empty signature or a negative amount is a plain false: no NULLFAIL for the former.
    if not sig or spent_output.value < 0:
        return deferred_error(flags) if sig else ScriptError.EVAL_FALSE
    sig64 = ecdsa_compact(pubkey, sig[:-1], strict_der)
    if sig64 is None:
        return deferred_error(flags)
    msg = segwit_v0_sighash(
        _CODE_HEAD + program + _CODE_TAIL, tx, index, sig[-1], spent_output.value, txdata
    )
    if sig_queue is not None:
        sig_queue.submit(pubkey, sig64, msg, tag)
        return None
    return None if verify_compact(pubkey, sig64, msg) else deferred_error(flags)
