"""PSBT interoperability: hashforge's signer/finalizer against embit's independent ones.

embit is the container for our PSBTs, so the cross-check is on what is ours: signature hashes
(hashforge.consensus.sighash vs embit's own), signing (coincurve vs embit's secp256k1 bindings)
and finalizing (our finalizer vs embit.finalizer / embit's taproot signer). RFC 6979 makes ECDSA
deterministic, so both sides must produce byte-identical transactions. Every final transaction is
also checked by the consensus interpreter.
"""

from __future__ import annotations

import hashlib

import pytest
from embit.finalizer import finalize_psbt as embit_finalize
from embit.psbt import PSBT, DerivationPath
from embit.script import Script
from embit.transaction import Transaction as ETx
from embit.transaction import TransactionInput, TransactionOutput

from hashforge.consensus.params import REGTEST
from hashforge.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from hashforge.wallet import psbt as P
from hashforge.wallet.errors import PSBTError
from hashforge.wallet.keys import RECEIVE, Keyring, ScriptType, mnemonic_to_seed, root_key
from hashforge.wallet.signer import Coin, verify_signed

MNEMONIC = "abandon " * 11 + "about"
ROOT = root_key(mnemonic_to_seed(MNEMONIC), REGTEST)
KEYRING = Keyring(ROOT)


def _coins(script_type: ScriptType, n: int) -> list[Coin]:
    acc = KEYRING.account(script_type, REGTEST)
    out = []
    for i in range(n):
        d = acc.derive(RECEIVE, i)
        prev = hashlib.sha256(f"{script_type}{i}".encode()).digest()
        out.append(Coin(OutPoint(prev, i), TxOut(100_000 + i, d.script_pubkey), script_type, d.pubkey, d.path,
                        KEYRING.fingerprint))
    return out


def _unsigned(coins: list[Coin]) -> Transaction:
    dest = KEYRING.account(ScriptType.P2WPKH, REGTEST).derive(1, 7).script_pubkey
    total = sum(c.value for c in coins)
    return Transaction(2, tuple(TxIn(c.outpoint, b"", 0xFFFFFFFD) for c in coins),
                       (TxOut(total - 5_000, dest),), 100)


def _ours(coins: list[Coin]) -> str:
    return P.to_base64(P.create_psbt(_unsigned(coins), coins))


def _our_finalize(b64: str) -> Transaction:
    return P.finalize_psbt(P.parse_psbt(b64))


def test_p2wpkh_ours_signed_finalized_by_embit_identically() -> None:
    coins = _coins(ScriptType.P2WPKH, 3)
    psbt = P.parse_psbt(_ours(coins))
    assert P.sign_psbt(psbt, KEYRING.fingerprint, KEYRING.private_key) == 3
    signed_b64 = P.to_base64(psbt)
    ours = _our_finalize(signed_b64)
    theirs = embit_finalize(PSBT.from_string(signed_b64))
    assert theirs is not None and bytes(theirs.serialize()) == ours.serialize()
    verify_signed(ours, [c.txout for c in coins])


def test_p2wpkh_signed_by_embit_equals_signed_by_us() -> None:
    coins = _coins(ScriptType.P2WPKH, 2)
    b64 = _ours(coins)
    ep = PSBT.from_string(b64)
    assert ep.sign_with(ROOT) == 2  # embit's own sighash + signer on our PSBT
    by_embit = _our_finalize(ep.to_string())
    psbt = P.parse_psbt(b64)
    P.sign_psbt(psbt, KEYRING.fingerprint, KEYRING.private_key)
    by_us = _our_finalize(P.to_base64(psbt))
    assert by_embit.serialize() == by_us.serialize()  # RFC 6979: identical signatures


