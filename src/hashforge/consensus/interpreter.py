"""The script interpreter: EvalScript and VerifyScript (legacy, P2SH, segwit v0, taproot), exact to Core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .checker import (
    SEQUENCE_LOCKTIME_DISABLE_FLAG,
    ScriptExecutionData,
    SignatureChecker,
    TransactionSignatureChecker,
)
from .ecc import (
    is_compressed_or_uncompressed_pubkey,
    is_compressed_pubkey,
    is_low_s,
    is_valid_signature_encoding,
)
from .fastpath import NOT_HANDLED, verify_p2wpkh
from .hashes import hash160, hash256, ripemd160, sha1, sha256
from .script import (
    ANNEX_TAG,
    MAX_OPS_PER_SCRIPT,
    MAX_PUBKEYS_PER_MULTISIG,
    MAX_SCRIPT_ELEMENT_SIZE,
    MAX_SCRIPT_SIZE,
    MAX_STACK_SIZE,
    OP_0NOTEQUAL,
    OP_1,
    OP_1ADD,
    OP_1NEGATE,
    OP_1SUB,
    OP_2DIV,
    OP_2DROP,
    OP_2DUP,
    OP_2MUL,
    OP_2OVER,
    OP_2ROT,
    OP_2SWAP,
    OP_3DUP,
    OP_16,
    OP_ABS,
    OP_ADD,
    OP_AND,
    OP_BOOLAND,
    OP_BOOLOR,
    OP_CAT,
    OP_CHECKLOCKTIMEVERIFY,
    OP_CHECKMULTISIG,
    OP_CHECKMULTISIGVERIFY,
    OP_CHECKSEQUENCEVERIFY,
    OP_CHECKSIG,
    OP_CHECKSIGADD,
    OP_CHECKSIGVERIFY,
    OP_CODESEPARATOR,
    OP_DEPTH,
    OP_DIV,
    OP_DROP,
    OP_DUP,
    OP_ELSE,
    OP_ENDIF,
    OP_EQUAL,
    OP_EQUALVERIFY,
    OP_FROMALTSTACK,
    OP_GREATERTHAN,
    OP_GREATERTHANOREQUAL,
    OP_HASH160,
    OP_HASH256,
    OP_IF,
    OP_IFDUP,
    OP_INVERT,
    OP_LEFT,
    OP_LESSTHAN,
    OP_LESSTHANOREQUAL,
    OP_LSHIFT,
    OP_MAX,
    OP_MIN,
    OP_MOD,
    OP_MUL,
    OP_NEGATE,
    OP_NIP,
    OP_NOP,
    OP_NOP1,
    OP_NOP4,
    OP_NOP10,
    OP_NOT,
    OP_NOTIF,
    OP_NUMEQUAL,
    OP_NUMEQUALVERIFY,
    OP_NUMNOTEQUAL,
    OP_OR,
    OP_OVER,
    OP_PICK,
    OP_PUSHDATA4,
    OP_RETURN,
    OP_RIGHT,
    OP_RIPEMD160,
    OP_ROLL,
    OP_ROT,
    OP_RSHIFT,
    OP_SHA1,
    OP_SHA256,
    OP_SIZE,
    OP_SUB,
    OP_SUBSTR,
    OP_SWAP,
    OP_TOALTSTACK,
    OP_TUCK,
    OP_VERIFY,
    OP_WITHIN,
    OP_XOR,
    VALIDATION_WEIGHT_OFFSET,
    VALIDATION_WEIGHT_PER_SIGOP_PASSED,
    WITNESS_SCALE_FACTOR,
    ScriptNumError,
    cast_to_bool,
    decode_num,
    encode_num,
    find_and_delete,
    is_minimal_push,
    is_op_success,
    is_p2sh,
    is_push_only,
    legacy_sigop_count,
    p2sh_sigop_count,
    parse_script,
    push_data,
    witness_program,
    witness_sigop_count,
)
from .script_flags import (
    ALL_SCRIPT_FLAGS,
    MANDATORY_SCRIPT_VERIFY_FLAGS,
    STANDARD_SCRIPT_VERIFY_FLAGS,
    ScriptError,
    ScriptFlags,
    SigVersion,
    format_flags,
    parse_flags,
)
from .serialize import ser_string_vector
from .sighash import PrecomputedTxData
from .taproot import (
    TAPROOT_LEAF_MASK,
    TAPROOT_LEAF_TAPSCRIPT,
    is_valid_control_size,
    tapleaf_hash,
    verify_taproot_commitment,
)
from .tx import Transaction, TxOut

if TYPE_CHECKING:
    from .sigqueue import SigQueue

__all__ = [
    "ALL_SCRIPT_FLAGS",
    "MANDATORY_SCRIPT_VERIFY_FLAGS",
    "STANDARD_SCRIPT_VERIFY_FLAGS",
    "ScriptError",
    "ScriptExecutionData",
    "ScriptFailure",
    "ScriptFlags",
    "SigVersion",
    "SignatureChecker",
    "TransactionSignatureChecker",
    "count_witness_sigops",
    "eval_script",
    "format_flags",
    "parse_flags",
    "transaction_sigop_cost",
    "verify_input",
    "verify_script",
    "verify_transaction",
]

# Flag bits as plain ints: IntFlag arithmetic is slow in the interpreter's inner loop.
_CHECKLOCKTIMEVERIFY = ScriptFlags.CHECKLOCKTIMEVERIFY.value
_CHECKSEQUENCEVERIFY = ScriptFlags.CHECKSEQUENCEVERIFY.value
_CLEANSTACK = ScriptFlags.CLEANSTACK.value
_CONST_SCRIPTCODE = ScriptFlags.CONST_SCRIPTCODE.value
_DERSIG = ScriptFlags.DERSIG.value
_DISCOURAGE_OP_SUCCESS = ScriptFlags.DISCOURAGE_OP_SUCCESS.value
_DISCOURAGE_UPGRADABLE_NOPS = ScriptFlags.DISCOURAGE_UPGRADABLE_NOPS.value
_DISCOURAGE_UPGRADABLE_PUBKEYTYPE = ScriptFlags.DISCOURAGE_UPGRADABLE_PUBKEYTYPE.value
_DISCOURAGE_UPGRADABLE_TAPROOT_VERSION = ScriptFlags.DISCOURAGE_UPGRADABLE_TAPROOT_VERSION.value
_DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM = ScriptFlags.DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM.value
_LOW_S = ScriptFlags.LOW_S.value
_MINIMALDATA = ScriptFlags.MINIMALDATA.value
_MINIMALIF = ScriptFlags.MINIMALIF.value
_NULLDUMMY = ScriptFlags.NULLDUMMY.value
_NULLFAIL = ScriptFlags.NULLFAIL.value
_P2SH = ScriptFlags.P2SH.value
_SIGPUSHONLY = ScriptFlags.SIGPUSHONLY.value
_STRICTENC = ScriptFlags.STRICTENC.value
_TAPROOT = ScriptFlags.TAPROOT.value
_WITNESS = ScriptFlags.WITNESS.value
_WITNESS_PUBKEYTYPE = ScriptFlags.WITNESS_PUBKEYTYPE.value

_TRUE = b"\x01"
_FALSE = b""
_NO_FALSE = -1

_DISABLED_OPCODES = frozenset(
    {
        OP_CAT, OP_SUBSTR, OP_LEFT, OP_RIGHT, OP_INVERT, OP_AND, OP_OR, OP_XOR,
        OP_2MUL, OP_2DIV, OP_MUL, OP_DIV, OP_MOD, OP_LSHIFT, OP_RSHIFT,
    }
)  # fmt: skip
_UPGRADABLE_NOPS = frozenset({OP_NOP1, *range(OP_NOP4, OP_NOP10 + 1)})
_UNARY_NUM_OPS = frozenset({OP_1ADD, OP_1SUB, OP_NEGATE, OP_ABS, OP_NOT, OP_0NOTEQUAL})
_BINARY_NUM_OPS = frozenset(
    {
        OP_ADD, OP_SUB, OP_BOOLAND, OP_BOOLOR, OP_NUMEQUAL, OP_NUMEQUALVERIFY, OP_NUMNOTEQUAL,
        OP_LESSTHAN, OP_GREATERTHAN, OP_LESSTHANOREQUAL, OP_GREATERTHANOREQUAL, OP_MIN, OP_MAX,
    }
)  # fmt: skip
_HASH_OPS = {
    OP_RIPEMD160: ripemd160,
    OP_SHA1: sha1,
    OP_SHA256: sha256,
    OP_HASH160: hash160,
    OP_HASH256: hash256,
}


class ScriptFailure(Exception):
    """A script failed with `error` (raised inside the interpreter; the public API returns it)."""

    def __init__(self, error: ScriptError) -> None:
        super().__init__(f"{error.value}: {error.message}")
        self.error = error


_Fail = ScriptFailure


# --- signature and key encoding ----------------------------------------------------------------


def check_signature_encoding(sig: bytes, flags: int) -> None:
    """Core's CheckSignatureEncoding (raises ScriptFailure). An empty signature always passes."""
    if not sig:
        return
    if flags & (_DERSIG | _LOW_S | _STRICTENC) and not is_valid_signature_encoding(sig):
        raise _Fail(ScriptError.SIG_DER)
    if flags & _LOW_S and not is_low_s(sig[:-1]):
        raise _Fail(ScriptError.SIG_HIGH_S)
    if flags & _STRICTENC and not 1 <= sig[-1] & 0x7F <= 3:
        raise _Fail(ScriptError.SIG_HASHTYPE)


