"""Transactions: outpoints, inputs, outputs, legacy and BIP144 (segwit) serialization, txid/wtxid, weight."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import BinaryIO

from .hashes import hash256
from .memo import cached
from .serialize import (
    DeserializationError,
    deser_compact_size,
    deser_i32,
    deser_i64,
    deser_string,
    deser_string_vector,
    deser_u32,
    read_compact_size,
    read_exact,
    ser_compact_size,
    ser_i32,
    ser_i64,
    ser_string,
    ser_string_vector,
    ser_u32,
)

WITNESS_SCALE_FACTOR = 4
SEQUENCE_FINAL = 0xFFFFFFFF
NULL_HASH = b"\x00" * 32
NULL_INDEX = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class OutPoint:
    """A reference to an output: `hash` is the txid in internal (little-endian) byte order."""

    hash: bytes = NULL_HASH
    n: int = NULL_INDEX

    def serialize(self) -> bytes:
        return self.hash + ser_u32(self.n)

    @classmethod
    def deserialize(cls, f: BinaryIO) -> OutPoint:
        return cls(read_exact(f, 32), deser_u32(f))

    def is_null(self) -> bool:
        return self.hash == NULL_HASH and self.n == NULL_INDEX

    def __hash__(self) -> int:
        # Outpoints key every coin lookup (~15 per spend while a block connects): no tuple built
        # as the generated hash((hash, n)) does. Equal outpoints still hash alike.
        return hash(self.hash) ^ self.n

    def __repr__(self) -> str:
        return f"OutPoint({self.hash[::-1].hex()}:{self.n})"


@dataclass(frozen=True, slots=True)
class TxIn:
    prevout: OutPoint = field(default_factory=OutPoint)
    script_sig: bytes = b""
    sequence: int = SEQUENCE_FINAL
    witness: tuple[bytes, ...] = ()

    def serialize(self) -> bytes:
        """The input without its witness (witnesses are serialized after all outputs)."""
        return self.prevout.serialize() + ser_string(self.script_sig) + ser_u32(self.sequence)

    @classmethod
    def deserialize(cls, f: BinaryIO) -> TxIn:
        return cls(OutPoint.deserialize(f), deser_string(f), deser_u32(f))


@dataclass(frozen=True, slots=True)
class TxOut:
    value: int = -1  # satoshis; -1 is Core's "null" output
    script_pubkey: bytes = b""

    def serialize(self) -> bytes:
        return ser_i64(self.value) + ser_string(self.script_pubkey)

    @classmethod
    def deserialize(cls, f: BinaryIO) -> TxOut:
        return cls(deser_i64(f), deser_string(f))


@dataclass(frozen=True)
class Transaction:
    version: int = 2
    vin: tuple[TxIn, ...] = ()
    vout: tuple[TxOut, ...] = ()
    locktime: int = 0

    # --- serialization -------------------------------------------------------------------

    def serialize_without_witness(self) -> bytes:
        return self._stripped

    def serialize_with_witness(self) -> bytes:
        """BIP144 extended format (marker 0x00, flag 0x01) if any input has a witness."""
        return self._full

    # Both forms are asked for several times per transaction while a block is checked and
    # connected (txid, wtxid, size and weight limits, sighashes); the object is immutable.
    @cached
    def _stripped(self) -> bytes:
        return (
            ser_i32(self.version)
            + ser_compact_size(len(self.vin))
            + b"".join(i.serialize() for i in self.vin)
            + ser_compact_size(len(self.vout))
            + b"".join(o.serialize() for o in self.vout)
            + ser_u32(self.locktime)
        )

    @cached
    def _full(self) -> bytes:
        if not self.has_witness:
            return self._stripped
        return (
            ser_i32(self.version)
            + b"\x00\x01"
            + ser_compact_size(len(self.vin))
            + b"".join(i.serialize() for i in self.vin)
            + ser_compact_size(len(self.vout))
            + b"".join(o.serialize() for o in self.vout)
            + b"".join(ser_string_vector(i.witness) for i in self.vin)
            + ser_u32(self.locktime)
        )

    def serialize(self) -> bytes:
        return self.serialize_with_witness()

    @classmethod
    def deserialize(cls, f: BinaryIO, allow_witness: bool = True) -> Transaction:
        """Decodes as Core's UnserializeTransaction does, with the same ambiguity rules."""
        if isinstance(f, io.BytesIO):  # the usual case: decode the buffer in place (read_from)
            tx, end = _read_transaction(f.getvalue(), f.tell(), allow_witness)
            f.seek(end)
            return tx
        version = deser_i32(f)
        flags = 0
        vin = [TxIn.deserialize(f) for _ in range(deser_compact_size(f))]
        vout: list[TxOut] = []
        if not vin and allow_witness:
            flags = read_exact(f, 1)[0]
            if flags != 0:
                vin = [TxIn.deserialize(f) for _ in range(deser_compact_size(f))]
                vout = [TxOut.deserialize(f) for _ in range(deser_compact_size(f))]
        else:
            vout = [TxOut.deserialize(f) for _ in range(deser_compact_size(f))]
        if flags & 1 and allow_witness:
            flags ^= 1
            vin = [
                TxIn(i.prevout, i.script_sig, i.sequence, tuple(deser_string_vector(f)))
                for i in vin
            ]
            if not any(i.witness for i in vin):
                raise DeserializationError("superfluous witness record")
        if flags:
            raise DeserializationError("unknown transaction optional data")
        locktime = deser_u32(f)
        return cls(version, tuple(vin), tuple(vout), locktime)

    @classmethod
    def read_from(cls, data: bytes, pos: int = 0, allow_witness: bool = True) -> tuple[Transaction, int]:
        """`deserialize` on a buffer at `pos`: (the transaction, the position after it). Faster, and the
        transaction keeps the bytes it was read from as its serializations (they are canonical:
        CompactSizes must be), so txid and wtxid need no re-serialization."""
        return _read_transaction(data, pos, allow_witness)

    @classmethod
    def from_bytes(cls, data: bytes, allow_witness: bool = True) -> Transaction:
        tx, end = _read_transaction(data, 0, allow_witness)
        if end != len(data):
            raise DeserializationError(f"{len(data) - end} trailing bytes after data")
        return tx

    @classmethod
    def from_hex(cls, hex_str: str) -> Transaction:
        return cls.from_bytes(bytes.fromhex(hex_str))

    # --- identity and size ---------------------------------------------------------------

    @cached
    def has_witness(self) -> bool:
        return any(i.witness for i in self.vin)

    @cached
    def txid(self) -> bytes:
        """Internal byte order; `txid_hex` is the display (RPC) form."""
        return hash256(self.serialize_without_witness())

    @cached
    def wtxid(self) -> bytes:
        return hash256(self.serialize_with_witness()) if self.has_witness else self.txid

    @property
    def txid_hex(self) -> str:
        return self.txid[::-1].hex()

    @property
    def wtxid_hex(self) -> str:
        return self.wtxid[::-1].hex()

    @cached
    def base_size(self) -> int:
        return len(self.serialize_without_witness())

    @cached
    def total_size(self) -> int:
        return len(self.serialize_with_witness())

    @property
    def weight(self) -> int:
        return self.base_size * (WITNESS_SCALE_FACTOR - 1) + self.total_size

    @property
    def vsize(self) -> int:
        return (self.weight + WITNESS_SCALE_FACTOR - 1) // WITNESS_SCALE_FACTOR

    def is_coinbase(self) -> bool:
        return self._is_coinbase

    @cached
    def _is_coinbase(self) -> bool:  # asked some ten times per transaction while a block connects
        return len(self.vin) == 1 and self.vin[0].prevout.is_null()

    def value_out(self) -> int:
        return sum([o.value for o in self.vout])

    def __repr__(self) -> str:
        return f"Transaction({self.txid_hex}, vin={len(self.vin)}, vout={len(self.vout)})"


