"""AuxPoW (merged mining): the proof that a parent chain's block (Litecoin's) commits to an
auxiliary chain's block (Dogecoin's), as Dogecoin Core serializes and checks it (auxpow.h/.cpp).

An auxiliary block header with version bit 0x100 (VERSION_AUXPOW) is followed on the wire by a
CAuxPow: the parent's coinbase transaction with the merkle branch that puts it into the parent
header's merkle root, the branch that puts the aux block's hash into the aux-chain merkle tree
(several aux chains can be merged at once), and the parent's 80-byte header. The parent coinbase's
scriptSig carries `fabe6d6d` + that tree's root (byte-reversed) + its size + a nonce; the nonce and
the chain ID fix the slot the aux block must occupy in the tree. The parent's scrypt hash must
meet the aux block's own target.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from typing import BinaryIO

from .block import HEADER_SIZE, BlockHeader
from .hashes import hash256, scrypt_pow
from .memo import cached
from .serialize import (
    DeserializationError,
    deser_i32,
    deser_vector,
    parse_exact,
    read_exact,
    ser_i32,
    ser_vector,
)
from .tx import Transaction

MERGED_MINING_HEADER = bytes.fromhex("fabe6d6d")  # pchMergedMiningHeader
VERSION_AUXPOW = 1 << 8
VERSION_CHAIN_START = 1 << 16
MAX_CHAIN_BRANCH = 30  # the chain merkle tree has at most 2^30 slots


class AuxPowError(ValueError):
    """An AuxPoW that does not prove what it claims; the message is Dogecoin Core's."""


def chain_id(version: int) -> int:
    """The auxpow chain ID in a block version (CPureBlockHeader::GetChainId: nVersion >> 16)."""
    return version >> 16


def is_auxpow_version(version: int) -> bool:
    return bool(version & VERSION_AUXPOW)


def is_legacy_version(version: int) -> bool:
    """Dogecoin's IsLegacy: version 1, or a version 2 without chain ID (one such block exists)."""
    return version == 1 or (version == 2 and chain_id(version) == 0)


def base_version(version: int) -> int:
    """The version without auxpow flag and chain ID (C's %, so the sign follows the version)."""
    rem = abs(version) % VERSION_AUXPOW
    return rem if version >= 0 else -rem


def expected_chain_index(nonce: int, chain: int, height: int) -> int:
    """CAuxPow::getExpectedIndex: the slot of `chain` in a tree of 2^height, from the coinbase nonce.

    A linear congruential step in 32-bit arithmetic; only the low `height` bits survive.
    """
    rand = (nonce * 1103515245 + 12345) & 0xFFFFFFFF
    rand = (rand + chain) & 0xFFFFFFFF
    rand = (rand * 1103515245 + 12345) & 0xFFFFFFFF
    return rand % (1 << height)


def check_merkle_branch(leaf: bytes, branch: list[bytes] | tuple[bytes, ...], index: int) -> bytes:
    """CAuxPow::CheckMerkleBranch: the root reached from `leaf` at position `index`."""
    if index == -1:
        return b"\x00" * 32
    h = leaf
    for sibling in branch:
        h = hash256(sibling + h) if index & 1 else hash256(h + sibling)
        index >>= 1
    return h


def _ser_hash_vector(hashes: tuple[bytes, ...]) -> bytes:
    return ser_vector(hashes, lambda h: h)


def _deser_hash_vector(f: BinaryIO) -> tuple[bytes, ...]:
    return tuple(deser_vector(f, lambda g: read_exact(g, 32)))