def check_pubkey_encoding(pubkey: bytes, flags: int, sigversion: SigVersion) -> None:
    """Core's CheckPubKeyEncoding (raises ScriptFailure)."""
    if flags & _STRICTENC and not is_compressed_or_uncompressed_pubkey(pubkey):
        raise _Fail(ScriptError.PUBKEYTYPE)
    if (
        flags & _WITNESS_PUBKEYTYPE
        and sigversion == SigVersion.WITNESS_V0
        and not is_compressed_pubkey(pubkey)
    ):
        raise _Fail(ScriptError.WITNESS_PUBKEYTYPE)


# --- signature opcodes -------------------------------------------------------------------------


def _checksig_ecdsa(
    sig: bytes,
    pubkey: bytes,
    script_code: bytes,
    flags: int,
    checker: SignatureChecker,
    sigversion: SigVersion,
) -> bool:
    if sigversion == SigVersion.BASE:
        # Pre-segwit, a signature cannot sign itself: drop it from the scriptCode.
        script_code, found = find_and_delete(script_code, push_data(sig))
        if found and flags & _CONST_SCRIPTCODE:
            raise _Fail(ScriptError.SIG_FINDANDDELETE)
    check_signature_encoding(sig, flags)
    check_pubkey_encoding(pubkey, flags, sigversion)
    success = checker.check_ecdsa_signature(sig, pubkey, script_code, sigversion)
    if not success and flags & _NULLFAIL and sig:
        raise _Fail(ScriptError.SIG_NULLFAIL)
    return success


