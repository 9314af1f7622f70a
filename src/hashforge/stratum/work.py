"""Stratum v1 work: a job from mining.notify, the coinbase and header a share commits to, and
difficulty/target conversions.

Byte-order facts (tested against real captures in tests/data/stratum_shares.json):
- `prevhash` is the internal (little-endian) hash with each 4-byte word byte-swapped.
- `version`, `nbits`, `ntime` are big-endian hex of the numbers; the header stores them
  little-endian. `nonce` is submitted as big-endian hex of the number.
- merkle branch entries are hashes in internal byte order.
- coinbase = coinb1 | extranonce1 | extranonce2 | coinb2.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

DIFF1_TARGET = 0x00000000FFFF0000000000000000000000000000000000000000000000000000
SCRYPT_DIFFICULTY_FACTOR = 65536  # scrypt pools scale share difficulty by 2^16
MAX_TARGET = (1 << 256) - 1


def _hash256(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def prevhash_to_stratum(prev_hash: bytes) -> str:
    """Internal-order previous block hash -> mining.notify's word-swapped hex."""
    if len(prev_hash) != 32:
        raise ValueError("previous block hash must be 32 bytes")
    return b"".join(prev_hash[i : i + 4][::-1] for i in range(0, 32, 4)).hex()


def prevhash_from_stratum(hex_str: str) -> bytes:
    """mining.notify's prevhash -> internal-order bytes."""
    raw = bytes.fromhex(hex_str)
    if len(raw) != 32:
        raise ValueError("prevhash must be 32 bytes of hex")
    return b"".join(raw[i : i + 4][::-1] for i in range(0, 32, 4))


def _hex_u32(value: str, name: str) -> int:
    if not isinstance(value, str) or len(value) != 8:
        raise ValueError(f"{name} must be 8 hex digits")
    return int(value, 16)


@dataclass(frozen=True)
class Job:
    """What one mining.notify says (hex fields decoded to bytes/ints)."""

    job_id: str
    prev_hash: bytes  # internal byte order
    coinb1: bytes
    coinb2: bytes
    merkle_branch: tuple[bytes, ...]  # internal byte order
    version: int
    bits: int
    time: int
    clean_jobs: bool

    @classmethod
    def from_notify(cls, params: list[Any]) -> Job:
        """Parses mining.notify params; raises ValueError with the field at fault."""
        if not isinstance(params, list) or len(params) < 9:
            raise ValueError("mining.notify needs 9 params")
        job_id, prevhash, coinb1, coinb2, branch, version, nbits, ntime, clean = params[:9]
        if not isinstance(job_id, str) or not job_id:
            raise ValueError("job_id must be a non-empty string")
        if not isinstance(branch, list) or not all(isinstance(b, str) and len(b) == 64 for b in branch):
            raise ValueError("merkle branch must be a list of 32-byte hex hashes")
        try:
            return cls(
                job_id,
                prevhash_from_stratum(prevhash),
                bytes.fromhex(coinb1),
                bytes.fromhex(coinb2),
                tuple(bytes.fromhex(b) for b in branch),
                _hex_u32(version, "version"),
                _hex_u32(nbits, "nbits"),
                _hex_u32(ntime, "ntime"),
                bool(clean),
            )
        except (TypeError, ValueError) as e:
            raise ValueError(f"bad mining.notify: {e}") from None

    def to_notify(self) -> list[Any]:
        return [
            self.job_id,
            prevhash_to_stratum(self.prev_hash),
            self.coinb1.hex(),
            self.coinb2.hex(),
            [b.hex() for b in self.merkle_branch],
            f"{self.version:08x}",
            f"{self.bits:08x}",
            f"{self.time:08x}",
            self.clean_jobs,
        ]

    def coinbase(self, extranonce1: bytes, extranonce2: bytes) -> bytes:
        return build_coinbase(self.coinb1, extranonce1, extranonce2, self.coinb2)

    def merkle_root(self, extranonce1: bytes, extranonce2: bytes) -> bytes:
        return merkle_root_from_branch(_hash256(self.coinbase(extranonce1, extranonce2)), self.merkle_branch)

    def header(
        self, extranonce1: bytes, extranonce2: bytes, ntime: int, nonce: int, version: int | None = None
    ) -> bytes:
        return build_header(
            self.version if version is None else version,
            self.prev_hash,
            self.merkle_root(extranonce1, extranonce2),
            ntime,
            self.bits,
            nonce,
        )


def build_coinbase(coinb1: bytes, extranonce1: bytes, extranonce2: bytes, coinb2: bytes) -> bytes:
    return coinb1 + extranonce1 + extranonce2 + coinb2


def merkle_root_from_branch(coinbase_txid: bytes, branch: tuple[bytes, ...] | list[bytes]) -> bytes:
    """The coinbase is leaf 0, so each step hashes (current | sibling)."""
    h = coinbase_txid
    for sibling in branch:
        h = _hash256(h + sibling)
    return h


def build_header(version: int, prev_hash: bytes, merkle_root: bytes, ntime: int, bits: int, nonce: int) -> bytes:
    return (
        (version & 0xFFFFFFFF).to_bytes(4, "little")
        + prev_hash
        + merkle_root
        + ntime.to_bytes(4, "little")
        + bits.to_bytes(4, "little")
        + nonce.to_bytes(4, "little")
    )


def rolled_version(job_version: int, submitted_bits: int, mask: int) -> int:
    """BIP310: the header version from the job's version and the miner's rolled bits under `mask`."""
    return (job_version & ~mask & 0xFFFFFFFF) | (submitted_bits & mask)


def difficulty_to_target(difficulty: float | Fraction | int, scrypt: bool = False) -> int:
    """Share target for a pool difficulty (fractional allowed); scrypt pools scale by 2^16."""
    d = Fraction(difficulty) if not isinstance(difficulty, float) else Fraction(str(difficulty))
    if d <= 0:
        raise ValueError("difficulty must be positive")
    base = DIFF1_TARGET * (SCRYPT_DIFFICULTY_FACTOR if scrypt else 1)
    return min(MAX_TARGET, int(base / d))


def target_to_difficulty(target: int, scrypt: bool = False) -> float:
    base = DIFF1_TARGET * (SCRYPT_DIFFICULTY_FACTOR if scrypt else 1)
    return base / max(target, 1)


def hash_difficulty(pow_hash: bytes, scrypt: bool = False) -> float:
    """The difficulty a (little-endian) PoW hash achieves: what a pool credits as share difficulty."""
    return target_to_difficulty(int.from_bytes(pow_hash, "little"), scrypt)