def test_embit_made_psbt_finalized_identically_by_us() -> None:
    """A PSBT built entirely with embit (no hashforge code), signed by embit: our finalizer and
    embit's give the same transaction; and our signer on embit's unsigned PSBT gives it too."""
    acc = ROOT.derive("m/84h/1h/0h")
    ins, utxos = [], []
    for i in range(2):
        child = acc.derive([0, i])
        spk = Script(b"\x00\x14" + hashlib.new("ripemd160", hashlib.sha256(child.sec()).digest()).digest())
        ins.append(TransactionInput(hashlib.sha256(b"e%d" % i).digest(), i, sequence=0xFFFFFFFD))
        utxos.append((TransactionOutput(50_000 * (i + 1), spk), child.sec(), [0x80000054, 0x80000001, 0x80000000, 0, i]))
    etx = ETx(version=2, vin=ins, vout=[TransactionOutput(140_000, utxos[0][0].script_pubkey)], locktime=0)
    ep = PSBT(etx)
    from embit import ec

    for inp, (utxo, sec, path) in zip(ep.inputs, utxos, strict=True):
        inp.unknown = {}
        inp.witness_utxo = utxo
        inp.bip32_derivations = {ec.PublicKey.parse(sec): DerivationPath(ROOT.my_fingerprint, path)}
    for out in ep.outputs:
        out.unknown = {}
    unsigned_b64 = ep.to_string()
    ep.sign_with(ROOT)
    embit_tx = embit_finalize(ep)
    ours_from_embit_sigs = _our_finalize(ep.to_string())
    assert bytes(embit_tx.serialize()) == ours_from_embit_sigs.serialize()
    mine = P.parse_psbt(unsigned_b64)
    assert P.sign_psbt(mine, KEYRING.fingerprint, KEYRING.private_key) == 2
    assert _our_finalize(P.to_base64(mine)).serialize() == bytes(embit_tx.serialize())
    verify_signed(ours_from_embit_sigs, [TxOut(u.value, bytes(u.script_pubkey.data)) for u, _, _ in utxos])


def test_taproot_keypath_both_ways() -> None:
    coins = _coins(ScriptType.P2TR, 2) + _coins(ScriptType.P2WPKH, 1)
    b64 = _ours(coins)
    # ours: BIP371 tap key sig (0x13) + our finalizer, checked by the interpreter
    psbt = P.parse_psbt(b64)
    assert P.sign_psbt(psbt, KEYRING.fingerprint, KEYRING.private_key) == 3
    signed = P.to_base64(psbt)
    assert P.is_complete(P.parse_psbt(signed))
    ours = _our_finalize(signed)
    verify_signed(ours, [c.txout for c in coins])
    # embit signs the same PSBT with its own BIP341 sighash and Schnorr: our finalizer accepts
    # its witnesses and extracts exactly what embit's finalizer extracts
    ep = PSBT.from_string(b64)
    assert ep.sign_with(ROOT) == 3
    theirs = embit_finalize(ep)
    assert _our_finalize(ep.to_string()).serialize() == bytes(theirs.serialize())
    verify_signed(Transaction.from_bytes(bytes(theirs.serialize())), [c.txout for c in coins])


def test_psbt_round_trips_through_embit_unchanged() -> None:
    coins = _coins(ScriptType.P2TR, 1)
    psbt = P.parse_psbt(_ours(coins))
    P.sign_psbt(psbt, KEYRING.fingerprint, KEYRING.private_key)
    b64 = P.to_base64(psbt)
    assert PSBT.from_string(b64).to_string() == b64  # the 0x13 field survives embit


def test_unsigned_psbt_is_incomplete_and_will_not_finalize() -> None:
    b64 = _ours(_coins(ScriptType.P2WPKH, 1))
    assert not P.is_complete(P.parse_psbt(b64))
    with pytest.raises(PSBTError, match="no signature"):
        _our_finalize(b64)


def test_foreign_keys_are_not_signed() -> None:
    other = Keyring.from_mnemonic("zoo " * 11 + "wrong", "", REGTEST)
    psbt = P.parse_psbt(_ours(_coins(ScriptType.P2WPKH, 2)))
    assert P.sign_psbt(psbt, other.fingerprint, other.private_key) == 0


def test_bad_signature_rejected_by_finalizer() -> None:
    coins = _coins(ScriptType.P2WPKH, 1)
    psbt = P.parse_psbt(_ours(coins))
    P.sign_psbt(psbt, KEYRING.fingerprint, KEYRING.private_key)
    pub = next(iter(psbt.inputs[0].partial_sigs))
    sig = bytearray(psbt.inputs[0].partial_sigs[pub])
    sig[10] ^= 1
    psbt.inputs[0].partial_sigs[pub] = bytes(sig)
    with pytest.raises(PSBTError, match="do not verify"):
        P.finalize_psbt(psbt)


@pytest.mark.parametrize(
    ("text", "match"),
    [("", "empty"), ("not base64!!", "base64"), ("aGVsbG8=", "magic"), ("cHNidP8BAAAA", "malformed")],
)
def test_malformed_psbt(text: str, match: str) -> None:
    with pytest.raises(PSBTError, match=match):
        P.parse_psbt(text)