def _checksig_tapscript(
    sig: bytes,
    pubkey: bytes,
    execdata: ScriptExecutionData,
    flags: int,
    checker: SignatureChecker,
) -> bool:
    # The order of these rules is consensus-critical (BIP342).
    success = bool(sig)
    if success:
        assert execdata.validation_weight_left is not None
        execdata.validation_weight_left -= VALIDATION_WEIGHT_PER_SIGOP_PASSED
        if execdata.validation_weight_left < 0:
            raise _Fail(ScriptError.TAPSCRIPT_VALIDATION_WEIGHT)
    if not pubkey:
        raise _Fail(ScriptError.TAPSCRIPT_EMPTY_PUBKEY)
    if len(pubkey) == 32:
        if success:
            err = checker.check_schnorr_signature(sig, pubkey, SigVersion.TAPSCRIPT, execdata)
            if err is not None:
                raise _Fail(err)
    elif flags & _DISCOURAGE_UPGRADABLE_PUBKEYTYPE:
        raise _Fail(ScriptError.DISCOURAGE_UPGRADABLE_PUBKEYTYPE)
    return success


def _checkmultisig(
    stack: list[bytes],
    script_code: bytes,
    flags: int,
    checker: SignatureChecker,
    sigversion: SigVersion,
    op_count: int,
) -> tuple[bool, int]:
    """([sig ...] n_sigs [pubkey ...] n_keys -- bool); returns (success, new op count)."""
    require_minimal = bool(flags & _MINIMALDATA)
    i = 1
    if len(stack) < i:
        raise _Fail(ScriptError.INVALID_STACK_OPERATION)
    n_keys = decode_num(stack[-i], require_minimal)
    if n_keys < 0 or n_keys > MAX_PUBKEYS_PER_MULTISIG:
        raise _Fail(ScriptError.PUBKEY_COUNT)
    op_count += n_keys
    if op_count > MAX_OPS_PER_SCRIPT:
        raise _Fail(ScriptError.OP_COUNT)
    i += 1
    ikey = i
    ikey2 = n_keys + 2  # position of the last non-signature item; for NULLFAIL cleanup
    i += n_keys
    if len(stack) < i:
        raise _Fail(ScriptError.INVALID_STACK_OPERATION)
    n_sigs = decode_num(stack[-i], require_minimal)
    if n_sigs < 0 or n_sigs > n_keys:
        raise _Fail(ScriptError.SIG_COUNT)
    i += 1
    isig = i
    i += n_sigs
    if len(stack) < i:
        raise _Fail(ScriptError.INVALID_STACK_OPERATION)

    if sigversion == SigVersion.BASE:
        for k in range(n_sigs):
            script_code, found = find_and_delete(script_code, push_data(stack[-isig - k]))
            if found and flags & _CONST_SCRIPTCODE:
                raise _Fail(ScriptError.SIG_FINDANDDELETE)

    success = True
    while success and n_sigs > 0:
        sig = stack[-isig]
        pubkey = stack[-ikey]
        # Encoding is checked pair by pair, so with STRICTENC the evaluation order is observable.
        check_signature_encoding(sig, flags)
        check_pubkey_encoding(pubkey, flags, sigversion)
        if checker.check_ecdsa_signature(sig, pubkey, script_code, sigversion):
            isig += 1
            n_sigs -= 1
        ikey += 1
        n_keys -= 1
        # More signatures left than keys: it cannot succeed any more.
        if n_sigs > n_keys:
            success = False

    while i > 1:
        i -= 1
        if not success and flags & _NULLFAIL and not ikey2 and stack[-1]:
            raise _Fail(ScriptError.SIG_NULLFAIL)
        if ikey2 > 0:
            ikey2 -= 1
        stack.pop()
    # The historical off-by-one: one more item is consumed, unchecked unless NULLDUMMY.
    if not stack:
        raise _Fail(ScriptError.INVALID_STACK_OPERATION)
    if flags & _NULLDUMMY and stack[-1]:
        raise _Fail(ScriptError.SIG_NULLDUMMY)
    stack.pop()
    return success, op_count


# --- EvalScript --------------------------------------------------------------------------------


def eval_script(
    stack: list[bytes],
    script: bytes,
    flags: int,
    checker: SignatureChecker,
    sigversion: SigVersion = SigVersion.BASE,
    execdata: ScriptExecutionData | None = None,
) -> ScriptError | None:
    """Runs `script` on `stack` (modified in place); None on success, else the error (EvalScript)."""
    flags = int(flags)
    try:
        if execdata is None:
            execdata = ScriptExecutionData()
        _eval(stack, script, flags, checker, sigversion, execdata)
    except ScriptFailure as f:
        return f.error
    return None


