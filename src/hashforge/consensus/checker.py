"""Signature checkers for the script interpreter: ECDSA/Schnorr against a transaction input, CLTV and CSV."""

from __future__ import annotations

from dataclasses import dataclass

from .ecc import verify_ecdsa, verify_schnorr
from .script import LOCKTIME_THRESHOLD
from .script_flags import ScriptError, SigVersion
from .sighash import (
    SIGHASH_DEFAULT,
    PrecomputedTxData,
    legacy_sighash,
    segwit_v0_sighash,
    taproot_sighash,
)
from .tx import SEQUENCE_FINAL, Transaction

SEQUENCE_LOCKTIME_DISABLE_FLAG = 1 << 31
SEQUENCE_LOCKTIME_TYPE_FLAG = 1 << 22
SEQUENCE_LOCKTIME_MASK = 0x0000FFFF
SEQUENCE_LOCKTIME_GRANULARITY = 9  # time-based relative locks count units of 512 seconds


@dataclass
class ScriptExecutionData:
    """Per-input facts a taproot/tapscript signature commits to (Core's ScriptExecutionData)."""

    tapleaf_hash: bytes | None = None
    codeseparator_pos: int = 0xFFFFFFFF  # opcode index of the last executed OP_CODESEPARATOR
    annex: bytes | None = None  # including its 0x50 tag
    validation_weight_left: int | None = None


class SignatureChecker:
    """What the interpreter asks of its context. This base fails every check (no transaction)."""

    def check_ecdsa_signature(
        self, sig: bytes, pubkey: bytes, script_code: bytes, sigversion: SigVersion
    ) -> bool:
        return False

    def check_schnorr_signature(
        self, sig: bytes, pubkey: bytes, sigversion: SigVersion, execdata: ScriptExecutionData
    ) -> ScriptError | None:
        """None if valid, else the error that fails the script."""
        return ScriptError.SCHNORR_SIG

    def check_lock_time(self, lock_time: int) -> bool:
        return False

    def check_sequence(self, sequence: int) -> bool:
        return False


class TransactionSignatureChecker(SignatureChecker):
    """Checks signatures against input `in_idx` of `tx`, which spends `amount` satoshis.

    `txdata` shares precomputed hashes between the inputs of one transaction; for taproot
    inputs it must carry the spent outputs (else MissingSpentOutputsError is raised).
    """

    def __init__(
        self,
        tx: Transaction,
        in_idx: int,
        amount: int,
        txdata: PrecomputedTxData | None = None,
    ) -> None:
        if not 0 <= in_idx < len(tx.vin):
            raise IndexError(f"input {in_idx} out of range for {len(tx.vin)} inputs")
        self.tx = tx
        self.in_idx = in_idx
        self.amount = amount
        self.txdata = txdata if txdata is not None else PrecomputedTxData(tx)
        self._sighash_cache: dict[tuple[SigVersion, bytes, int], bytes] = {}

    def ecdsa_sighash(self, script_code: bytes, hash_type: int, sigversion: SigVersion) -> bytes:
        key = (sigversion, script_code, hash_type)
        cached = self._sighash_cache.get(key)
        if cached is None:
            if sigversion == SigVersion.WITNESS_V0:
                cached = segwit_v0_sighash(
                    script_code, self.tx, self.in_idx, hash_type, self.amount, self.txdata
                )
            else:
                cached = legacy_sighash(script_code, self.tx, self.in_idx, hash_type, self.txdata)
            self._sighash_cache[key] = cached
        return cached

    def check_ecdsa_signature(
        self, sig: bytes, pubkey: bytes, script_code: bytes, sigversion: SigVersion
    ) -> bool:
        if not sig:
            return False
        if sigversion == SigVersion.WITNESS_V0 and self.amount < 0:
            return False
        sighash = self.ecdsa_sighash(script_code, sig[-1], sigversion)
        return verify_ecdsa(pubkey, sig[:-1], sighash)

    def check_schnorr_signature(
        self, sig: bytes, pubkey: bytes, sigversion: SigVersion, execdata: ScriptExecutionData
    ) -> ScriptError | None:
        if len(sig) not in (64, 65):
            return ScriptError.SCHNORR_SIG_SIZE
        hash_type = SIGHASH_DEFAULT
        if len(sig) == 65:
            hash_type = sig[64]
            sig = sig[:64]
            if hash_type == SIGHASH_DEFAULT:
                return ScriptError.SCHNORR_SIG_HASHTYPE
        if sigversion == SigVersion.TAPSCRIPT:
            sighash = taproot_sighash(
                self.txdata,
                self.in_idx,
                hash_type,
                annex=execdata.annex,
                tapleaf_hash=execdata.tapleaf_hash,
                codesep_pos=execdata.codeseparator_pos,
            )
        else:
            sighash = taproot_sighash(self.txdata, self.in_idx, hash_type, annex=execdata.annex)
        if sighash is None:
            return ScriptError.SCHNORR_SIG_HASHTYPE
        if not verify_schnorr(pubkey, sig, sighash):
            return ScriptError.SCHNORR_SIG
        return None

    def check_lock_time(self, lock_time: int) -> bool:
        """BIP65: the tx's nLockTime is of the same kind, at least `lock_time`, and not disabled."""
        tx_lock = self.tx.locktime
        if (tx_lock < LOCKTIME_THRESHOLD) != (lock_time < LOCKTIME_THRESHOLD):
            return False
        if lock_time > tx_lock:
            return False
        # nLockTime is ignored (so CLTV would be moot) when every input is final; this one must not be.
        return self.tx.vin[self.in_idx].sequence != SEQUENCE_FINAL

    def check_sequence(self, sequence: int) -> bool:
        """BIP112: the input's relative lock (BIP68) is of the same kind and at least `sequence`."""
        tx_seq = self.tx.vin[self.in_idx].sequence
        if self.tx.version & 0xFFFFFFFF < 2:  # Core's version is unsigned
            return False
        if tx_seq & SEQUENCE_LOCKTIME_DISABLE_FLAG:
            return False
        mask = SEQUENCE_LOCKTIME_TYPE_FLAG | SEQUENCE_LOCKTIME_MASK
        tx_masked = tx_seq & mask
        want_masked = sequence & mask
        if (tx_masked < SEQUENCE_LOCKTIME_TYPE_FLAG) != (want_masked < SEQUENCE_LOCKTIME_TYPE_FLAG):
            return False
        return want_masked <= tx_masked
