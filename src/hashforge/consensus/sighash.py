"""Signature hashes: legacy SignatureHash, BIP143 (segwit v0) and BIP341 (taproot), with per-tx precomputation."""

from __future__ import annotations

from collections.abc import Sequence

from .hashes import hash256, sha256, tagged_hash
from .memo import cached
from .script import OP_CODESEPARATOR, parse_script
from .serialize import ser_compact_size, ser_i32, ser_i64, ser_string, ser_u32
from .tx import Transaction, TxOut

SIGHASH_DEFAULT = 0x00  # taproot only: SIGHASH_ALL without a hash-type byte
SIGHASH_ALL = 0x01
SIGHASH_NONE = 0x02
SIGHASH_SINGLE = 0x03
SIGHASH_ANYONECANPAY = 0x80
SIGHASH_OUTPUT_MASK = 0x03
SIGHASH_INPUT_MASK = 0x80

# What legacy SignatureHash returns for SIGHASH_SINGLE without a matching output (uint256::ONE).
SIGHASH_SINGLE_BUG_HASH = b"\x01" + b"\x00" * 31

_NULL_TXOUT = ser_i64(-1) + b"\x00"  # CTxOut() as serialized: value -1, empty script
_ZERO32 = b"\x00" * 32
_BLANK_INPUT_SIZE = 41  # prevout (36), empty script (1), sequence (4)


class PrecomputedTxData:
    """Hashes shared by every input of one transaction (Core's PrecomputedTransactionData).

    Each value is computed on first use and kept, so signing or verifying all inputs of a large
    segwit or taproot transaction stays linear. `spent_outputs` (the outputs the inputs spend, in
    input order) is needed only for taproot signature hashes.
    """

    def __init__(self, tx: Transaction, spent_outputs: Sequence[TxOut] | None = None) -> None:
        if spent_outputs is not None and len(spent_outputs) != len(tx.vin):
            raise ValueError(f"{len(spent_outputs)} spent outputs given for {len(tx.vin)} inputs")
        self.tx = tx
        self.spent_outputs: tuple[TxOut, ...] | None = (
            tuple(spent_outputs) if spent_outputs is not None else None
        )

    # single SHA-256 forms (BIP341 uses these directly)
    @cached
    def prevouts_single_hash(self) -> bytes:
        return sha256(b"".join([i.prevout.hash + i.prevout.n.to_bytes(4, "little") for i in self.tx.vin]))

    @cached
    def sequences_single_hash(self) -> bytes:
        return sha256(b"".join([i.sequence.to_bytes(4, "little") for i in self.tx.vin]))

    @cached
    def outputs_single_hash(self) -> bytes:
        return sha256(b"".join(self.serialized_outputs))

    @cached
    def spent_amounts_single_hash(self) -> bytes:
        return sha256(b"".join(ser_i64(o.value) for o in self._require_spent_outputs()))

    @cached
    def spent_scripts_single_hash(self) -> bytes:
        return sha256(b"".join(ser_string(o.script_pubkey) for o in self._require_spent_outputs()))

    # double SHA-256 forms (BIP143)
    @cached
    def bip143_hashes(self) -> tuple[bytes, bytes, bytes]:
        """hashPrevouts, hashSequence, hashOutputs at once: nearly every segwit v0 signature (ALL)
        uses all three, and one cached value costs one lookup instead of three."""
        return (
            sha256(self.prevouts_single_hash),
            sha256(self.sequences_single_hash),
            sha256(self.outputs_single_hash),
        )

    @property
    def hash_prevouts(self) -> bytes:
        return self.bip143_hashes[0]

    @property
    def hash_sequence(self) -> bytes:
        return self.bip143_hashes[1]

    @property
    def hash_outputs(self) -> bytes:
        return self.bip143_hashes[2]

    # pieces of the legacy serialization
    @cached
    def serialized_outputs(self) -> tuple[bytes, ...]:
        return tuple(o.serialize() for o in self.tx.vout)

    @cached
    def serialized_prevouts(self) -> tuple[bytes, ...]:
        return tuple(i.prevout.serialize() for i in self.tx.vin)

    @cached
    def joined_outputs(self) -> bytes:
        return b"".join(self.serialized_outputs)

    def blanked_inputs(self, zero_sequences: bool) -> bytes:
        """All inputs as legacy sighashes serialize the ones not being signed: 41 bytes each."""
        if zero_sequences:
            return self._blanked_inputs_zero_seq
        return self._blanked_inputs

    @cached
    def _blanked_inputs(self) -> bytes:
        return b"".join(
            p + b"\x00" + ser_u32(i.sequence)
            for p, i in zip(self.serialized_prevouts, self.tx.vin, strict=True)
        )

    @cached
    def _blanked_inputs_zero_seq(self) -> bytes:
        return b"".join(p + b"\x00\x00\x00\x00\x00" for p in self.serialized_prevouts)

    def _require_spent_outputs(self) -> tuple[TxOut, ...]:
        if self.spent_outputs is None:
            raise MissingSpentOutputsError("taproot signature hashes need the spent outputs")
        return self.spent_outputs