def _eval(
    stack: list[bytes],
    script: bytes,
    flags: int,
    checker: SignatureChecker,
    sigversion: SigVersion,
    execdata: ScriptExecutionData,
) -> None:
    try:
        _eval_inner(stack, script, flags, checker, sigversion, execdata)
    except ScriptNumError:
        raise _Fail(ScriptError.SCRIPTNUM) from None


def _eval_inner(
    stack: list[bytes],
    script: bytes,
    flags: int,
    checker: SignatureChecker,
    sigversion: SigVersion,
    execdata: ScriptExecutionData,
) -> None:
    pre_tapscript = sigversion in (SigVersion.BASE, SigVersion.WITNESS_V0)
    if pre_tapscript and len(script) > MAX_SCRIPT_SIZE:
        raise _Fail(ScriptError.SCRIPT_SIZE)
    parsed = parse_script(script)
    require_minimal = bool(flags & _MINIMALDATA)
    const_scriptcode = sigversion == SigVersion.BASE and bool(flags & _CONST_SCRIPTCODE)
    altstack: list[bytes] = []
    op_count = 0
    begin_codehash = 0
    # IF/ELSE nesting as Core's ConditionStack: a depth and where the first false branch is.
    cond_depth = 0
    first_false = _NO_FALSE
    execdata.codeseparator_pos = 0xFFFFFFFF
    F = _Fail
    E = ScriptError

    for opcode_pos, (opcode, data, _start, end) in enumerate(parsed.ops):
        executing = first_false == _NO_FALSE

        if data is not None and len(data) > MAX_SCRIPT_ELEMENT_SIZE:
            raise F(E.PUSH_SIZE)
        # OP_RESERVED and the small-integer pushes do not count towards the op limit.
        if pre_tapscript and opcode > OP_16:
            op_count += 1
            if op_count > MAX_OPS_PER_SCRIPT:
                raise F(E.OP_COUNT)
        if opcode in _DISABLED_OPCODES:
            raise F(E.DISABLED_OPCODE)
        if opcode == OP_CODESEPARATOR and const_scriptcode:
            raise F(E.OP_CODESEPARATOR)

        if opcode <= OP_PUSHDATA4:
            if executing:
                assert data is not None
                if require_minimal and not is_minimal_push(opcode, data):
                    raise F(E.MINIMALDATA)
                stack.append(data)
        elif OP_IF <= opcode <= OP_ENDIF or executing:
            # --- flow control (evaluated even in a non-executing branch) ---
            if opcode in (OP_IF, OP_NOTIF):
                value = False
                if executing:
                    if not stack:
                        raise F(E.INVALID_STACK_OPERATION)
                    top = stack[-1]
                    if sigversion == SigVersion.TAPSCRIPT:
                        if len(top) > 1 or (len(top) == 1 and top[0] != 1):
                            raise F(E.TAPSCRIPT_MINIMALIF)
                    elif (
                        sigversion == SigVersion.WITNESS_V0
                        and flags & _MINIMALIF
                        and (len(top) > 1 or (len(top) == 1 and top[0] != 1))
                    ):
                        raise F(E.MINIMALIF)  # policy only, under witness v0
                    value = cast_to_bool(top)
                    if opcode == OP_NOTIF:
                        value = not value
                    stack.pop()
                if first_false == _NO_FALSE and not value:
                    first_false = cond_depth
                cond_depth += 1
            elif opcode == OP_ELSE:
                if not cond_depth:
                    raise F(E.UNBALANCED_CONDITIONAL)
                if first_false == _NO_FALSE:
                    first_false = cond_depth - 1
                elif first_false == cond_depth - 1:
                    first_false = _NO_FALSE
            elif opcode == OP_ENDIF:
                if not cond_depth:
                    raise F(E.UNBALANCED_CONDITIONAL)
                cond_depth -= 1
                if first_false == cond_depth:
                    first_false = _NO_FALSE
            # --- constants ---
            elif opcode == OP_1NEGATE or OP_1 <= opcode <= OP_16:
                stack.append(encode_num(opcode - (OP_1 - 1)))
            # --- stack ---
            elif opcode == OP_DUP:
                if not stack:
                    raise F(E.INVALID_STACK_OPERATION)
                stack.append(stack[-1])
            elif opcode in _HASH_OPS:
                if not stack:
                    raise F(E.INVALID_STACK_OPERATION)
                stack.append(_HASH_OPS[opcode](stack.pop()))
            elif opcode in (OP_EQUAL, OP_EQUALVERIFY):
                if len(stack) < 2:
                    raise F(E.INVALID_STACK_OPERATION)
                equal = stack.pop() == stack.pop()
                if opcode == OP_EQUALVERIFY:
                    if not equal:
                        raise F(E.EQUALVERIFY)
                else:
                    stack.append(_TRUE if equal else _FALSE)
            elif opcode in (OP_CHECKSIG, OP_CHECKSIGVERIFY):
                if len(stack) < 2:
                    raise F(E.INVALID_STACK_OPERATION)
                sig, pubkey = stack[-2], stack[-1]
                if sigversion == SigVersion.TAPSCRIPT:
                    success = _checksig_tapscript(sig, pubkey, execdata, flags, checker)
                else:
                    success = _checksig_ecdsa(
                        sig, pubkey, script[begin_codehash:], flags, checker, sigversion
                    )
                del stack[-2:]
                if opcode == OP_CHECKSIGVERIFY:
                    if not success:
                        raise F(E.CHECKSIGVERIFY)
                else:
                    stack.append(_TRUE if success else _FALSE)
            elif opcode in (OP_CHECKMULTISIG, OP_CHECKMULTISIGVERIFY):
                if sigversion == SigVersion.TAPSCRIPT:
                    raise F(E.TAPSCRIPT_CHECKMULTISIG)
                success, op_count = _checkmultisig(
                    stack, script[begin_codehash:], flags, checker, sigversion, op_count
                )
                if opcode == OP_CHECKMULTISIGVERIFY:
                    if not success:
                        raise F(E.CHECKMULTISIGVERIFY)
                else:
                    stack.append(_TRUE if success else _FALSE)
            elif opcode == OP_CHECKSIGADD:
                if pre_tapscript:
                    raise F(E.BAD_OPCODE)
                if len(stack) < 3:
                    raise F(E.INVALID_STACK_OPERATION)
                sig, pubkey = stack[-3], stack[-1]
                num = decode_num(stack[-2], require_minimal)
                success = _checksig_tapscript(sig, pubkey, execdata, flags, checker)
                del stack[-3:]
                stack.append(encode_num(num + success))
            elif opcode == OP_VERIFY:
                if not stack:
                    raise F(E.INVALID_STACK_OPERATION)
                if not cast_to_bool(stack[-1]):
                    raise F(E.VERIFY)
                stack.pop()
            elif opcode == OP_RETURN:
                raise F(E.OP_RETURN)
            elif opcode == OP_NOP:
                pass
            elif opcode == OP_CHECKLOCKTIMEVERIFY:
                if flags & _CHECKLOCKTIMEVERIFY:
                    if not stack:
                        raise F(E.INVALID_STACK_OPERATION)
                    # 5-byte operands: lock times go up to 2**32-1.
                    lock_time = decode_num(stack[-1], require_minimal, 5)
                    if lock_time < 0:
                        raise F(E.NEGATIVE_LOCKTIME)
                    if not checker.check_lock_time(lock_time):
                        raise F(E.UNSATISFIED_LOCKTIME)
            elif opcode == OP_CHECKSEQUENCEVERIFY:
                if flags & _CHECKSEQUENCEVERIFY:
                    if not stack:
                        raise F(E.INVALID_STACK_OPERATION)
                    sequence = decode_num(stack[-1], require_minimal, 5)
                    if sequence < 0:
                        raise F(E.NEGATIVE_LOCKTIME)
                    # The disable flag in the operand keeps it a NOP (room for soft forks).
                    if not sequence & SEQUENCE_LOCKTIME_DISABLE_FLAG and not checker.check_sequence(
                        sequence
                    ):
                        raise F(E.UNSATISFIED_LOCKTIME)
            elif opcode in _UPGRADABLE_NOPS:
                if flags & _DISCOURAGE_UPGRADABLE_NOPS:
                    raise F(E.DISCOURAGE_UPGRADABLE_NOPS)
            elif opcode == OP_TOALTSTACK:
                if not stack:
                    raise F(E.INVALID_STACK_OPERATION)
                altstack.append(stack.pop())
            elif opcode == OP_FROMALTSTACK:
                if not altstack:
                    raise F(E.INVALID_ALTSTACK_OPERATION)
                stack.append(altstack.pop())
            elif opcode == OP_DROP:
                if not stack:
                    raise F(E.INVALID_STACK_OPERATION)
                stack.pop()
            elif opcode == OP_2DROP:
                if len(stack) < 2:
                    raise F(E.INVALID_STACK_OPERATION)
                del stack[-2:]
            elif opcode == OP_2DUP:
                if len(stack) < 2:
                    raise F(E.INVALID_STACK_OPERATION)
                stack.extend(stack[-2:])
            elif opcode == OP_3DUP:
                if len(stack) < 3:
                    raise F(E.INVALID_STACK_OPERATION)
                stack.extend(stack[-3:])
            elif opcode == OP_2OVER:
                if len(stack) < 4:
                    raise F(E.INVALID_STACK_OPERATION)
                stack.extend(stack[-4:-2])
            elif opcode == OP_2ROT:
                if len(stack) < 6:
                    raise F(E.INVALID_STACK_OPERATION)
                moved = stack[-6:-4]
                del stack[-6:-4]
                stack.extend(moved)
            elif opcode == OP_2SWAP:
                if len(stack) < 4:
                    raise F(E.INVALID_STACK_OPERATION)
                stack[-4:] = stack[-2:] + stack[-4:-2]
            elif opcode == OP_IFDUP:
                if not stack:
                    raise F(E.INVALID_STACK_OPERATION)
                if cast_to_bool(stack[-1]):
                    stack.append(stack[-1])
            elif opcode == OP_DEPTH:
                stack.append(encode_num(len(stack)))
            elif opcode == OP_NIP:
                if len(stack) < 2:
                    raise F(E.INVALID_STACK_OPERATION)
                del stack[-2]
            elif opcode == OP_OVER:
                if len(stack) < 2:
                    raise F(E.INVALID_STACK_OPERATION)
                stack.append(stack[-2])
            elif opcode in (OP_PICK, OP_ROLL):
                if len(stack) < 2:
                    raise F(E.INVALID_STACK_OPERATION)
                n = decode_num(stack.pop(), require_minimal)
                if n < 0 or n >= len(stack):
                    raise F(E.INVALID_STACK_OPERATION)
                item = stack[-n - 1]
                if opcode == OP_ROLL:
                    del stack[-n - 1]
                stack.append(item)
            elif opcode == OP_ROT:
                if len(stack) < 3:
                    raise F(E.INVALID_STACK_OPERATION)
                stack.append(stack.pop(-3))
            elif opcode == OP_SWAP:
                if len(stack) < 2:
                    raise F(E.INVALID_STACK_OPERATION)
                stack[-2], stack[-1] = stack[-1], stack[-2]
            elif opcode == OP_TUCK:
                if len(stack) < 2:
                    raise F(E.INVALID_STACK_OPERATION)
                stack.insert(-2, stack[-1])
            elif opcode == OP_SIZE:
                if not stack:
                    raise F(E.INVALID_STACK_OPERATION)
                stack.append(encode_num(len(stack[-1])))
            # --- arithmetic ---
            elif opcode in _UNARY_NUM_OPS:
                if not stack:
                    raise F(E.INVALID_STACK_OPERATION)
                a = decode_num(stack[-1], require_minimal)
                if opcode == OP_1ADD:
                    a += 1
                elif opcode == OP_1SUB:
                    a -= 1
                elif opcode == OP_NEGATE:
                    a = -a
                elif opcode == OP_ABS:
                    a = abs(a)
                elif opcode == OP_NOT:
                    a = int(a == 0)
                else:  # OP_0NOTEQUAL
                    a = int(a != 0)
                stack[-1] = encode_num(a)
            elif opcode in _BINARY_NUM_OPS:
                if len(stack) < 2:
                    raise F(E.INVALID_STACK_OPERATION)
                a = decode_num(stack[-2], require_minimal)
                b = decode_num(stack[-1], require_minimal)
                del stack[-2:]
                result = _binary_num_op(opcode, a, b)
                if opcode == OP_NUMEQUALVERIFY:
                    if not result:
                        raise F(E.NUMEQUALVERIFY)
                else:
                    stack.append(encode_num(result))
            elif opcode == OP_WITHIN:
                if len(stack) < 3:
                    raise F(E.INVALID_STACK_OPERATION)
                x = decode_num(stack[-3], require_minimal)
                lo = decode_num(stack[-2], require_minimal)
                hi = decode_num(stack[-1], require_minimal)
                del stack[-3:]
                stack.append(_TRUE if lo <= x < hi else _FALSE)
            elif opcode == OP_CODESEPARATOR:
                begin_codehash = end
                execdata.codeseparator_pos = opcode_pos
            else:
                # OP_RESERVED, OP_VER, OP_VERIF, OP_VERNOTIF, OP_RESERVED1/2, unknown opcodes
                raise F(E.BAD_OPCODE)

        if len(stack) + len(altstack) > MAX_STACK_SIZE:
            raise F(E.STACK_SIZE)

    if parsed.error_pos is not None:
        raise F(E.BAD_OPCODE)  # a push that runs past the end of the script
    if cond_depth:
        raise F(E.UNBALANCED_CONDITIONAL)


