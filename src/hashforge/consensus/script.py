"""Bitcoin script: opcodes, parsing, push and number encoding, template classification, sigop counting."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .tx import Transaction, TxOut

# --- opcodes (names and values as in Core's script.h) -----------------------------------------

OP_0 = OP_FALSE = 0x00
OP_PUSHDATA1 = 0x4C
OP_PUSHDATA2 = 0x4D
OP_PUSHDATA4 = 0x4E
OP_1NEGATE = 0x4F
OP_RESERVED = 0x50
OP_1 = OP_TRUE = 0x51
OP_2, OP_3, OP_4, OP_5, OP_6, OP_7, OP_8 = range(0x52, 0x59)
OP_9, OP_10, OP_11, OP_12, OP_13, OP_14, OP_15, OP_16 = range(0x59, 0x61)

OP_NOP = 0x61
OP_VER = 0x62
OP_IF = 0x63
OP_NOTIF = 0x64
OP_VERIF = 0x65
OP_VERNOTIF = 0x66
OP_ELSE = 0x67
OP_ENDIF = 0x68
OP_VERIFY = 0x69
OP_RETURN = 0x6A

OP_TOALTSTACK = 0x6B
OP_FROMALTSTACK = 0x6C
OP_2DROP = 0x6D
OP_2DUP = 0x6E
OP_3DUP = 0x6F
OP_2OVER = 0x70
OP_2ROT = 0x71
OP_2SWAP = 0x72
OP_IFDUP = 0x73
OP_DEPTH = 0x74
OP_DROP = 0x75
OP_DUP = 0x76
OP_NIP = 0x77
OP_OVER = 0x78
OP_PICK = 0x79
OP_ROLL = 0x7A
OP_ROT = 0x7B
OP_SWAP = 0x7C
OP_TUCK = 0x7D

OP_CAT = 0x7E
OP_SUBSTR = 0x7F
OP_LEFT = 0x80
OP_RIGHT = 0x81
OP_SIZE = 0x82

OP_INVERT = 0x83
OP_AND = 0x84
OP_OR = 0x85
OP_XOR = 0x86
OP_EQUAL = 0x87
OP_EQUALVERIFY = 0x88
OP_RESERVED1 = 0x89
OP_RESERVED2 = 0x8A

OP_1ADD = 0x8B
OP_1SUB = 0x8C
OP_2MUL = 0x8D
OP_2DIV = 0x8E
OP_NEGATE = 0x8F
OP_ABS = 0x90
OP_NOT = 0x91
OP_0NOTEQUAL = 0x92
OP_ADD = 0x93
OP_SUB = 0x94
OP_MUL = 0x95
OP_DIV = 0x96
OP_MOD = 0x97
OP_LSHIFT = 0x98
OP_RSHIFT = 0x99
OP_BOOLAND = 0x9A
OP_BOOLOR = 0x9B
OP_NUMEQUAL = 0x9C
OP_NUMEQUALVERIFY = 0x9D
OP_NUMNOTEQUAL = 0x9E
OP_LESSTHAN = 0x9F
OP_GREATERTHAN = 0xA0
OP_LESSTHANOREQUAL = 0xA1
OP_GREATERTHANOREQUAL = 0xA2
OP_MIN = 0xA3
OP_MAX = 0xA4
OP_WITHIN = 0xA5

OP_RIPEMD160 = 0xA6
OP_SHA1 = 0xA7
OP_SHA256 = 0xA8
OP_HASH160 = 0xA9
OP_HASH256 = 0xAA
OP_CODESEPARATOR = 0xAB
OP_CHECKSIG = 0xAC
OP_CHECKSIGVERIFY = 0xAD
OP_CHECKMULTISIG = 0xAE
OP_CHECKMULTISIGVERIFY = 0xAF

OP_NOP1 = 0xB0
OP_CHECKLOCKTIMEVERIFY = OP_NOP2 = 0xB1
OP_CHECKSEQUENCEVERIFY = OP_NOP3 = 0xB2
OP_NOP4 = 0xB3
OP_NOP5 = 0xB4
OP_NOP6 = 0xB5
OP_NOP7 = 0xB6
OP_NOP8 = 0xB7
OP_NOP9 = 0xB8
OP_NOP10 = 0xB9
OP_CHECKSIGADD = 0xBA  # tapscript only
OP_INVALIDOPCODE = 0xFF

MAX_OPCODE = OP_NOP10

# Limits (script.h)
MAX_SCRIPT_ELEMENT_SIZE = 520
MAX_OPS_PER_SCRIPT = 201
MAX_PUBKEYS_PER_MULTISIG = 20
MAX_PUBKEYS_PER_MULTI_A = 999
MAX_SCRIPT_SIZE = 10_000
MAX_STACK_SIZE = 1000
LOCKTIME_THRESHOLD = 500_000_000
ANNEX_TAG = 0x50
VALIDATION_WEIGHT_PER_SIGOP_PASSED = 50
VALIDATION_WEIGHT_OFFSET = 50
WITNESS_SCALE_FACTOR = 4


def _build_names() -> dict[int, str]:
    names = {v: k for k, v in globals().items() if k.startswith("OP_") and isinstance(v, int)}
    # Where Core has two names for one value, GetOpName uses these:
    names.update(
        {
            OP_0: "0",
            OP_1NEGATE: "-1",
            OP_CHECKLOCKTIMEVERIFY: "OP_CHECKLOCKTIMEVERIFY",
            OP_CHECKSEQUENCEVERIFY: "OP_CHECKSEQUENCEVERIFY",
        }
    )
    for n in range(1, 17):
        names[OP_1 + n - 1] = str(n)
    return names


OPCODE_NAMES: dict[int, str] = _build_names()


def get_op_name(opcode: int) -> str:
    """Core's GetOpName: "OP_DUP", "0", "1".."16", "-1", "OP_UNKNOWN"."""
    return OPCODE_NAMES.get(opcode, "OP_UNKNOWN")