class MissingSpentOutputsError(ValueError):
    """A taproot signature hash was asked for without the outputs the transaction spends."""


def _legacy_script_code(script_code: bytes) -> bytes:
    """scriptCode with its OP_CODESEPARATORs removed, length-prefixed, exactly as Core writes it.

    Core prefixes the length minus the separators it counted, then writes the pieces between
    separators up to where parsing stopped; for a script that ends in a truncated push the
    prefix therefore overstates what follows. Reproduced here because hashes depend on it.
    """
    parsed = parse_script(script_code)
    seps = [op for op in parsed.ops if op.opcode == OP_CODESEPARATOR]
    stop = len(script_code) if parsed.error_pos is None else parsed.error_pos
    if not seps and stop == len(script_code):
        return ser_string(script_code)
    pieces = [ser_compact_size(len(script_code) - len(seps))]
    begin = 0
    for op in seps:
        pieces.append(script_code[begin : op.start])
        begin = op.end
    if begin != len(script_code):
        pieces.append(script_code[begin:stop])
    return b"".join(pieces)


def legacy_sighash(
    script_code: bytes,
    tx: Transaction,
    in_idx: int,
    hash_type: int,
    txdata: PrecomputedTxData | None = None,
) -> bytes:
    """Core's SignatureHash for SigVersion::BASE (pre-segwit), internal byte order.

    `hash_type` is the signed 32-bit value that gets hashed (the signature's last byte in
    scripts). SIGHASH_SINGLE without a matching output returns 1, as Core always has.
    """
    if not 0 <= in_idx < len(tx.vin):
        raise IndexError(f"input {in_idx} out of range")
    base = hash_type & 0x1F
    anyone_can_pay = bool(hash_type & SIGHASH_ANYONECANPAY)
    single = base == SIGHASH_SINGLE
    none = base == SIGHASH_NONE
    if single and in_idx >= len(tx.vout):
        return SIGHASH_SINGLE_BUG_HASH
    if txdata is None:
        txdata = PrecomputedTxData(tx)

    prevouts = txdata.serialized_prevouts
    own = prevouts[in_idx] + _legacy_script_code(script_code) + ser_u32(tx.vin[in_idx].sequence)
    parts = [ser_i32(tx.version)]
    if anyone_can_pay:
        parts += [b"\x01", own]
    else:
        blanked = txdata.blanked_inputs(zero_sequences=single or none)
        parts += [
            ser_compact_size(len(tx.vin)),
            blanked[: _BLANK_INPUT_SIZE * in_idx],
            own,
            blanked[_BLANK_INPUT_SIZE * (in_idx + 1) :],
        ]
    if none:
        parts.append(b"\x00")
    elif single:
        parts.append(ser_compact_size(in_idx + 1))
        parts.append(_NULL_TXOUT * in_idx)
        parts.append(txdata.serialized_outputs[in_idx])
    else:
        parts += [ser_compact_size(len(tx.vout)), txdata.joined_outputs]
    parts.append(ser_u32(tx.locktime))
    parts.append(ser_i32(_as_i32(hash_type)))
    return hash256(b"".join(parts))