@dataclass(frozen=True)
class AuxPow:
    """CAuxPow, field for field in its serialization order (Dogecoin's names in comments)."""

    coinbase_tx: Transaction  # tx: the parent block's coinbase
    parent_hash: bytes = b"\x00" * 32  # hashBlock: unused by consensus, kept for round trips
    coinbase_branch: tuple[bytes, ...] = ()  # vMerkleBranch: coinbase -> parent merkle root
    coinbase_index: int = 0  # nIndex: must be 0 (the coinbase)
    chain_branch: tuple[bytes, ...] = ()  # vChainMerkleBranch: aux block hash -> aux tree root
    chain_index: int = 0  # nChainIndex
    parent_header: BlockHeader = field(default_factory=BlockHeader)  # parentBlock

    def serialize(self) -> bytes:
        return (
            self.coinbase_tx.serialize()
            + self.parent_hash
            + _ser_hash_vector(self.coinbase_branch)
            + ser_i32(self.coinbase_index)
            + _ser_hash_vector(self.chain_branch)
            + ser_i32(self.chain_index)
            + self.parent_header.serialize()
        )

    @classmethod
    def deserialize(cls, f: BinaryIO) -> AuxPow:
        return cls(
            coinbase_tx=Transaction.deserialize(f),
            parent_hash=read_exact(f, 32),
            coinbase_branch=_deser_hash_vector(f),
            coinbase_index=deser_i32(f),
            chain_branch=_deser_hash_vector(f),
            chain_index=deser_i32(f),
            parent_header=BlockHeader.deserialize(f),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> AuxPow:
        return parse_exact(data, cls.deserialize)

    @cached
    def parent_pow_hash(self) -> bytes:
        """The parent header's scrypt hash (getParentBlockPoWHash), compared with the aux target."""
        return scrypt_pow(self.parent_header.serialize())

    def check(self, aux_hash: bytes, chain: int, strict_chain_id: bool) -> None:
        """CAuxPow::check: raises AuxPowError unless this commits the block `aux_hash` (internal
        byte order) of chain `chain`. The parent's proof of work is checked by the caller."""
        if self.coinbase_index != 0:
            raise AuxPowError("AuxPow is not a generate")
        if strict_chain_id and chain_id(self.parent_header.version) == chain:
            raise AuxPowError("Aux POW parent has our chain ID")
        if len(self.chain_branch) > MAX_CHAIN_BRANCH:
            raise AuxPowError("Aux POW chain merkle branch too long")
        root = check_merkle_branch(aux_hash, self.chain_branch, self.chain_index)
        root_in_script = root[::-1]  # the coinbase carries the root byte-reversed
        if check_merkle_branch(self.coinbase_tx.txid, self.coinbase_branch, self.coinbase_index) != (
            self.parent_header.merkle_root
        ):
            raise AuxPowError("Aux POW merkle root incorrect")
        if not self.coinbase_tx.vin:
            raise AuxPowError("Aux POW coinbase has no inputs")
        script = self.coinbase_tx.vin[0].script_sig
        head = script.find(MERGED_MINING_HEADER)
        pos = script.find(root_in_script)
        if pos < 0:
            raise AuxPowError("Aux POW missing chain merkle root in parent coinbase")
        if head >= 0:
            if script.find(MERGED_MINING_HEADER, head + 1) >= 0:
                raise AuxPowError("Multiple merged mining headers in coinbase")
            if head + len(MERGED_MINING_HEADER) != pos:
                raise AuxPowError("Merged mining header is not just before chain merkle root")
        elif pos > 20:
            # Before the header existed, an early root was the only guard against two roots.
            raise AuxPowError(
                "Aux POW chain merkle root must start in the first 20 bytes of the parent coinbase"
            )
        pos += len(root_in_script)
        if len(script) - pos < 8:
            raise AuxPowError("Aux POW missing chain merkle tree size and nonce in parent coinbase")
        size = int.from_bytes(script[pos : pos + 4], "little")
        height = len(self.chain_branch)
        if size != 1 << height:
            raise AuxPowError("Aux POW merkle branch size does not match parent coinbase")
        nonce = int.from_bytes(script[pos + 4 : pos + 8], "little")
        if self.chain_index != expected_chain_index(nonce, chain, height):
            raise AuxPowError("Aux POW wrong index")


def merged_mining_script(aux_root: bytes, tree_size: int = 1, nonce: int = 0) -> bytes:
    """The 44 bytes a parent coinbase carries for merged mining: fabe6d6d, the aux-chain merkle
    root (given in internal byte order, written reversed), the tree size and the nonce."""
    return (
        MERGED_MINING_HEADER + aux_root[::-1] + tree_size.to_bytes(4, "little") + nonce.to_bytes(4, "little")
    )


@dataclass(frozen=True)
class AuxPowHeader:
    """A Dogecoin block header as it travels: the 80-byte header and, if its version says so, the
    AuxPoW after it (CBlockHeader's serialization)."""

    header: BlockHeader
    auxpow: AuxPow | None = None

    def serialize(self) -> bytes:
        tail = self.auxpow.serialize() if self.auxpow is not None else b""
        return self.header.serialize() + tail

    @classmethod
    def deserialize(cls, f: BinaryIO) -> AuxPowHeader:
        header = BlockHeader.deserialize(f)
        auxpow = AuxPow.deserialize(f) if is_auxpow_version(header.version) else None
        return cls(header, auxpow)

    @classmethod
    def from_bytes(cls, data: bytes) -> AuxPowHeader:
        return parse_exact(data, cls.deserialize)

    @property
    def hash(self) -> bytes:
        """The block hash: SHA-256d of the 80-byte header alone; the AuxPoW is not part of it."""
        return self.header.hash


def iter_headers(data: bytes, auxpow: bool) -> Iterator[AuxPowHeader]:
    """Consecutive headers from `data`: 80 bytes each, or (`auxpow`) each followed by its AuxPoW
    when its version has the auxpow bit. Raises DeserializationError on a truncated record (for
    plain headers before the first one is yielded, for AuxPoW headers when it is reached)."""
    if not auxpow:
        if len(data) % HEADER_SIZE:
            raise DeserializationError(
                f"size {len(data)} is not a multiple of {HEADER_SIZE} bytes "
                f"(truncated header: {len(data) % HEADER_SIZE} bytes left over)"
            )
        return (
            AuxPowHeader(BlockHeader.from_bytes(data[off : off + HEADER_SIZE]))
            for off in range(0, len(data), HEADER_SIZE)
        )
    return _iter_auxpow_headers(data)


def _iter_auxpow_headers(data: bytes) -> Iterator[AuxPowHeader]:
    f = BytesIO(data)
    n = 0
    while f.tell() < len(data):
        start = f.tell()
        try:
            yield AuxPowHeader.deserialize(f)
        except (DeserializationError, ValueError) as e:
            raise DeserializationError(f"header {n} (byte {start}): {e}") from None
        n += 1


def read_headers(data: bytes, auxpow: bool) -> list[AuxPowHeader]:
    """All of `iter_headers` as a list."""
    return list(iter_headers(data, auxpow))
