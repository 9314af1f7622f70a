"""Script verification flags, script error codes and signature versions, named as in Bitcoin Core."""

from __future__ import annotations

import enum


class ScriptFlags(enum.IntFlag):
    """SCRIPT_VERIFY_* flags; the bit positions are Core's."""

    NONE = 0
    P2SH = 1 << 0
    STRICTENC = 1 << 1
    DERSIG = 1 << 2
    LOW_S = 1 << 3
    NULLDUMMY = 1 << 4
    SIGPUSHONLY = 1 << 5
    MINIMALDATA = 1 << 6
    DISCOURAGE_UPGRADABLE_NOPS = 1 << 7
    CLEANSTACK = 1 << 8
    CHECKLOCKTIMEVERIFY = 1 << 9
    CHECKSEQUENCEVERIFY = 1 << 10
    WITNESS = 1 << 11
    DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM = 1 << 12
    MINIMALIF = 1 << 13
    NULLFAIL = 1 << 14
    WITNESS_PUBKEYTYPE = 1 << 15
    CONST_SCRIPTCODE = 1 << 16
    TAPROOT = 1 << 17
    DISCOURAGE_UPGRADABLE_TAPROOT_VERSION = 1 << 18
    DISCOURAGE_OP_SUCCESS = 1 << 19
    DISCOURAGE_UPGRADABLE_PUBKEYTYPE = 1 << 20


ALL_SCRIPT_FLAGS = ScriptFlags((1 << 21) - 1)

# policy.h: what every block must satisfy (after all soft forks) ...
MANDATORY_SCRIPT_VERIFY_FLAGS = (
    ScriptFlags.P2SH
    | ScriptFlags.DERSIG
    | ScriptFlags.NULLDUMMY
    | ScriptFlags.CHECKLOCKTIMEVERIFY
    | ScriptFlags.CHECKSEQUENCEVERIFY
    | ScriptFlags.WITNESS
    | ScriptFlags.TAPROOT
)

# ... and what standard (relayed) transactions additionally satisfy.
STANDARD_SCRIPT_VERIFY_FLAGS = (
    MANDATORY_SCRIPT_VERIFY_FLAGS
    | ScriptFlags.STRICTENC
    | ScriptFlags.MINIMALDATA
    | ScriptFlags.DISCOURAGE_UPGRADABLE_NOPS
    | ScriptFlags.CLEANSTACK
    | ScriptFlags.MINIMALIF
    | ScriptFlags.NULLFAIL
    | ScriptFlags.LOW_S
    | ScriptFlags.DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM
    | ScriptFlags.WITNESS_PUBKEYTYPE
    | ScriptFlags.CONST_SCRIPTCODE
    | ScriptFlags.DISCOURAGE_UPGRADABLE_TAPROOT_VERSION
    | ScriptFlags.DISCOURAGE_OP_SUCCESS
    | ScriptFlags.DISCOURAGE_UPGRADABLE_PUBKEYTYPE
)

STANDARD_NOT_MANDATORY_VERIFY_FLAGS = STANDARD_SCRIPT_VERIFY_FLAGS & ~MANDATORY_SCRIPT_VERIFY_FLAGS


def parse_flags(text: str) -> ScriptFlags:
    """Flags from Core's comma-separated names ("P2SH,STRICTENC"); "" and "NONE" mean none."""
    flags = ScriptFlags.NONE
    if not text or text == "NONE":
        return flags
    for word in text.split(","):
        if word not in ScriptFlags.__members__ or word == "NONE":
            raise KeyError(f"unknown script verification flag {word!r}")
        flags |= ScriptFlags[word]
    return flags


def format_flags(flags: int) -> str:
    """Flag names joined by commas, in bit order ("" for none)."""
    return ",".join(str(f.name) for f in ScriptFlags if f & flags)