def _binary_num_op(opcode: int, a: int, b: int) -> int:
    if opcode == OP_ADD:
        return a + b
    if opcode == OP_SUB:
        return a - b
    if opcode == OP_BOOLAND:
        return int(a != 0 and b != 0)
    if opcode == OP_BOOLOR:
        return int(a != 0 or b != 0)
    if opcode in (OP_NUMEQUAL, OP_NUMEQUALVERIFY):
        return int(a == b)
    if opcode == OP_NUMNOTEQUAL:
        return int(a != b)
    if opcode == OP_LESSTHAN:
        return int(a < b)
    if opcode == OP_GREATERTHAN:
        return int(a > b)
    if opcode == OP_LESSTHANOREQUAL:
        return int(a <= b)
    if opcode == OP_GREATERTHANOREQUAL:
        return int(a >= b)
    if opcode == OP_MIN:
        return min(a, b)
    return max(a, b)  # OP_MAX


# --- witness programs --------------------------------------------------------------------------


def _execute_witness_script(
    stack: list[bytes],
    script: bytes,
    flags: int,
    sigversion: SigVersion,
    checker: SignatureChecker,
    execdata: ScriptExecutionData,
) -> None:
    if sigversion == SigVersion.TAPSCRIPT:
        # OP_SUCCESSx anywhere in the script makes it succeed, before any other rule applies.
        parsed = parse_script(script)
        for op in parsed.ops:
            if is_op_success(op.opcode):
                if flags & _DISCOURAGE_OP_SUCCESS:
                    raise _Fail(ScriptError.DISCOURAGE_OP_SUCCESS)
                return
        if parsed.error_pos is not None:
            raise _Fail(ScriptError.BAD_OPCODE)
        if len(stack) > MAX_STACK_SIZE:
            raise _Fail(ScriptError.STACK_SIZE)
    if any(len(item) > MAX_SCRIPT_ELEMENT_SIZE for item in stack):
        raise _Fail(ScriptError.PUSH_SIZE)
    _eval(stack, script, flags, checker, sigversion, execdata)
    # Witness scripts must leave exactly one true element (implicit CLEANSTACK).
    if len(stack) != 1:
        raise _Fail(ScriptError.CLEANSTACK)
    if not cast_to_bool(stack[-1]):
        raise _Fail(ScriptError.EVAL_FALSE)


