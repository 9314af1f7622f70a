"""Bitcoin Core's tx_valid.json / tx_invalid.json, run the way transaction_tests.cpp runs them.

tx_valid: each vector lists the flags to EXCLUDE. The tx must pass CheckTransaction and verify
under all other flags; removing any one flag (or a random set) must keep it valid; and adding
back any one excluded flag must make it fail (the excluded set is minimal).
tx_invalid: "BADTX" vectors must fail CheckTransaction; the others list the flags to INCLUDE,
must fail under them, under any added flag(s), and pass when any one listed flag is removed.
Each P2WPKH input the fast path (consensus/fastpath.py) takes must get the interpreter's result.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from hashforge.consensus.fastpath import NOT_HANDLED, verify_p2wpkh
from hashforge.consensus.interpreter import (
    ALL_SCRIPT_FLAGS,
    ScriptFlags,
    TransactionSignatureChecker,
    format_flags,
    parse_flags,
    verify_script,
)
from hashforge.consensus.sighash import PrecomputedTxData
from hashforge.consensus.tx import OutPoint, Transaction, TxOut
from hashforge.consensus.tx_check import TxValidationError, check_transaction
from tests.vectorfiles import load_json
from tests.vectors.coreformat import parse_script_asm

FLAG_NAMES = [f for f in ScriptFlags if f]  # Core's mapFlagNames: every single flag
assert len(FLAG_NAMES) == 21


@dataclass
class Vector:
    index: int
    comment: str
    prevouts: dict[OutPoint, TxOut]  # a missing amount is 0, as in Core's test
    tx: Transaction
    flags: str
    raw: Any


def load_vectors(name: str) -> list[Vector]:
    vectors = []
    comment: list[str] = []
    for index, entry in enumerate(load_json(f"bitcoin-core/{name}")):
        if not isinstance(entry[0], list):
            comment.append(" ".join(str(e) for e in entry))
            continue
        assert len(entry) == 3, f"{name}[{index}]: bad test {entry}"
        prevouts = {}
        for prev in entry[0]:
            assert 3 <= len(prev) <= 4, f"{name}[{index}]: bad prevout {prev}"
            outpoint = OutPoint(bytes.fromhex(prev[0])[::-1], prev[1] & 0xFFFFFFFF)
            amount = prev[3] if len(prev) == 4 else 0
            prevouts[outpoint] = TxOut(amount, parse_script_asm(prev[2]))
        tx = Transaction.from_hex(entry[1])
        vectors.append(Vector(index, " / ".join(comment), prevouts, tx, entry[2], entry))
        comment = []
    return vectors


def trim_flags(flags: int) -> int:
    """WITNESS needs P2SH and CLEANSTACK needs WITNESS: drop what lacks its prerequisite."""
    if not flags & ScriptFlags.P2SH:
        flags &= ~ScriptFlags.WITNESS
    if not flags & ScriptFlags.WITNESS:
        flags &= ~ScriptFlags.CLEANSTACK
    return flags


def fill_flags(flags: int) -> int:
    """Add the prerequisites instead: CLEANSTACK implies WITNESS implies P2SH."""
    if flags & ScriptFlags.CLEANSTACK:
        flags |= ScriptFlags.WITNESS
    if flags & ScriptFlags.WITNESS:
        flags |= ScriptFlags.P2SH
    return flags


def exclude_individual_flags(flags: int) -> set[int]:
    """Every distinct valid flag set made by removing one flag from `flags`."""
    out = set()
    for f in FLAG_NAMES:
        without = trim_flags(flags & ~f)
        if without != flags:
            out.add(without)
    return out


def invert(flags: int) -> int:
    return ALL_SCRIPT_FLAGS & ~flags


def tx_scripts_as_expected(v: Vector, flags: int, expect_valid: bool) -> bool:
    """Core's CheckTxScripts: verify inputs in order until one fails."""
    spent = [v.prevouts.get(i.prevout, TxOut(0, b"")) for i in v.tx.vin]
    txdata = PrecomputedTxData(v.tx, spent)
    valid = True
    for i, txin in enumerate(v.tx.vin):
        prev = v.prevouts[txin.prevout]
        checker = TransactionSignatureChecker(v.tx, i, prev.value, txdata)
        err = verify_script(txin.script_sig, prev.script_pubkey, txin.witness, flags, checker)
        fast = verify_p2wpkh(v.tx, i, prev, flags, txdata)
        assert fast is NOT_HANDLED or fast == err, f"vector {v.index} input {i}: fast path {fast} != {err}"
        if err is not None:
            valid = False
            break
    return valid == expect_valid