def decode_op_n(opcode: int) -> int:
    """OP_0 -> 0, OP_1..OP_16 -> 1..16 (Core's DecodeOP_N)."""
    if opcode == OP_0:
        return 0
    if not OP_1 <= opcode <= OP_16:
        raise ValueError(f"not a small-integer opcode: {opcode:#x}")
    return opcode - (OP_1 - 1)


def encode_op_n(n: int) -> int:
    if not 0 <= n <= 16:
        raise ValueError(f"small integer out of range: {n}")
    return OP_0 if n == 0 else OP_1 + n - 1


def is_op_success(opcode: int) -> bool:
    """BIP342 OP_SUCCESSx opcodes (tapscript only)."""
    return (
        opcode in (80, 98)
        or 126 <= opcode <= 129
        or 131 <= opcode <= 134
        or 137 <= opcode <= 138
        or 141 <= opcode <= 142
        or 149 <= opcode <= 153
        or 187 <= opcode <= 254
    )


# --- parsing -----------------------------------------------------------------------------------


class ScriptParseError(ValueError):
    """A push whose length runs past the end of the script."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos  # where Core's GetOp leaves its iterator after the failed read


class ScriptOp(NamedTuple):
    opcode: int
    data: bytes | None  # push payload for opcodes 0x00..0x4e, else None
    start: int  # offset of the opcode byte
    end: int  # offset just past the op


class ParsedScript(NamedTuple):
    ops: tuple[ScriptOp, ...]
    # None if the whole script parsed; else where Core's GetOp stops after the bad op (the
    # truncated push follows the last op in `ops`).
    error_pos: int | None


@lru_cache(maxsize=8192)
def parse_script(script: bytes) -> ParsedScript:
    """All ops of `script` up to the first truncated push (cached: scripts are re-run often)."""
    ops: list[ScriptOp] = []
    pos = 0
    end = len(script)
    while pos < end:
        start = pos
        opcode = script[pos]
        pos += 1
        if opcode > OP_PUSHDATA4:
            ops.append(ScriptOp(opcode, None, start, pos))
            continue
        if opcode < OP_PUSHDATA1:
            size = opcode
        elif opcode == OP_PUSHDATA1:
            if end - pos < 1:
                return ParsedScript(tuple(ops), pos)
            size = script[pos]
            pos += 1
        elif opcode == OP_PUSHDATA2:
            if end - pos < 2:
                return ParsedScript(tuple(ops), pos)
            size = int.from_bytes(script[pos : pos + 2], "little")
            pos += 2
        else:
            if end - pos < 4:
                return ParsedScript(tuple(ops), pos)
            size = int.from_bytes(script[pos : pos + 4], "little")
            pos += 4
        if end - pos < size:
            return ParsedScript(tuple(ops), pos)
        ops.append(ScriptOp(opcode, script[pos : pos + size], start, pos + size))
        pos += size
    return ParsedScript(tuple(ops), None)


def iter_ops(script: bytes) -> Iterator[ScriptOp]:
    """Each op of `script` in order; raises ScriptParseError at a truncated push."""
    parsed = parse_script(script)
    yield from parsed.ops
    if parsed.error_pos is not None:
        raise ScriptParseError("script push runs past the end of the script", parsed.error_pos)


def is_valid_script(script: bytes) -> bool:
    return parse_script(script).error_pos is None


def has_valid_ops(script: bytes) -> bool:
    """Core's HasValidOps: parses, every opcode known (<= OP_NOP10), no push over 520 bytes."""
    parsed = parse_script(script)
    if parsed.error_pos is not None:
        return False
    return all(
        op.opcode <= MAX_OPCODE and (op.data is None or len(op.data) <= MAX_SCRIPT_ELEMENT_SIZE)
        for op in parsed.ops
    )