def _verify_witness_program(
    witness: Sequence[bytes],
    version: int,
    program: bytes,
    flags: int,
    checker: SignatureChecker,
    is_p2sh: bool,
) -> None:
    stack = list(witness)
    execdata = ScriptExecutionData()
    if version == 0:
        if len(program) == 32:  # P2WSH
            if not stack:
                raise _Fail(ScriptError.WITNESS_PROGRAM_WITNESS_EMPTY)
            script = stack.pop()
            if sha256(script) != program:
                raise _Fail(ScriptError.WITNESS_PROGRAM_MISMATCH)
            _execute_witness_script(stack, script, flags, SigVersion.WITNESS_V0, checker, execdata)
        elif len(program) == 20:  # P2WPKH
            if len(stack) != 2:
                raise _Fail(ScriptError.WITNESS_PROGRAM_MISMATCH)
            script = (
                bytes([OP_DUP, OP_HASH160])
                + push_data(program)
                + bytes([OP_EQUALVERIFY, OP_CHECKSIG])
            )
            _execute_witness_script(stack, script, flags, SigVersion.WITNESS_V0, checker, execdata)
        else:
            raise _Fail(ScriptError.WITNESS_PROGRAM_WRONG_LENGTH)
    elif version == 1 and len(program) == 32 and not is_p2sh:  # taproot
        if not flags & _TAPROOT:
            return
        if not stack:
            raise _Fail(ScriptError.WITNESS_PROGRAM_WITNESS_EMPTY)
        if len(stack) >= 2 and stack[-1] and stack[-1][0] == ANNEX_TAG:
            execdata.annex = stack.pop()
        if len(stack) == 1:  # key path
            err = checker.check_schnorr_signature(stack[0], program, SigVersion.TAPROOT, execdata)
            if err is not None:
                raise _Fail(err)
            return
        control = stack.pop()
        script = stack.pop()
        if not is_valid_control_size(control):
            raise _Fail(ScriptError.TAPROOT_WRONG_CONTROL_SIZE)
        leaf_version = control[0] & TAPROOT_LEAF_MASK
        execdata.tapleaf_hash = tapleaf_hash(leaf_version, script)
        if not verify_taproot_commitment(control, program, execdata.tapleaf_hash):
            raise _Fail(ScriptError.WITNESS_PROGRAM_MISMATCH)
        if leaf_version == TAPROOT_LEAF_TAPSCRIPT:
            # Signature-check budget: 50 per passed check, funded by the witness size.
            execdata.validation_weight_left = (
                len(ser_string_vector(witness)) + VALIDATION_WEIGHT_OFFSET
            )
            _execute_witness_script(stack, script, flags, SigVersion.TAPSCRIPT, checker, execdata)
            return
        if flags & _DISCOURAGE_UPGRADABLE_TAPROOT_VERSION:
            raise _Fail(ScriptError.DISCOURAGE_UPGRADABLE_TAPROOT_VERSION)
    elif not is_p2sh and version == 1 and program == b"\x4e\x73":  # pay-to-anchor
        return
    elif flags & _DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM:
        raise _Fail(ScriptError.DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM)
    # Other versions and sizes are anyone-can-spend until a soft fork gives them meaning.