# --- decoding from a buffer ----------------------------------------------------------------------


def _truncated(wanted: int, got: int) -> DeserializationError:
    return DeserializationError(f"unexpected end of data: wanted {wanted} bytes, got {max(got, 0)}")


# CompactSizes below 253 are one byte: read inline, the rest (and all errors) by read_compact_size.


def _read_inputs(data: bytes, pos: int) -> tuple[list[tuple[OutPoint, bytes, int]], int]:
    n, pos = read_compact_size(data, pos)
    size = len(data)
    out = []
    for _ in range(n):
        if pos + 37 > size:
            raise _truncated(36 if pos + 36 > size else 1, size - pos)
        prevout = OutPoint(data[pos : pos + 32], int.from_bytes(data[pos + 32 : pos + 36], "little"))
        length = data[pos + 36]
        if length < 253:
            pos += 37
        else:
            length, pos = read_compact_size(data, pos + 36)
        end = pos + length
        if end + 4 > size:
            raise _truncated(length if end > size else 4, size - pos if end > size else size - end)
        out.append((prevout, data[pos:end], int.from_bytes(data[end : end + 4], "little")))
        pos = end + 4
    return out, pos


def _read_outputs(data: bytes, pos: int) -> tuple[list[TxOut], int]:
    n, pos = read_compact_size(data, pos)
    size = len(data)
    out = []
    for _ in range(n):
        if pos + 9 > size:
            raise _truncated(8 if pos + 8 > size else 1, size - pos)
        value = int.from_bytes(data[pos : pos + 8], "little", signed=True)
        length = data[pos + 8]
        if length < 253:
            pos += 9
        else:
            length, pos = read_compact_size(data, pos + 8)
        end = pos + length
        if end > size:
            raise _truncated(length, size - pos)
        out.append(TxOut(value, data[pos:end]))
        pos = end
    return out, pos


