"""Build and sign real transactions for tests: P2WPKH and P2PKH spends with coincurve keys.

Signatures use the consensus sighash functions (BIP143 for P2WPKH, legacy SignatureHash for
P2PKH) and coincurve's RFC 6979 low-S ECDSA, so what this builds passes the standard flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import coincurve

from hashforge.consensus.address import p2pkh_script, p2wpkh_script
from hashforge.consensus.hashes import hash160
from hashforge.consensus.script import push_data
from hashforge.consensus.sighash import (
    SIGHASH_ALL,
    PrecomputedTxData,
    legacy_sighash,
    segwit_v0_sighash,
)
from hashforge.consensus.tx import SEQUENCE_FINAL, OutPoint, Transaction, TxIn, TxOut

# Signals BIP125 replaceability (only matters where full RBF is turned off).
SEQUENCE_RBF = 0xFFFFFFFD


@dataclass(frozen=True)
class Key:
    """A private key with its compressed public key and standard output scripts."""

    secret: bytes

    @classmethod
    def from_int(cls, n: int) -> Key:
        return cls(n.to_bytes(32, "big"))

    @property
    def pubkey(self) -> bytes:
        return bytes(coincurve.PrivateKey(self.secret).public_key.format(compressed=True))

    @property
    def p2wpkh(self) -> bytes:
        return p2wpkh_script(hash160(self.pubkey))

    @property
    def p2pkh(self) -> bytes:
        return p2pkh_script(hash160(self.pubkey))

    def sign(self, digest: bytes, hash_type: int = SIGHASH_ALL) -> bytes:
        der = coincurve.PrivateKey(self.secret).sign(digest, hasher=None)
        return bytes(der) + bytes([hash_type])


@dataclass(frozen=True)
class Utxo:
    """A spendable output and the key that controls it."""

    outpoint: OutPoint
    out: TxOut
    key: Key

    @property
    def value(self) -> int:
        return self.out.value


@dataclass
class TxSpec:
    """Inputs to spend and outputs to create; `build` signs every input."""

    inputs: list[Utxo] = field(default_factory=list)
    outputs: list[TxOut] = field(default_factory=list)
    version: int = 2
    locktime: int = 0
    sequences: Sequence[int] | None = None


def build(spec: TxSpec) -> Transaction:
    return sign_tx(spec.inputs, spec.outputs, spec.version, spec.locktime, spec.sequences)


def sign_tx(
    inputs: Sequence[Utxo],
    outputs: Sequence[TxOut],
    version: int = 2,
    locktime: int = 0,
    sequences: Sequence[int] | None = None,
) -> Transaction:
    """A transaction spending `inputs` (P2WPKH or P2PKH outputs of their keys), fully signed."""
    seqs = list(sequences) if sequences is not None else [SEQUENCE_FINAL] * len(inputs)
    unsigned = Transaction(
        version,
        tuple(TxIn(u.outpoint, b"", s) for u, s in zip(inputs, seqs, strict=True)),
        tuple(outputs),
        locktime,
    )
    txdata = PrecomputedTxData(unsigned)
    vin = []
    for i, u in enumerate(inputs):
        spk = u.out.script_pubkey
        txin = unsigned.vin[i]
        if spk == u.key.p2wpkh:
            code = p2pkh_script(hash160(u.key.pubkey))
            digest = segwit_v0_sighash(code, unsigned, i, SIGHASH_ALL, u.value, txdata)
            vin.append(TxIn(txin.prevout, b"", txin.sequence, (u.key.sign(digest), u.key.pubkey)))
        elif spk == u.key.p2pkh:
            digest = legacy_sighash(spk, unsigned, i, SIGHASH_ALL, txdata)
            script_sig = push_data(u.key.sign(digest)) + push_data(u.key.pubkey)
            vin.append(TxIn(txin.prevout, script_sig, txin.sequence))
        else:
            raise ValueError(f"cannot sign for script {spk.hex()}")
    return Transaction(version, tuple(vin), tuple(outputs), locktime)


def spend(
    utxos: Utxo | Sequence[Utxo],
    to: Key,
    fee: int,
    *,
    n_outputs: int = 1,
    p2pkh: bool = False,
    version: int = 2,
    locktime: int = 0,
    sequence: int = SEQUENCE_FINAL,
    extra_outputs: Sequence[TxOut] = (),
) -> Transaction:
    """Spends `utxos` to `n_outputs` equal outputs paying `to` (remainder on the first), minus `fee`."""
    ins = [utxos] if isinstance(utxos, Utxo) else list(utxos)
    total = sum(u.value for u in ins) - fee - sum(o.value for o in extra_outputs)
    script = to.p2pkh if p2pkh else to.p2wpkh
    each = total // n_outputs
    outs = [TxOut(each + (total - each * n_outputs if i == 0 else 0), script) for i in range(n_outputs)]
    return sign_tx(ins, [*outs, *extra_outputs], version, locktime, [sequence] * len(ins))


def outputs_of(tx: Transaction, key: Key) -> list[Utxo]:
    """The outputs of `tx` that `key` can spend, as Utxos."""
    return [
        Utxo(OutPoint(tx.txid, n), out, key)
        for n, out in enumerate(tx.vout)
        if out.script_pubkey in (key.p2wpkh, key.p2pkh)
    ]
