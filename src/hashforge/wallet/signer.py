"""Signatures for the wallet's inputs: P2WPKH (BIP143 ECDSA), P2TR key path (BIP341 Schnorr) and
P2PKH (legacy ECDSA in the scriptSig, for networks without segwit such as Dogecoin).

Signature hashes come from `hashforge.consensus.sighash`, signatures from coincurve
(libsecp256k1: RFC 6979, low-S ECDSA; BIP340 Schnorr). Every signed input is verified with the
consensus interpreter under the standard flags before the transaction leaves this module.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import coincurve
from coincurve._libsecp256k1 import ffi
from embit import ec  # type: ignore[import-untyped]

from hashforge.consensus.address import p2pkh_script
from hashforge.consensus.hashes import hash160
from hashforge.consensus.interpreter import verify_input
from hashforge.consensus.script import push_data
from hashforge.consensus.script_flags import STANDARD_SCRIPT_VERIFY_FLAGS
from hashforge.consensus.sighash import (
    SIGHASH_ALL,
    SIGHASH_DEFAULT,
    PrecomputedTxData,
    legacy_sighash,
    segwit_v0_sighash,
    taproot_sighash,
)
from hashforge.consensus.tx import OutPoint, Transaction, TxIn, TxOut

from .errors import SigningError
from .keys import ScriptType


@dataclass(frozen=True)
class Coin:
    """An output the wallet can spend, with what signing it needs (no secrets)."""

    outpoint: OutPoint
    txout: TxOut
    script_type: ScriptType
    pubkey: bytes  # compressed; for P2TR the internal key's point
    path: tuple[int, ...]  # from the master key
    fingerprint: bytes  # master key fingerprint

    @property
    def value(self) -> int:
        return self.txout.value


def ecdsa_sign(secret: bytes, digest: bytes, hash_type: int = SIGHASH_ALL) -> bytes:
    """RFC 6979 low-S ECDSA with Bitcoin Core's low-R grinding (extra entropy = a counter), so
    signatures are 71 bytes at most and identical to Core's and embit's for the same key."""
    key = coincurve.PrivateKey(secret)
    der = bytes(key.sign(digest, hasher=None))
    counter = 0
    while der[3] > 32:  # r needs a 0x00 pad: high R (Core's SigHasLowR is false)
        counter += 1
        ndata = ffi.new("unsigned char[32]", counter.to_bytes(32, "little"))
        der = bytes(key.sign(digest, hasher=None, custom_nonce=(ffi.NULL, ndata)))
    return der + bytes([hash_type])


def p2wpkh_sighash(tx: Transaction, index: int, pubkey: bytes, amount: int, txdata: PrecomputedTxData) -> bytes:
    return segwit_v0_sighash(p2pkh_script(hash160(pubkey)), tx, index, SIGHASH_ALL, amount, txdata)


def taproot_keypath_secret(secret: bytes) -> bytes:
    """BIP341 output-key secret for a key-path-only output (BIP86: no script tree)."""
    return bytes(ec.PrivateKey(secret).taproot_tweak(b"").secret)


def schnorr_sign(tweaked_secret: bytes, digest: bytes) -> bytes:
    return bytes(coincurve.PrivateKey(tweaked_secret).sign_schnorr(digest, os.urandom(32)))


def p2pkh_script_sig(tx: Transaction, index: int, coin: Coin, secret: bytes, txdata: PrecomputedTxData) -> bytes:
    """<signature> <pubkey>: the scriptSig spending a P2PKH output (legacy sighash, SIGHASH_ALL)."""
    if coincurve.PrivateKey(secret).public_key.format(compressed=True) != coin.pubkey:
        raise SigningError(f"key at the derivation path does not match input {index}")
    digest = legacy_sighash(coin.txout.script_pubkey, tx, index, SIGHASH_ALL, txdata)
    return push_data(ecdsa_sign(secret, digest)) + push_data(coin.pubkey)


def sign_input(
    tx: Transaction, index: int, coin: Coin, secret: bytes, txdata: PrecomputedTxData
) -> tuple[bytes, ...]:
    """The witness for input `index` spending `coin` (SIGHASH_ALL / SIGHASH_DEFAULT)."""
    if coincurve.PrivateKey(secret).public_key.format(compressed=True) != coin.pubkey:
        raise SigningError(f"key at the derivation path does not match input {index}")
    if coin.script_type is ScriptType.P2PKH:
        raise SigningError(f"input {index} is P2PKH: it is signed in its scriptSig, not a witness")
    if coin.script_type is ScriptType.P2WPKH:
        digest = p2wpkh_sighash(tx, index, coin.pubkey, coin.value, txdata)
        return (ecdsa_sign(secret, digest), coin.pubkey)
    tap_digest = taproot_sighash(txdata, index, SIGHASH_DEFAULT)
    assert tap_digest is not None
    return (schnorr_sign(taproot_keypath_secret(secret), tap_digest),)


def with_witnesses(tx: Transaction, witnesses: Sequence[tuple[bytes, ...]]) -> Transaction:
    vin = tuple(TxIn(i.prevout, i.script_sig, i.sequence, w) for i, w in zip(tx.vin, witnesses, strict=True))
    return Transaction(tx.version, vin, tx.vout, tx.locktime)


def verify_signed(tx: Transaction, spent: Sequence[TxOut]) -> None:
    """Raises SigningError unless every input verifies under the standard script flags."""
    txdata = PrecomputedTxData(tx, spent)
    for i, out in enumerate(spent):
        err = verify_input(tx, i, out, STANDARD_SCRIPT_VERIFY_FLAGS, txdata=txdata)
        if err is not None:
            raise SigningError(f"input {i} does not verify: {err.value}")


def sign_transaction(
    tx: Transaction, coins: Sequence[Coin], secret_for: Callable[[tuple[int, ...]], bytes]
) -> Transaction:
    """Signs every input of `tx` (coins in input order) and verifies the result."""
    if len(coins) != len(tx.vin):
        raise SigningError("one coin per input is needed")
    spent = [c.txout for c in coins]
    txdata = PrecomputedTxData(tx, spent)
    vin = []
    for i, (txin, c) in enumerate(zip(tx.vin, coins, strict=True)):
        if c.script_type is ScriptType.P2PKH:
            vin.append(TxIn(txin.prevout, p2pkh_script_sig(tx, i, c, secret_for(c.path), txdata), txin.sequence))
        else:
            vin.append(TxIn(txin.prevout, b"", txin.sequence, sign_input(tx, i, c, secret_for(c.path), txdata)))
    signed = Transaction(tx.version, tuple(vin), tx.vout, tx.locktime)
    verify_signed(signed, spent)
    return signed