class ScriptError(enum.Enum):
    """SCRIPT_ERR_* codes. The value is the name script_tests.json uses; OK is not an error."""

    UNKNOWN_ERROR = "UNKNOWN_ERROR"
    EVAL_FALSE = "EVAL_FALSE"
    OP_RETURN = "OP_RETURN"
    SCRIPTNUM = "SCRIPTNUM"
    # max sizes
    SCRIPT_SIZE = "SCRIPT_SIZE"
    PUSH_SIZE = "PUSH_SIZE"
    OP_COUNT = "OP_COUNT"
    STACK_SIZE = "STACK_SIZE"
    SIG_COUNT = "SIG_COUNT"
    PUBKEY_COUNT = "PUBKEY_COUNT"
    # failed verify operations
    VERIFY = "VERIFY"
    EQUALVERIFY = "EQUALVERIFY"
    CHECKMULTISIGVERIFY = "CHECKMULTISIGVERIFY"
    CHECKSIGVERIFY = "CHECKSIGVERIFY"
    NUMEQUALVERIFY = "NUMEQUALVERIFY"
    # logical/format/canonical errors
    BAD_OPCODE = "BAD_OPCODE"
    DISABLED_OPCODE = "DISABLED_OPCODE"
    INVALID_STACK_OPERATION = "INVALID_STACK_OPERATION"
    INVALID_ALTSTACK_OPERATION = "INVALID_ALTSTACK_OPERATION"
    UNBALANCED_CONDITIONAL = "UNBALANCED_CONDITIONAL"
    # CHECKLOCKTIMEVERIFY and CHECKSEQUENCEVERIFY
    NEGATIVE_LOCKTIME = "NEGATIVE_LOCKTIME"
    UNSATISFIED_LOCKTIME = "UNSATISFIED_LOCKTIME"
    # malleability
    SIG_HASHTYPE = "SIG_HASHTYPE"
    SIG_DER = "SIG_DER"
    MINIMALDATA = "MINIMALDATA"
    SIG_PUSHONLY = "SIG_PUSHONLY"
    SIG_HIGH_S = "SIG_HIGH_S"
    SIG_NULLDUMMY = "SIG_NULLDUMMY"
    PUBKEYTYPE = "PUBKEYTYPE"
    CLEANSTACK = "CLEANSTACK"
    MINIMALIF = "MINIMALIF"
    SIG_NULLFAIL = "NULLFAIL"
    # soft-fork safeness
    DISCOURAGE_UPGRADABLE_NOPS = "DISCOURAGE_UPGRADABLE_NOPS"
    DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM = "DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM"
    DISCOURAGE_UPGRADABLE_TAPROOT_VERSION = "DISCOURAGE_UPGRADABLE_TAPROOT_VERSION"
    DISCOURAGE_OP_SUCCESS = "DISCOURAGE_OP_SUCCESS"
    DISCOURAGE_UPGRADABLE_PUBKEYTYPE = "DISCOURAGE_UPGRADABLE_PUBKEYTYPE"
    # segregated witness
    WITNESS_PROGRAM_WRONG_LENGTH = "WITNESS_PROGRAM_WRONG_LENGTH"
    WITNESS_PROGRAM_WITNESS_EMPTY = "WITNESS_PROGRAM_WITNESS_EMPTY"
    WITNESS_PROGRAM_MISMATCH = "WITNESS_PROGRAM_MISMATCH"
    WITNESS_MALLEATED = "WITNESS_MALLEATED"
    WITNESS_MALLEATED_P2SH = "WITNESS_MALLEATED_P2SH"
    WITNESS_UNEXPECTED = "WITNESS_UNEXPECTED"
    WITNESS_PUBKEYTYPE = "WITNESS_PUBKEYTYPE"
    # taproot
    SCHNORR_SIG_SIZE = "SCHNORR_SIG_SIZE"
    SCHNORR_SIG_HASHTYPE = "SCHNORR_SIG_HASHTYPE"
    SCHNORR_SIG = "SCHNORR_SIG"
    TAPROOT_WRONG_CONTROL_SIZE = "TAPROOT_WRONG_CONTROL_SIZE"
    TAPSCRIPT_VALIDATION_WEIGHT = "TAPSCRIPT_VALIDATION_WEIGHT"
    TAPSCRIPT_CHECKMULTISIG = "TAPSCRIPT_CHECKMULTISIG"
    TAPSCRIPT_MINIMALIF = "TAPSCRIPT_MINIMALIF"
    TAPSCRIPT_EMPTY_PUBKEY = "TAPSCRIPT_EMPTY_PUBKEY"
    # constant scriptCode
    OP_CODESEPARATOR = "OP_CODESEPARATOR"
    SIG_FINDANDDELETE = "SIG_FINDANDDELETE"

    @classmethod
    def from_test_name(cls, name: str) -> ScriptError | None:
        """The code a script_tests.json expectation names; "OK" is None (success)."""
        return None if name == "OK" else cls(name)

    @property
    def message(self) -> str:
        """Core's ScriptErrorString text (used in reject reasons)."""
        return _MESSAGES.get(self, "unknown error")