# --- pushes -----------------------------------------------------------------------------------


def push_data(data: bytes) -> bytes:
    """`data` as one push in the shortest PUSHDATA form (Core's `CScript() << vector`; never OP_N)."""
    n = len(data)
    if n < OP_PUSHDATA1:
        return bytes([n]) + data
    if n <= 0xFF:
        return bytes([OP_PUSHDATA1, n]) + data
    if n <= 0xFFFF:
        return bytes([OP_PUSHDATA2]) + n.to_bytes(2, "little") + data
    return bytes([OP_PUSHDATA4]) + n.to_bytes(4, "little") + data


def push_int(n: int) -> bytes:
    """A number as Core's `CScript() << int64` writes it: OP_0, OP_1NEGATE, OP_1..16 or a push."""
    if n == 0:
        return bytes([OP_0])
    if n == -1 or 1 <= n <= 16:
        return bytes([n + (OP_1 - 1)])
    return push_data(encode_num(n))


def minimal_push(data: bytes) -> bytes:
    """The push that CheckMinimalPush accepts for `data` (OP_0, OP_1..16, OP_1NEGATE where possible)."""
    if not data:
        return bytes([OP_0])
    if len(data) == 1 and 1 <= data[0] <= 16:
        return bytes([OP_1 + data[0] - 1])
    if data == b"\x81":
        return bytes([OP_1NEGATE])
    return push_data(data)


def is_minimal_push(opcode: int, data: bytes) -> bool:
    """Core's CheckMinimalPush for a push opcode (0x00..0x4e) and the data it pushed."""
    n = len(data)
    if n == 0:
        return opcode == OP_0
    if n == 1 and 1 <= data[0] <= 16:
        return False
    if n == 1 and data[0] == 0x81:
        return False
    if n <= 75:
        return opcode == n
    if n <= 255:
        return opcode == OP_PUSHDATA1
    if n <= 65535:
        return opcode == OP_PUSHDATA2
    return True


# --- CScriptNum -------------------------------------------------------------------------------

DEFAULT_MAX_NUM_SIZE = 4


class ScriptNumError(ValueError):
    """A stack element that is not a valid script number (too long or not minimally encoded)."""


def encode_num(n: int) -> bytes:
    """CScriptNum serialization: little-endian magnitude, sign in the top bit, 0 is empty."""
    if n == 0:
        return b""
    neg = n < 0
    absval = -n if neg else n
    out = bytearray()
    while absval:
        out.append(absval & 0xFF)
        absval >>= 8
    if out[-1] & 0x80:
        out.append(0x80 if neg else 0x00)
    elif neg:
        out[-1] |= 0x80
    return bytes(out)


