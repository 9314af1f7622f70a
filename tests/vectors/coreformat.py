"""Readers for Bitcoin Core's test-data conventions: script assembly, flags, crediting/spending txs."""

from __future__ import annotations

from collections.abc import Sequence

from hashforge.consensus.script import (
    MAX_OPCODE,
    OP_NOP,
    OP_RESERVED,
    get_op_name,
    push_data,
    push_int,
)
from hashforge.consensus.tx import OutPoint, Transaction, TxIn, TxOut


def _opcode_names() -> dict[str, int]:
    # As Core's ParseOpCode: every named opcode from OP_NOP up (and OP_RESERVED), with or
    # without its "OP_" prefix. Pushes and small numbers are written as numbers or hex.
    names: dict[str, int] = {}
    for op in range(MAX_OPCODE + 1):
        if op < OP_NOP and op != OP_RESERVED:
            continue
        name = get_op_name(op)
        if name == "OP_UNKNOWN":
            continue
        names[name] = op
        if name.startswith("OP_"):
            names[name[3:]] = op
    return names


_OPCODES = _opcode_names()


def parse_script_asm(text: str) -> bytes:
    """Core's ParseScript (core_io.cpp): decimal numbers, 0x raw hex, 'strings', opcode names."""
    out = bytearray()
    for word in text.split():
        is_num = word.isdigit() or (word.startswith("-") and len(word) > 1 and word[1:].isdigit())
        if is_num:
            n = int(word)
            if not -0xFFFFFFFF <= n <= 0xFFFFFFFF:
                raise ValueError(f"decimal out of range in script: {word}")
            out += push_int(n)
        elif word.startswith("0x") and len(word) > 2:
            out += bytes.fromhex(word[2:])
        elif len(word) >= 2 and word[0] == "'" and word[-1] == "'":
            out += push_data(word[1:-1].encode())
        elif word in _OPCODES:
            out.append(_OPCODES[word])
        else:
            raise ValueError(f"unknown opcode in script: {word}")
    return bytes(out)


def crediting_tx(script_pubkey: bytes, value: int) -> Transaction:
    """Core's BuildCreditingTransaction."""
    return Transaction(
        version=1,
        vin=(TxIn(OutPoint(), b"\x00\x00", 0xFFFFFFFF),),
        vout=(TxOut(value, script_pubkey),),
        locktime=0,
    )


def spending_tx(script_sig: bytes, witness: Sequence[bytes], credit: Transaction) -> Transaction:
    """Core's BuildSpendingTransaction."""
    return Transaction(
        version=1,
        vin=(TxIn(OutPoint(credit.txid, 0), script_sig, 0xFFFFFFFF, tuple(witness)),),
        vout=(TxOut(credit.vout[0].value, b""),),
        locktime=0,
    )