# --- VerifyScript ------------------------------------------------------------------------------


def verify_script(
    script_sig: bytes,
    script_pubkey: bytes,
    witness: Sequence[bytes],
    flags: int,
    checker: SignatureChecker,
) -> ScriptError | None:
    """Core's VerifyScript: None if the input is valid under `flags`, else the ScriptError.

    Raises ValueError where Core asserts on a flag set it refuses (WITNESS without P2SH,
    CLEANSTACK without both; checked, as in Core, only when evaluation gets that far) and
    MissingSpentOutputsError for a taproot signature check without the spent outputs.
    """
    flags = int(flags)
    try:
        _verify(script_sig, script_pubkey, witness, flags, checker)
    except ScriptFailure as f:
        return f.error
    return None


def _verify(
    script_sig: bytes,
    script_pubkey: bytes,
    witness: Sequence[bytes],
    flags: int,
    checker: SignatureChecker,
) -> None:
    if flags & _SIGPUSHONLY and not is_push_only(script_sig):
        raise _Fail(ScriptError.SIG_PUSHONLY)

    # scriptSig and scriptPubKey run one after the other on one stack, never concatenated.
    stack: list[bytes] = []
    _eval(stack, script_sig, flags, checker, SigVersion.BASE, ScriptExecutionData())
    stack_copy = list(stack) if flags & _P2SH else []
    _eval(stack, script_pubkey, flags, checker, SigVersion.BASE, ScriptExecutionData())
    if not stack or not cast_to_bool(stack[-1]):
        raise _Fail(ScriptError.EVAL_FALSE)

    had_witness = False
    if flags & _WITNESS:
        prog = witness_program(script_pubkey)
        if prog is not None:
            had_witness = True
            if script_sig:
                raise _Fail(ScriptError.WITNESS_MALLEATED)
            _verify_witness_program(witness, prog[0], prog[1], flags, checker, is_p2sh=False)
            del stack[1:]  # the stack is not clean for witness programs; skip CLEANSTACK

    if flags & _P2SH and is_p2sh(script_pubkey):
        if not is_push_only(script_sig):
            raise _Fail(ScriptError.SIG_PUSHONLY)
        stack = stack_copy
        redeem_script = stack.pop()  # not empty: HASH160 <h> EQUAL succeeded on it
        _eval(stack, redeem_script, flags, checker, SigVersion.BASE, ScriptExecutionData())
        if not stack or not cast_to_bool(stack[-1]):
            raise _Fail(ScriptError.EVAL_FALSE)
        if flags & _WITNESS:
            prog = witness_program(redeem_script)
            if prog is not None:
                had_witness = True
                if script_sig != push_data(redeem_script):
                    raise _Fail(ScriptError.WITNESS_MALLEATED_P2SH)
                _verify_witness_program(witness, prog[0], prog[1], flags, checker, is_p2sh=True)
                del stack[1:]

    # CLEANSTACK applies after P2SH and witness evaluation, which leave their inputs behind.
    if flags & _CLEANSTACK:
        if ~flags & (_P2SH | _WITNESS):
            raise ValueError("the CLEANSTACK flag requires P2SH and WITNESS")
        if len(stack) != 1:
            raise _Fail(ScriptError.CLEANSTACK)
    if flags & _WITNESS:
        if not flags & _P2SH:
            raise ValueError("the WITNESS flag requires P2SH")
        if not had_witness and witness:
            raise _Fail(ScriptError.WITNESS_UNEXPECTED)