def decode_num(
    data: bytes, require_minimal: bool = False, max_size: int = DEFAULT_MAX_NUM_SIZE
) -> int:
    """CScriptNum from a stack element; raises ScriptNumError as Core throws scriptnum_error."""
    if len(data) > max_size:
        raise ScriptNumError("script number overflow")
    if not data:
        return 0
    if require_minimal and not data[-1] & 0x7F and (len(data) <= 1 or not data[-2] & 0x80):
        raise ScriptNumError("non-minimally encoded script number")
    value = int.from_bytes(data, "little")
    if data[-1] & 0x80:
        return -(value & ~(0x80 << (8 * (len(data) - 1))))
    return value


def cast_to_bool(data: bytes) -> bool:
    """Script truth: any non-zero byte, except that a lone trailing 0x80 is negative zero."""
    for i, b in enumerate(data):
        if b:
            return not (i == len(data) - 1 and b == 0x80)
    return False


# --- templates --------------------------------------------------------------------------------


def is_p2pkh(script: bytes) -> bool:
    return (
        len(script) == 25
        and script[0] == OP_DUP
        and script[1] == OP_HASH160
        and script[2] == 20
        and script[23] == OP_EQUALVERIFY
        and script[24] == OP_CHECKSIG
    )


def is_p2sh(script: bytes) -> bool:
    """Core's IsPayToScriptHash: exactly HASH160 <20 bytes> EQUAL."""
    return (
        len(script) == 23 and script[0] == OP_HASH160 and script[1] == 20 and script[22] == OP_EQUAL
    )


def witness_program(script: bytes) -> tuple[int, bytes] | None:
    """(version, program) if `script` is a witness program (Core's IsWitnessProgram), else None."""
    n = len(script)
    if n < 4 or n > 42:
        return None
    if script[0] != OP_0 and not OP_1 <= script[0] <= OP_16:
        return None
    if script[1] + 2 != n:
        return None
    return decode_op_n(script[0]), script[2:]


def is_witness_program(script: bytes) -> bool:
    return witness_program(script) is not None


def is_p2wpkh(script: bytes) -> bool:
    return len(script) == 22 and script[0] == OP_0 and script[1] == 20


def is_p2wsh(script: bytes) -> bool:
    return len(script) == 34 and script[0] == OP_0 and script[1] == 32


def is_p2tr(script: bytes) -> bool:
    return len(script) == 34 and script[0] == OP_1 and script[1] == 32


def is_pay_to_anchor(script: bytes) -> bool:
    return script == b"\x51\x02\x4e\x73"


def is_unspendable(script: bytes) -> bool:
    """Provably unspendable: starts with OP_RETURN, or is longer than MAX_SCRIPT_SIZE."""
    return (len(script) > 0 and script[0] == OP_RETURN) or len(script) > MAX_SCRIPT_SIZE


def is_push_only(script: bytes) -> bool:
    """Only push opcodes (OP_RESERVED counts, as in Core) and no truncated push."""
    parsed = parse_script(script)
    return parsed.error_pos is None and all(op.opcode <= OP_16 for op in parsed.ops)


def _next_op(script: bytes, pc: int) -> int | None:
    """Offset after the op at `pc`, or None where Core's GetOp fails (end of script, bad push)."""
    end = len(script)
    if pc >= end:
        return None
    opcode = script[pc]
    pc += 1
    if opcode > OP_PUSHDATA4:
        return pc
    if opcode < OP_PUSHDATA1:
        size = opcode
    else:
        width = {OP_PUSHDATA1: 1, OP_PUSHDATA2: 2, OP_PUSHDATA4: 4}[opcode]
        if end - pc < width:
            return None
        size = int.from_bytes(script[pc : pc + width], "little")
        pc += width
    if end - pc < size:
        return None
    return pc + size


def find_and_delete(script: bytes, pattern: bytes) -> tuple[bytes, int]:
    """Core's FindAndDelete: remove every op-aligned occurrence of `pattern`; (result, count)."""
    if not pattern or pattern not in script:
        return script, 0
    out = bytearray()
    found = 0
    plen = len(pattern)
    pc: int | None = 0
    keep_from = 0
    while pc is not None:
        out += script[keep_from:pc]
        while script.startswith(pattern, pc):
            pc += plen
            found += 1
        keep_from = pc
        pc = _next_op(script, pc)
    if not found:
        return script, 0
    out += script[keep_from:]
    return bytes(out), found


