"""Bitcoin Core's script_tests.json, run the way script_tests.cpp (script_json_test/DoTest) runs it.

Each vector gives [[witness..., amount]?, scriptSig, scriptPubKey, flags, expected error, comment?].
The spend is checked inside Core's crediting/spending transaction pair and must end with exactly
the expected error. As in DoTest, removing random flags from a passing vector (or adding them to
a failing one) must not change whether it passes. Tapscript vectors carry placeholders
(#SCRIPT#, #CONTROLBLOCK#, #TAPROOTOUTPUT#) that are built here as Core builds them; the
internal key is BIP341's NUMS point instead of Core's key0, which no vector can tell apart.
Wherever the P2WPKH fast path (consensus/fastpath.py) takes a vector, under any of the flag sets
tried, it must give exactly the interpreter's result.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from hashforge.consensus.fastpath import NOT_HANDLED, verify_p2wpkh
from hashforge.consensus.interpreter import (
    ScriptError,
    ScriptFlags,
    TransactionSignatureChecker,
    format_flags,
    parse_flags,
    verify_script,
)
from hashforge.consensus.sighash import PrecomputedTxData
from hashforge.consensus.taproot import NUMS_H, single_leaf_spend
from hashforge.consensus.tx import TxOut
from tests.vectorfiles import VECTORS
from tests.vectors.coreformat import crediting_tx, parse_script_asm, spending_tx

RANDOM_FLAG_ROUNDS = 256  # as DoTest
SCRIPT_FLAG = "#SCRIPT#"


@dataclass
class ScriptVector:
    index: int
    script_sig: bytes
    script_pubkey: bytes
    witness: list[bytes]
    amount: int
    flags: ScriptFlags
    expected: ScriptError | None
    comment: str

    @property
    def label(self) -> str:
        return f"script_tests[{self.index}] {self.comment!r}"


def _parse(index: int, entry: list[object]) -> ScriptVector:
    witness: list[bytes] = []
    amount = 0
    output_key: bytes | None = None
    pos = 0
    if isinstance(entry[0], list):
        *items, btc = entry[0]
        for item in items:
            assert isinstance(item, str)
            if item.startswith(SCRIPT_FLAG):
                witness.append(parse_script_asm(item[len(SCRIPT_FLAG) :]))
            elif item == "#CONTROLBLOCK#":
                output_key, control = single_leaf_spend(NUMS_H, witness[-1])
                witness.append(control)
            else:
                witness.append(bytes.fromhex(item))
        amount = int(Decimal(str(btc)) * 100_000_000)
        pos = 1
    script_sig_asm, script_pubkey_asm, flags, expected = entry[pos : pos + 4]
    assert isinstance(script_sig_asm, str) and isinstance(script_pubkey_asm, str)
    assert isinstance(flags, str) and isinstance(expected, str)
    if script_pubkey_asm == "0x51 0x20 #TAPROOTOUTPUT#":
        assert output_key is not None, "TAPROOTOUTPUT without a control block"
        script_pubkey = b"\x51\x20" + output_key
    else:
        script_pubkey = parse_script_asm(script_pubkey_asm)
    comment = str(entry[pos + 4]) if len(entry) > pos + 4 else ""
    return ScriptVector(
        index,
        parse_script_asm(script_sig_asm),
        script_pubkey,
        witness,
        amount,
        parse_flags(flags),
        ScriptError.from_test_name(expected),
        comment or f"{script_sig_asm} | {script_pubkey_asm}",
    )


def load_script_vectors() -> list[ScriptVector]:
    import json

    raw = json.loads((VECTORS / "bitcoin-core/script_tests.json").read_text(), parse_float=Decimal)
    return [_parse(i, e) for i, e in enumerate(raw) if len(e) > 1]


def run_vector(v: ScriptVector, rng: random.Random) -> list[str]:
    credit = crediting_tx(v.script_pubkey, v.amount)
    spend = spending_tx(v.script_sig, v.witness, credit)
    checker = TransactionSignatureChecker(spend, 0, v.amount)
    spent, txdata = TxOut(v.amount, v.script_pubkey), PrecomputedTxData(spend)
    fast_differs: list[str] = []

    def verify(flags: int) -> ScriptError | None:
        got = verify_script(v.script_sig, v.script_pubkey, v.witness, flags, checker)
        fast = verify_p2wpkh(spend, 0, spent, flags, txdata)
        if fast is not NOT_HANDLED and fast != got and not fast_differs:
            fast_differs.append(f"fast path {fast} != {got} with flags {format_flags(flags)}")
        return got

    flags = int(v.flags)  # plain ints: IntFlag arithmetic would dominate the run time
    if flags & ScriptFlags.CLEANSTACK:
        flags |= ScriptFlags.P2SH | ScriptFlags.WITNESS
    got = verify(flags)
    if got != v.expected:
        return [
            f"got {got.value if got else 'OK'}, expected {v.expected.value if v.expected else 'OK'}"
        ]
    problems = []
    expect_ok = v.expected is None
    for _ in range(RANDOM_FLAG_ROUNDS):
        extra = rng.getrandbits(21)
        combined = flags & ~extra if expect_ok else flags | extra
        if combined & ScriptFlags.CLEANSTACK and ~combined & (
            ScriptFlags.P2SH | ScriptFlags.WITNESS
        ):
            continue
        if combined & ScriptFlags.WITNESS and ~combined & ScriptFlags.P2SH:
            continue
        if (verify(combined) is None) != expect_ok:
            problems.append(f"result changed with flags {format_flags(combined)}")
            break
    return problems + fast_differs


def test_script_tests_json() -> None:
    vectors = load_script_vectors()
    counts: Counter[str] = Counter()
    by_expected: Counter[str] = Counter()
    failures = []
    for v in vectors:
        problems = run_vector(v, random.Random(v.index))
        if problems:
            counts["failed"] += 1
            failures.append(f"{v.label}: {problems}")
        else:
            counts["passed"] += 1
            by_expected[v.expected.value if v.expected else "OK"] += 1
        if v.flags & ScriptFlags.TAPROOT:
            counts["of which TAPROOT"] += 1
    counts["unsupported"] += 0  # taproot is implemented: nothing is skipped
    print(f"\nscript_tests.json: {len(vectors)} vectors: {dict(counts)}")
    print(f"passed by expected result: {dict(by_expected.most_common())}")
    assert not failures, "\n".join(failures[:50])
    assert counts["passed"] == len(vectors)
