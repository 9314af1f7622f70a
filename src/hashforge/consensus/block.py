"""Block headers, blocks, merkle roots (with CVE-2012-2459 mutation detection) and the BIP141 witness commitment."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import BinaryIO

from .hashes import hash256
from .memo import cached
from .serialize import (
    DeserializationError,
    deser_compact_size,
    parse_exact,
    read_compact_size,
    read_exact,
    ser_compact_size,
    ser_i32,
    ser_u32,
)
from .tx import WITNESS_SCALE_FACTOR, Transaction

HEADER_SIZE = 80
WITNESS_COMMITMENT_HEADER = bytes.fromhex("aa21a9ed")
MINIMUM_WITNESS_COMMITMENT = 38  # OP_RETURN, push-36, 4-byte header, 32-byte commitment


@dataclass(frozen=True)
class BlockHeader:
    version: int = 1
    prev_hash: bytes = b"\x00" * 32  # internal byte order
    merkle_root: bytes = b"\x00" * 32
    time: int = 0
    bits: int = 0
    nonce: int = 0

    def serialize(self) -> bytes:
        return self._raw

    @cached
    def _raw(self) -> bytes:
        return (
            ser_i32(self.version)
            + self.prev_hash
            + self.merkle_root
            + ser_u32(self.time)
            + ser_u32(self.bits)
            + ser_u32(self.nonce)
        )

    @classmethod
    def deserialize(cls, f: BinaryIO) -> BlockHeader:
        raw = read_exact(f, HEADER_SIZE)
        header = cls(
            int.from_bytes(raw[0:4], "little", signed=True),
            raw[4:36],
            raw[36:68],
            int.from_bytes(raw[68:72], "little"),
            int.from_bytes(raw[72:76], "little"),
            int.from_bytes(raw[76:80], "little"),
        )
        header.__dict__["_raw"] = raw  # the serialization, for the hash
        return header

    @classmethod
    def from_bytes(cls, data: bytes) -> BlockHeader:
        return parse_exact(data, cls.deserialize)

    @cached
    def hash(self) -> bytes:
        """SHA-256d of the 80 bytes, internal byte order (compare with targets as little-endian)."""
        return hash256(self.serialize())

    @property
    def hash_hex(self) -> str:
        return self.hash[::-1].hex()

    def __repr__(self) -> str:
        return f"BlockHeader({self.hash_hex}, bits={self.bits:08x}, time={self.time})"


assert len(BlockHeader().serialize()) == HEADER_SIZE


@dataclass(frozen=True)
class Block:
    header: BlockHeader
    vtx: tuple[Transaction, ...] = ()

    def serialize(self) -> bytes:
        return self.header.serialize() + ser_compact_size(len(self.vtx)) + b"".join(
            t.serialize_with_witness() for t in self.vtx
        )

    def serialize_without_witness(self) -> bytes:
        return self.header.serialize() + ser_compact_size(len(self.vtx)) + b"".join(
            t.serialize_without_witness() for t in self.vtx
        )

    @classmethod
    def deserialize(cls, f: BinaryIO) -> Block:
        if isinstance(f, io.BytesIO):  # P2P messages, block files: decode the buffer in place
            block, end = cls.read_from(f.getvalue(), f.tell())
            f.seek(end)
            return block
        header = BlockHeader.deserialize(f)
        vtx = tuple(Transaction.deserialize(f) for _ in range(deser_compact_size(f)))
        return cls(header, vtx)

    @classmethod
    def read_from(cls, data: bytes, pos: int = 0) -> tuple[Block, int]:
        """`deserialize` on a buffer at `pos` (see Transaction.read_from): (block, position after it)."""
        if pos + HEADER_SIZE > len(data):
            raise DeserializationError(f"unexpected end of data: wanted {HEADER_SIZE} bytes, got {max(len(data) - pos, 0)}")
        header = BlockHeader.from_bytes(data[pos : pos + HEADER_SIZE])
        n, pos = read_compact_size(data, pos + HEADER_SIZE)
        vtx = []
        for _ in range(n):
            tx, pos = Transaction.read_from(data, pos)
            vtx.append(tx)
        return cls(header, tuple(vtx)), pos

    @classmethod
    def from_bytes(cls, data: bytes) -> Block:
        block, end = cls.read_from(data)
        if end != len(data):
            raise DeserializationError(f"{len(data) - end} trailing bytes after data")
        return block

    @property
    def hash(self) -> bytes:
        return self.header.hash

    @property
    def hash_hex(self) -> str:
        return self.header.hash_hex

    @cached
    def base_size(self) -> int:
        """Bytes of `serialize_without_witness()`, counted without building it."""
        return HEADER_SIZE + len(ser_compact_size(len(self.vtx))) + sum(t.base_size for t in self.vtx)

    @cached
    def total_size(self) -> int:
        """Bytes of `serialize()`."""
        return HEADER_SIZE + len(ser_compact_size(len(self.vtx))) + sum(t.total_size for t in self.vtx)

    @property
    def weight(self) -> int:
        return self.base_size * (WITNESS_SCALE_FACTOR - 1) + self.total_size

    def compute_merkle_root(self) -> tuple[bytes, bool]:
        """(root, mutated) over the txids."""
        return merkle_root([t.txid for t in self.vtx])

    def compute_witness_merkle_root(self) -> tuple[bytes, bool]:
        """Merkle root over wtxids with the coinbase's wtxid taken as zero (BIP141)."""
        hashes = [b"\x00" * 32] + [t.wtxid for t in self.vtx[1:]]
        return merkle_root(hashes)


def merkle_root(hashes: list[bytes]) -> tuple[bytes, bool]:
    """Bitcoin's merkle root and whether the tree is mutated (a duplicated pair, CVE-2012-2459)."""
    if not hashes:
        return b"\x00" * 32, False
    level = list(hashes)
    mutated = False
    while len(level) > 1:
        for i in range(0, len(level) - 1, 2):
            if level[i] == level[i + 1]:
                mutated = True
        if len(level) % 2:
            level.append(level[-1])
        level = [hash256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0], mutated


def merkle_branch(hashes: list[bytes], index: int) -> list[bytes]:
    """The sibling hashes from leaf `index` to the root (what Stratum sends for index 0)."""
    branch: list[bytes] = []
    level = list(hashes)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        branch.append(level[index ^ 1])
        level = [hash256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        index >>= 1
    return branch


def merkle_root_from_branch(leaf: bytes, branch: list[bytes], index: int = 0) -> bytes:
    h = leaf
    for sibling in branch:
        h = hash256(sibling + h) if index & 1 else hash256(h + sibling)
        index >>= 1
    return h


def witness_commitment_index(coinbase: Transaction) -> int | None:
    """Index of the coinbase output carrying the witness commitment (the last match wins), or None."""
    found = None
    for i, out in enumerate(coinbase.vout):
        spk = out.script_pubkey
        if (
            len(spk) >= MINIMUM_WITNESS_COMMITMENT
            and spk[0] == 0x6A
            and spk[1] == 0x24
            and spk[2:6] == WITNESS_COMMITMENT_HEADER
        ):
            found = i
    return found


def witness_commitment(witness_root: bytes, witness_reserved_value: bytes = b"\x00" * 32) -> bytes:
    return hash256(witness_root + witness_reserved_value)


def witness_commitment_script(commitment: bytes) -> bytes:
    """The coinbase output script that commits to the block's witnesses."""
    return b"\x6a\x24" + WITNESS_COMMITMENT_HEADER + commitment