def _read_witness(data: bytes, pos: int) -> tuple[tuple[bytes, ...], int]:
    n, pos = read_compact_size(data, pos)
    size = len(data)
    items = []
    for _ in range(n):
        length = data[pos] if pos < size else 253  # past the end: read_compact_size says so
        if length < 253:
            pos += 1
        else:
            length, pos = read_compact_size(data, pos)
        end = pos + length
        if end > size:
            raise _truncated(length, size - pos)
        items.append(data[pos:end])
        pos = end
    return tuple(items), pos


def _read_transaction(data: bytes, pos: int, allow_witness: bool) -> tuple[Transaction, int]:
    """Transaction.deserialize's rules, step for step, on a buffer (tests compare the two)."""
    start = pos
    if pos + 4 > len(data):
        raise _truncated(4, len(data) - pos)
    version = int.from_bytes(data[pos : pos + 4], "little", signed=True)
    ins, pos = _read_inputs(data, pos + 4)
    flags = 0
    extended = False
    outs: list[TxOut] = []
    if not ins and allow_witness:
        if pos >= len(data):
            raise _truncated(1, 0)
        flags = data[pos]
        pos += 1
        if flags != 0:
            extended = True
            ins, pos = _read_inputs(data, pos)
            outs, pos = _read_outputs(data, pos)
    else:
        outs, pos = _read_outputs(data, pos)
    body_end = pos
    witnesses: list[tuple[bytes, ...]] = []
    if flags & 1 and allow_witness:
        flags ^= 1
        for _ in ins:
            witness, pos = _read_witness(data, pos)
            witnesses.append(witness)
        if not any(witnesses):
            raise DeserializationError("superfluous witness record")
    if flags:
        raise DeserializationError("unknown transaction optional data")
    if pos + 4 > len(data):
        raise _truncated(4, len(data) - pos)
    locktime = int.from_bytes(data[pos : pos + 4], "little")
    pos += 4
    if witnesses:
        vin = tuple([TxIn(p, s, q, w) for (p, s, q), w in zip(ins, witnesses, strict=True)])
    else:
        vin = tuple([TxIn(p, s, q) for p, s, q in ins])
    tx = Transaction(version, vin, tuple(outs), locktime)
    # What was read is what serialize would write: keep it (the cached values' slots, see memo).
    full = data[start:pos]
    if extended:
        tx.__dict__["_stripped"] = full[:4] + data[start + 6 : body_end] + full[-4:]
        tx.__dict__["_full"] = full
    else:
        tx.__dict__["_stripped"] = full
    return tx, pos
