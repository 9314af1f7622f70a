"""BIP152 compact blocks: messages, short transaction ids, and block reconstruction.

Version 2 (segwit) only: short ids are SipHash-2-4 of the wtxid keyed by SHA-256(header || nonce),
truncated to 6 bytes; prefilled transactions and `blocktxn` carry witnesses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO, ClassVar

from hashforge.consensus.block import Block, BlockHeader
from hashforge.consensus.serialize import (
    DeserializationError,
    deser_compact_size,
    read_exact,
    ser_compact_size,
)
from hashforge.consensus.tx import Transaction

from .messages import Message, register
from .siphash import siphash24

SHORTID_LENGTH = 6
CMPCT_VERSION = 2
MAX_BLOCK_TXS = 4_000_000 // 60  # no block holds more transactions than this (smallest tx ~60 bytes)


def shortid_keys(header: BlockHeader, nonce: int) -> tuple[int, int]:
    h = hashlib.sha256(header.serialize() + nonce.to_bytes(8, "little")).digest()
    return int.from_bytes(h[0:8], "little"), int.from_bytes(h[8:16], "little")


def short_id(keys: tuple[int, int], wtxid: bytes) -> int:
    return siphash24(keys[0], keys[1], wtxid) & 0xFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class PrefilledTransaction:
    index: int = 0  # absolute position in the block (differentially encoded on the wire)
    tx: Transaction = field(default_factory=Transaction)


def _ser_differential(indexes: Iterable[int]) -> bytes:
    out, last = [], -1
    for i in indexes:
        out.append(ser_compact_size(i - last - 1))
        last = i
    return b"".join(out)


def _deser_index(f: BinaryIO, last: int) -> int:
    idx = last + 1 + deser_compact_size(f)
    if idx > 0xFFFF:
        raise DeserializationError("compact block index overflows 16 bits")
    return idx


@dataclass(frozen=True, slots=True)
class HeaderAndShortIDs:
    header: BlockHeader = field(default_factory=BlockHeader)
    nonce: int = 0
    shortids: tuple[int, ...] = ()
    prefilled_txn: tuple[PrefilledTransaction, ...] = ()

    def serialize(self) -> bytes:
        parts = [
            self.header.serialize(),
            self.nonce.to_bytes(8, "little"),
            ser_compact_size(len(self.shortids)),
            b"".join(s.to_bytes(SHORTID_LENGTH, "little") for s in self.shortids),
            ser_compact_size(len(self.prefilled_txn)),
        ]
        last = -1
        for p in self.prefilled_txn:
            parts.append(ser_compact_size(p.index - last - 1) + p.tx.serialize_with_witness())
            last = p.index
        return b"".join(parts)

    @classmethod
    def deserialize(cls, f: BinaryIO) -> HeaderAndShortIDs:
        header = BlockHeader.deserialize(f)
        nonce = int.from_bytes(read_exact(f, 8), "little")
        n = deser_compact_size(f)
        if n > MAX_BLOCK_TXS:
            raise DeserializationError("too many short ids")
        raw = read_exact(f, n * SHORTID_LENGTH)
        shortids = tuple(int.from_bytes(raw[i : i + SHORTID_LENGTH], "little") for i in range(0, len(raw), SHORTID_LENGTH))
        m = deser_compact_size(f)
        if m > MAX_BLOCK_TXS:
            raise DeserializationError("too many prefilled transactions")
        prefilled, last = [], -1
        for _ in range(m):
            last = _deser_index(f, last)
            prefilled.append(PrefilledTransaction(last, Transaction.deserialize(f)))
        if prefilled and prefilled[-1].index >= len(shortids) + len(prefilled):
            raise DeserializationError("prefilled index beyond the block")
        return cls(header, nonce, shortids, tuple(prefilled))

    @classmethod
    def from_block(cls, block: Block, nonce: int) -> HeaderAndShortIDs:
        """The coinbase prefilled, every other transaction as a short id."""
        keys = shortid_keys(block.header, nonce)
        return cls(
            block.header, nonce, tuple(short_id(keys, tx.wtxid) for tx in block.vtx[1:]), (PrefilledTransaction(0, block.vtx[0]),)
        )

    @property
    def block_tx_count(self) -> int:
        return len(self.shortids) + len(self.prefilled_txn)


@dataclass(frozen=True, slots=True)
class MsgSendcmpct(Message):
    command: ClassVar[bytes] = b"sendcmpct"
    announce: bool = False  # high-bandwidth mode: send cmpctblock without being asked
    version: int = CMPCT_VERSION

    def serialize(self) -> bytes:
        return bytes([self.announce]) + self.version.to_bytes(8, "little")

    @classmethod
    def deserialize(cls, f: BinaryIO) -> MsgSendcmpct:
        return cls(bool(read_exact(f, 1)[0]), int.from_bytes(read_exact(f, 8), "little"))


@dataclass(frozen=True, slots=True)
class MsgCmpctblock(Message):
    command: ClassVar[bytes] = b"cmpctblock"
    header_and_shortids: HeaderAndShortIDs = HeaderAndShortIDs()

    def serialize(self) -> bytes:
        return self.header_and_shortids.serialize()

    @classmethod
    def deserialize(cls, f: BinaryIO) -> MsgCmpctblock:
        return cls(HeaderAndShortIDs.deserialize(f))


@dataclass(frozen=True, slots=True)
class MsgGetblocktxn(Message):
    """BlockTransactionsRequest: `indexes` are absolute (differential on the wire)."""

    command: ClassVar[bytes] = b"getblocktxn"
    blockhash: bytes = b"\x00" * 32
    indexes: tuple[int, ...] = ()

    def serialize(self) -> bytes:
        return self.blockhash + ser_compact_size(len(self.indexes)) + _ser_differential(self.indexes)

    @classmethod
    def deserialize(cls, f: BinaryIO) -> MsgGetblocktxn:
        blockhash = read_exact(f, 32)
        n = deser_compact_size(f)
        if n > MAX_BLOCK_TXS:
            raise DeserializationError("too many indexes")
        indexes, last = [], -1
        for _ in range(n):
            last = _deser_index(f, last)
            indexes.append(last)
        return cls(blockhash, tuple(indexes))


@dataclass(frozen=True, slots=True)
class MsgBlocktxn(Message):
    command: ClassVar[bytes] = b"blocktxn"
    blockhash: bytes = b"\x00" * 32
    transactions: tuple[Transaction, ...] = ()

    def serialize(self) -> bytes:
        return self.blockhash + ser_compact_size(len(self.transactions)) + b"".join(
            t.serialize_with_witness() for t in self.transactions
        )

    @classmethod
    def deserialize(cls, f: BinaryIO) -> MsgBlocktxn:
        blockhash = read_exact(f, 32)
        n = deser_compact_size(f)
        if n > MAX_BLOCK_TXS:
            raise DeserializationError("too many transactions")
        return cls(blockhash, tuple(Transaction.deserialize(f) for _ in range(n)))


register(MsgSendcmpct, MsgCmpctblock, MsgGetblocktxn, MsgBlocktxn)


class PartialBlock:
    """A block being rebuilt from a compact block and the mempool (Core's PartiallyDownloadedBlock)."""

    def __init__(self, cmpct: HeaderAndShortIDs, pool: Iterable[Transaction]) -> None:
        self.header = cmpct.header
        n = cmpct.block_tx_count
        self.slots: list[Transaction | None] = [None] * n
        for p in cmpct.prefilled_txn:
            self.slots[p.index] = p.tx
        keys = shortid_keys(cmpct.header, cmpct.nonce)
        positions: dict[int, int] = {}
        it = iter(cmpct.shortids)
        for i in range(n):
            if self.slots[i] is None:
                sid = next(it)
                if sid in positions:
                    raise ValueError("duplicate short id")  # Core falls back to the full block
                positions[sid] = i
        for tx in pool:
            pos = positions.get(short_id(keys, tx.wtxid))
            if pos is not None and self.slots[pos] is None:
                self.slots[pos] = tx

    def missing(self) -> list[int]:
        return [i for i, t in enumerate(self.slots) if t is None]

    def fill(self, txs: Iterable[Transaction]) -> Block:
        """The block with the missing slots filled in order; raises ValueError on a count mismatch."""
        it = iter(txs)
        slots = list(self.slots)
        for i in self.missing():
            tx = next(it, None)
            if tx is None:
                raise ValueError("blocktxn has too few transactions")
            slots[i] = tx
        if next(it, None) is not None:
            raise ValueError("blocktxn has too many transactions")
        return Block(self.header, tuple(t for t in slots if t is not None))