def run_valid(v: Vector, rng: random.Random) -> list[str]:
    problems = []
    try:
        check_transaction(v.tx)
    except TxValidationError as e:
        return [f"CheckTransaction failed: {e.reason}"]
    excluded = parse_flags(v.flags)
    if invert(excluded) != fill_flags(invert(excluded)):
        problems.append("bad test flags")
    if not tx_scripts_as_expected(v, invert(excluded), True):
        return [*problems, f"failed with flags {format_flags(invert(excluded))}"]
    for f in FLAG_NAMES:
        flags = trim_flags(invert(excluded | f))
        if not tx_scripts_as_expected(v, flags, True):
            problems.append(f"failed with {f.name} also unset")
        flags = trim_flags(invert(excluded | rng.getrandbits(len(FLAG_NAMES))))
        if not tx_scripts_as_expected(v, flags, True):
            problems.append(f"failed with random flags {format_flags(flags)}")
    for fewer in exclude_individual_flags(excluded):
        if not tx_scripts_as_expected(v, invert(fewer), False):
            problems.append(f"too many flags unset: still valid with {format_flags(invert(fewer))}")
    return problems


def run_invalid(v: Vector, rng: random.Random) -> list[str]:
    try:
        check_transaction(v.tx)
    except TxValidationError as e:
        return [] if v.flags == "BADTX" else [f"unexpected CheckTransaction failure {e.reason}"]
    if v.flags == "BADTX":
        return ["passed CheckTransaction but is marked BADTX"]
    problems = []
    flags = parse_flags(v.flags)
    if flags != fill_flags(flags):
        problems.append("bad test flags")
    if not tx_scripts_as_expected(v, flags, False):
        return [*problems, f"passed with flags {format_flags(flags)}"]
    for f in FLAG_NAMES:
        more = fill_flags(flags | f)
        if not tx_scripts_as_expected(v, more, False):
            problems.append(f"passed with {f.name} also set")
        more = fill_flags(flags | rng.getrandbits(len(FLAG_NAMES)))
        if not tx_scripts_as_expected(v, more, False):
            problems.append(f"passed with random flags {format_flags(more)}")
    for fewer in exclude_individual_flags(flags):
        if not tx_scripts_as_expected(v, fewer, True):
            problems.append(f"too many flags set: still invalid with {format_flags(fewer)}")
    return problems


def _uses_taproot(v: Vector) -> bool:
    return any(p.script_pubkey[:2] == b"\x51\x20" for p in v.prevouts.values())


def _run_file(name: str, runner: Any) -> None:
    vectors = load_vectors(name)
    counts: Counter[str] = Counter()
    failures = []
    for v in vectors:
        problems = runner(v, random.Random(f"{name}:{v.index}"))
        if problems:
            counts["failed"] += 1
            failures.append(f"{name}[{v.index}] ({v.comment}): {problems[:3]}")
        else:
            counts["passed"] += 1
        if _uses_taproot(v):
            counts["of which spend witness v1 (taproot) outputs"] += 1
        if v.flags == "BADTX":
            counts["of which BADTX"] += 1
    counts["unsupported"] += 0  # taproot is implemented: nothing is skipped
    print(f"\n{name}: {len(vectors)} vectors: {dict(counts)}")
    assert not failures, "\n".join(failures)
    assert counts["passed"] == len(vectors)


def test_tx_valid() -> None:
    _run_file("tx_valid.json", run_valid)


def test_tx_invalid() -> None:
    _run_file("tx_invalid.json", run_invalid)