# --- sigops -----------------------------------------------------------------------------------


# Every byte value but OP_CHECKSIG(VERIFY) and OP_CHECKMULTISIG(VERIFY) (0xac-0xaf, contiguous).
_NOT_SIGOP_BYTES = bytes(b for b in range(256) if not OP_CHECKSIG <= b <= OP_CHECKMULTISIGVERIFY)


def get_sigop_count(script: bytes, accurate: bool) -> int:
    """Core's GetSigOpCount: CHECKSIG counts 1, CHECKMULTISIG 20 (or its key count if accurate)."""
    if not script.translate(None, _NOT_SIGOP_BYTES):
        return 0  # no byte could be a signature opcode: skip parsing
    if len(script) >= 2 and script[1] <= 75 and script[1] + 2 == len(script) and (
        script[0] == OP_0 or OP_1 <= script[0] <= OP_16
    ):
        return 0  # OP_n and one direct push of the rest: every witness program (P2WPKH, P2TR ...)
    n = 0
    last = OP_INVALIDOPCODE
    for op in parse_script(script).ops:
        opcode = op.opcode
        if opcode in (OP_CHECKSIG, OP_CHECKSIGVERIFY):
            n += 1
        elif opcode in (OP_CHECKMULTISIG, OP_CHECKMULTISIGVERIFY):
            if accurate and OP_1 <= last <= OP_16:
                n += decode_op_n(last)
            else:
                n += MAX_PUBKEYS_PER_MULTISIG
        last = opcode
    return n


def get_p2sh_sigop_count(script_pubkey: bytes, script_sig: bytes) -> int:
    """Sigops of the redeem script a P2SH scriptSig reveals (Core's GetSigOpCount(scriptSig))."""
    if not is_p2sh(script_pubkey):
        return get_sigop_count(script_pubkey, True)
    parsed = parse_script(script_sig)
    if parsed.error_pos is not None:
        return 0
    last_data = b""
    for op in parsed.ops:
        if op.opcode > OP_16:
            return 0
        last_data = op.data if op.data is not None else b""
    return get_sigop_count(last_data, True)


def _witness_program_sigops(version: int, program: bytes, witness: Sequence[bytes]) -> int:
    if version == 0:
        if len(program) == 20:
            return 1
        if len(program) == 32 and witness:
            return get_sigop_count(witness[-1], True)
    return 0


def witness_sigop_count(script_sig: bytes, script_pubkey: bytes, witness: Sequence[bytes]) -> int:
    """Core's CountWitnessSigOps for an input, assuming the WITNESS flag (and so P2SH) is on."""
    prog = witness_program(script_pubkey)
    if prog is not None:
        return _witness_program_sigops(prog[0], prog[1], witness)
    if is_p2sh(script_pubkey) and is_push_only(script_sig):
        ops = parse_script(script_sig).ops
        last = ops[-1].data if ops and ops[-1].data is not None else b""
        prog = witness_program(last)
        if prog is not None:
            return _witness_program_sigops(prog[0], prog[1], witness)
    return 0


def legacy_sigop_count(tx: Transaction) -> int:
    """Core's GetLegacySigOpCount: inaccurate count over every scriptSig and scriptPubKey."""
    scripts = [i.script_sig for i in tx.vin] + [o.script_pubkey for o in tx.vout]
    if not b"".join(scripts).translate(None, _NOT_SIGOP_BYTES):
        return 0  # asked twice per transaction of every block: one C-level scan for most
    return sum(get_sigop_count(s, False) for s in scripts)


def p2sh_sigop_count(tx: Transaction, spent_outputs: Sequence[TxOut]) -> int:
    """Core's GetP2SHSigOpCount: redeem-script sigops of the P2SH inputs (0 for a coinbase)."""
    if tx.is_coinbase():
        return 0
    return sum(
        get_p2sh_sigop_count(prev.script_pubkey, txin.script_sig)
        for txin, prev in zip(tx.vin, spent_outputs, strict=True)
        if is_p2sh(prev.script_pubkey)
    )
