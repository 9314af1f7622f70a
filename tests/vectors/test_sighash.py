"""Signature hashes: Core's sighash.json (legacy) and the BIP341 wallet vectors (taproot key path)."""

from __future__ import annotations

from typing import Any

import pytest

from hashforge.consensus.hashes import sha256
from hashforge.consensus.interpreter import (
    STANDARD_SCRIPT_VERIFY_FLAGS,
    ScriptError,
    verify_input,
    verify_transaction,
)
from hashforge.consensus.sighash import (
    MissingSpentOutputsError,
    PrecomputedTxData,
    legacy_sighash,
    taproot_sighash,
)
from hashforge.consensus.tx import Transaction, TxIn, TxOut
from hashforge.consensus.tx_check import check_transaction
from tests.vectorfiles import load_json


def test_sighash_json() -> None:
    """sighash.json: [rawTx, script, inputIndex, hashType, sigHashResult (display hex)]."""
    vectors = [v for v in load_json("bitcoin-core/sighash.json") if len(v) > 1]
    failures = []
    for index, (raw_tx, script, in_idx, hash_type, expected) in enumerate(vectors, start=1):
        tx = Transaction.from_hex(raw_tx)
        check_transaction(tx)  # Core's test requires every one to pass CheckTransaction
        got = legacy_sighash(bytes.fromhex(script), tx, in_idx, hash_type)[::-1].hex()
        if got != expected:
            failures.append(
                f"sighash.json[{index}] input {in_idx} type {hash_type}: {got} != {expected}"
            )
    print(
        f"\nsighash.json: {len(vectors)} vectors, {len(vectors) - len(failures)} passed, "
        f"{len(failures)} failed, 0 unsupported"
    )
    assert len(vectors) == 500
    assert not failures, "\n".join(failures[:20])


def _keypath_cases() -> list[Any]:
    return load_json("bitcoin-core/bip341_wallet_vectors.json")["keyPathSpending"]  # type: ignore[no-any-return]


def _spent(case: Any) -> list[TxOut]:
    return [
        TxOut(u["amountSats"], bytes.fromhex(u["scriptPubKey"]))
        for u in case["given"]["utxosSpent"]
    ]


@pytest.mark.parametrize("case", _keypath_cases())
def test_bip341_keypath_sighashes(case: Any) -> None:
    tx = Transaction.from_hex(case["given"]["rawUnsignedTx"])
    txdata = PrecomputedTxData(tx, _spent(case))
    inter = case["intermediary"]
    assert txdata.prevouts_single_hash.hex() == inter["hashPrevouts"]
    assert txdata.spent_amounts_single_hash.hex() == inter["hashAmounts"]
    assert txdata.spent_scripts_single_hash.hex() == inter["hashScriptPubkeys"]
    assert txdata.sequences_single_hash.hex() == inter["hashSequences"]
    assert txdata.outputs_single_hash.hex() == inter["hashOutputs"]
    assert len(case["inputSpending"]) == 7
    for spend in case["inputSpending"]:
        given = spend["given"]
        got = taproot_sighash(txdata, given["txinIndex"], given["hashType"])
        assert got is not None
        assert got.hex() == spend["intermediary"]["sigHash"], f"input {given['txinIndex']}"


@pytest.mark.parametrize("case", _keypath_cases())
def test_bip341_fully_signed_tx_verifies(case: Any) -> None:
    """The signed tx (taproot key paths beside P2PKH and P2WPKH inputs) passes standard flags."""
    tx = Transaction.from_hex(case["auxiliary"]["fullySignedTx"])
    spent = _spent(case)
    assert verify_transaction(tx, spent, STANDARD_SCRIPT_VERIFY_FLAGS) is None

    # Each key-path signature commits to its input: corrupt one and only that input fails.
    for spend in case["inputSpending"]:
        i = spend["given"]["txinIndex"]
        witness = tx.vin[i].witness
        bad_sig = bytes([witness[0][0] ^ 1]) + witness[0][1:]
        vin = list(tx.vin)
        vin[i] = TxIn(vin[i].prevout, vin[i].script_sig, vin[i].sequence, (bad_sig,))
        bad = Transaction(tx.version, tuple(vin), tx.vout, tx.locktime)
        assert verify_transaction(bad, spent, STANDARD_SCRIPT_VERIFY_FLAGS) == (
            i,
            ScriptError.SCHNORR_SIG,
        )


def test_taproot_sighash_rejects_undefined_types_and_missing_outputs() -> None:
    case = _keypath_cases()[0]
    tx = Transaction.from_hex(case["given"]["rawUnsignedTx"])
    txdata = PrecomputedTxData(tx, _spent(case))
    for bad_type in (0x04, 0x80, 0x84, 0xFF):
        assert taproot_sighash(txdata, 0, bad_type) is None
    # SIGHASH_SINGLE without a matching output
    assert len(tx.vout) < len(tx.vin)
    assert taproot_sighash(txdata, len(tx.vin) - 1, 0x03) is None
    with pytest.raises(MissingSpentOutputsError):
        taproot_sighash(PrecomputedTxData(tx), 0, 0x00)
    # the annex changes the hash (it is committed to)
    plain = taproot_sighash(txdata, 0, 0x00)
    with_annex = taproot_sighash(txdata, 0, 0x00, annex=b"\x50\x01")
    assert plain != with_annex and with_annex is not None
    assert sha256(b"") != plain


def test_verify_input_taproot_needs_spent_outputs() -> None:
    case = _keypath_cases()[0]
    tx = Transaction.from_hex(case["auxiliary"]["fullySignedTx"])
    spent = _spent(case)
    taproot_in = next(i for i, o in enumerate(spent) if o.script_pubkey[:2] == b"\x51\x20")
    with pytest.raises(MissingSpentOutputsError):
        verify_input(tx, taproot_in, spent[taproot_in], STANDARD_SCRIPT_VERIFY_FLAGS)
    assert (
        verify_input(tx, taproot_in, spent[taproot_in], STANDARD_SCRIPT_VERIFY_FLAGS, spent) is None
    )