def segwit_v0_sighash(
    script_code: bytes,
    tx: Transaction,
    in_idx: int,
    hash_type: int,
    amount: int,
    txdata: PrecomputedTxData | None = None,
) -> bytes:
    """BIP143 signature hash for witness v0 inputs (P2WPKH, P2WSH), internal byte order."""
    if not 0 <= in_idx < len(tx.vin):
        raise IndexError(f"input {in_idx} out of range")
    if txdata is None:
        txdata = PrecomputedTxData(tx)
    base = hash_type & 0x1F
    anyone_can_pay = bool(hash_type & SIGHASH_ANYONECANPAY)
    if not anyone_can_pay and base not in (SIGHASH_SINGLE, SIGHASH_NONE):
        hash_prevouts, hash_sequence, hash_outputs = txdata.bip143_hashes  # the common case
    else:
        hash_prevouts = _ZERO32 if anyone_can_pay else txdata.hash_prevouts
        hash_sequence = _ZERO32
        if base not in (SIGHASH_SINGLE, SIGHASH_NONE):
            hash_outputs = txdata.hash_outputs
        elif base == SIGHASH_SINGLE and in_idx < len(tx.vout):
            hash_outputs = hash256(txdata.serialized_outputs[in_idx])
        else:
            hash_outputs = _ZERO32
    txin = tx.vin[in_idx]
    prevout = txin.prevout
    # The ser_* helpers written out: this runs once per segwit v0 input of every block.
    return hash256(
        b"".join(
            (
                tx.version.to_bytes(4, "little", signed=True),
                hash_prevouts,
                hash_sequence,
                prevout.hash,
                prevout.n.to_bytes(4, "little"),
                ser_string(script_code),
                amount.to_bytes(8, "little", signed=True),
                txin.sequence.to_bytes(4, "little"),
                hash_outputs,
                tx.locktime.to_bytes(4, "little"),
                _as_i32(hash_type).to_bytes(4, "little", signed=True),
            )
        )
    )


def taproot_sighash(
    txdata: PrecomputedTxData,
    in_idx: int,
    hash_type: int,
    *,
    annex: bytes | None = None,
    tapleaf_hash: bytes | None = None,
    codesep_pos: int = 0xFFFFFFFF,
    key_version: int = 0,
) -> bytes | None:
    """BIP341 signature message hash (key path; script path when `tapleaf_hash` is given).

    Returns None where Core's SignatureHashSchnorr fails: an undefined hash type, or
    SIGHASH_SINGLE without a matching output. `annex` is the annex including its 0x50 tag.
    """
    tx = txdata.tx
    if not 0 <= in_idx < len(tx.vin):
        raise IndexError(f"input {in_idx} out of range")
    if not (hash_type <= 0x03 or 0x81 <= hash_type <= 0x83):
        return None
    spent = txdata._require_spent_outputs()
    output_type = SIGHASH_ALL if hash_type == SIGHASH_DEFAULT else hash_type & SIGHASH_OUTPUT_MASK
    anyone_can_pay = (hash_type & SIGHASH_INPUT_MASK) == SIGHASH_ANYONECANPAY
    parts = [b"\x00", bytes([hash_type]), ser_i32(tx.version), ser_u32(tx.locktime)]
    if not anyone_can_pay:
        parts += [
            txdata.prevouts_single_hash,
            txdata.spent_amounts_single_hash,
            txdata.spent_scripts_single_hash,
            txdata.sequences_single_hash,
        ]
    if output_type == SIGHASH_ALL:
        parts.append(txdata.outputs_single_hash)
    ext_flag = 0 if tapleaf_hash is None else 1
    parts.append(bytes([ext_flag * 2 + (annex is not None)]))
    if anyone_can_pay:
        txin = tx.vin[in_idx]
        parts += [txin.prevout.serialize(), spent[in_idx].serialize(), ser_u32(txin.sequence)]
    else:
        parts.append(ser_u32(in_idx))
    if annex is not None:
        parts.append(sha256(ser_string(annex)))
    if output_type == SIGHASH_SINGLE:
        if in_idx >= len(tx.vout):
            return None
        parts.append(sha256(txdata.serialized_outputs[in_idx]))
    if tapleaf_hash is not None:
        parts += [tapleaf_hash, bytes([key_version]), ser_u32(codesep_pos)]
    return tagged_hash("TapSighash", b"".join(parts))


def _as_i32(n: int) -> int:
    """Wrap to a signed 32-bit value (hash types travel as int32)."""
    n &= 0xFFFFFFFF
    return n - (1 << 32) if n & 0x80000000 else n