# --- transaction-level helpers -----------------------------------------------------------------


def verify_input(
    tx: Transaction,
    index: int,
    spent_output: TxOut,
    flags: int,
    spent_outputs: Sequence[TxOut] | None = None,
    txdata: PrecomputedTxData | None = None,
    *,
    generic: bool = False,
    sig_queue: SigQueue | None = None,
    tag: int = 0,
) -> ScriptError | None:
    """Verifies input `index` of `tx` spending `spent_output`; None if valid.

    Taproot spends need `spent_outputs` (every output the tx spends, in input order) or a
    `txdata` built with them; pass one `txdata` for all inputs of a tx to share its hashes.
    P2WPKH spends take the fast path (consensus/fastpath.py, the same result) unless `generic`
    asks for the interpreter; with `sig_queue` their ECDSA check is submitted to it under `tag`
    and None means valid unless that tag fails (see fastpath.deferred_error).
    """
    if txdata is None:
        txdata = PrecomputedTxData(tx, spent_outputs)
    flags = int(flags)
    if not generic:
        fast = verify_p2wpkh(tx, index, spent_output, flags, txdata, sig_queue, tag)
        if fast is not NOT_HANDLED:
            return fast
    checker = TransactionSignatureChecker(tx, index, spent_output.value, txdata)
    txin = tx.vin[index]
    return verify_script(txin.script_sig, spent_output.script_pubkey, txin.witness, flags, checker)


def verify_transaction(
    tx: Transaction,
    spent_outputs: Sequence[TxOut],
    flags: int,
    *,
    sig_queue: SigQueue | None = None,
    tag: int = 0,
) -> tuple[int, ScriptError] | None:
    """Verifies every input; None if all are valid, else (first failing input, its error).

    With `sig_queue`, P2WPKH signatures are submitted to it under `tag + input index` and None
    means valid unless one of those tags fails.
    """
    txdata = PrecomputedTxData(tx, spent_outputs)
    flags = int(flags)
    for i, prev in enumerate(spent_outputs):
        err = verify_input(tx, i, prev, flags, txdata=txdata, sig_queue=sig_queue, tag=tag + i)
        if err is not None:
            return i, err
    return None


def count_witness_sigops(
    script_sig: bytes, script_pubkey: bytes, witness: Sequence[bytes], flags: int
) -> int:
    """Core's CountWitnessSigOps (0 unless the WITNESS flag is set)."""
    if not flags & _WITNESS:
        return 0
    if not flags & _P2SH:
        raise ValueError("the WITNESS flag requires P2SH")
    return witness_sigop_count(script_sig, script_pubkey, witness)


def transaction_sigop_cost(tx: Transaction, spent_outputs: Sequence[TxOut], flags: int) -> int:
    """Core's GetTransactionSigOpCost: legacy and P2SH sigops weigh 4, witness sigops 1."""
    flags = int(flags)
    cost = legacy_sigop_count(tx) * WITNESS_SCALE_FACTOR
    if tx.is_coinbase():
        return cost
    if flags & _P2SH:
        cost += p2sh_sigop_count(tx, spent_outputs) * WITNESS_SCALE_FACTOR
    for txin, prev in zip(tx.vin, spent_outputs, strict=True):
        cost += count_witness_sigops(txin.script_sig, prev.script_pubkey, txin.witness, flags)
    return cost