_MESSAGES: dict[ScriptError, str] = {
    ScriptError.EVAL_FALSE: "Script evaluated without error but finished with a false/empty top stack element",
    ScriptError.VERIFY: "Script failed an OP_VERIFY operation",
    ScriptError.EQUALVERIFY: "Script failed an OP_EQUALVERIFY operation",
    ScriptError.CHECKMULTISIGVERIFY: "Script failed an OP_CHECKMULTISIGVERIFY operation",
    ScriptError.CHECKSIGVERIFY: "Script failed an OP_CHECKSIGVERIFY operation",
    ScriptError.NUMEQUALVERIFY: "Script failed an OP_NUMEQUALVERIFY operation",
    ScriptError.SCRIPT_SIZE: "Script is too big",
    ScriptError.PUSH_SIZE: "Push value size limit exceeded",
    ScriptError.OP_COUNT: "Operation limit exceeded",
    ScriptError.STACK_SIZE: "Stack size limit exceeded",
    ScriptError.SIG_COUNT: "Signature count negative or greater than pubkey count",
    ScriptError.PUBKEY_COUNT: "Pubkey count negative or limit exceeded",
    ScriptError.BAD_OPCODE: "Opcode missing or not understood",
    ScriptError.DISABLED_OPCODE: "Attempted to use a disabled opcode",
    ScriptError.INVALID_STACK_OPERATION: "Operation not valid with the current stack size",
    ScriptError.INVALID_ALTSTACK_OPERATION: "Operation not valid with the current altstack size",
    ScriptError.OP_RETURN: "OP_RETURN was encountered",
    ScriptError.UNBALANCED_CONDITIONAL: "Invalid OP_IF construction",
    ScriptError.NEGATIVE_LOCKTIME: "Negative locktime",
    ScriptError.UNSATISFIED_LOCKTIME: "Locktime requirement not satisfied",
    ScriptError.SIG_HASHTYPE: "Signature hash type missing or not understood",
    ScriptError.SIG_DER: "Non-canonical DER signature",
    ScriptError.MINIMALDATA: "Data push larger than necessary",
    ScriptError.SIG_PUSHONLY: "Only push operators allowed in signatures",
    ScriptError.SIG_HIGH_S: "Non-canonical signature: S value is unnecessarily high",
    ScriptError.SIG_NULLDUMMY: "Dummy CHECKMULTISIG argument must be zero",
    ScriptError.MINIMALIF: "OP_IF/NOTIF argument must be minimal",
    ScriptError.SIG_NULLFAIL: "Signature must be zero for failed CHECK(MULTI)SIG operation",
    ScriptError.DISCOURAGE_UPGRADABLE_NOPS: "NOPx reserved for soft-fork upgrades",
    ScriptError.DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM: "Witness version reserved for soft-fork upgrades",
    ScriptError.DISCOURAGE_UPGRADABLE_TAPROOT_VERSION: "Taproot version reserved for soft-fork upgrades",
    ScriptError.DISCOURAGE_OP_SUCCESS: "OP_SUCCESSx reserved for soft-fork upgrades",
    ScriptError.DISCOURAGE_UPGRADABLE_PUBKEYTYPE: "Public key version reserved for soft-fork upgrades",
    ScriptError.PUBKEYTYPE: "Public key is neither compressed or uncompressed",
    ScriptError.CLEANSTACK: "Stack size must be exactly one after execution",
    ScriptError.WITNESS_PROGRAM_WRONG_LENGTH: "Witness program has incorrect length",
    ScriptError.WITNESS_PROGRAM_WITNESS_EMPTY: "Witness program was passed an empty witness",
    ScriptError.WITNESS_PROGRAM_MISMATCH: "Witness program hash mismatch",
    ScriptError.WITNESS_MALLEATED: "Witness requires empty scriptSig",
    ScriptError.WITNESS_MALLEATED_P2SH: "Witness requires only-redeemscript scriptSig",
    ScriptError.WITNESS_UNEXPECTED: "Witness provided for non-witness script",
    ScriptError.WITNESS_PUBKEYTYPE: "Using non-compressed keys in segwit",
    ScriptError.SCHNORR_SIG_SIZE: "Invalid Schnorr signature size",
    ScriptError.SCHNORR_SIG_HASHTYPE: "Invalid Schnorr signature hash type",
    ScriptError.SCHNORR_SIG: "Invalid Schnorr signature",
    ScriptError.TAPROOT_WRONG_CONTROL_SIZE: "Invalid Taproot control block size",
    ScriptError.TAPSCRIPT_VALIDATION_WEIGHT: "Too much signature validation relative to witness weight",
    ScriptError.TAPSCRIPT_CHECKMULTISIG: "OP_CHECKMULTISIG(VERIFY) is not available in tapscript",
    ScriptError.TAPSCRIPT_MINIMALIF: "OP_IF/NOTIF argument must be minimal in tapscript",
    ScriptError.TAPSCRIPT_EMPTY_PUBKEY: "Empty public key in tapscript",
    ScriptError.OP_CODESEPARATOR: "Using OP_CODESEPARATOR in non-witness script",
    ScriptError.SIG_FINDANDDELETE: "Signature is found in scriptCode",
    ScriptError.SCRIPTNUM: "Script number overflowed or is non-minimally encoded",
}


class SigVersion(enum.IntEnum):
    BASE = 0  # bare scripts and BIP16 P2SH redeem scripts
    WITNESS_V0 = 1  # P2WPKH and P2WSH (BIP141/143)
    TAPROOT = 2  # witness v1 key path (BIP341)
    TAPSCRIPT = 3  # witness v1 script path, leaf version 0xc0 (BIP342)
