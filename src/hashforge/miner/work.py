"""What flows between the miner's parts, as immutable values.

    source (pool/node) --Work--> Scheduler --WorkUnit--> Device --Found--> verify --Share--> source

A `Work` is one job from one source (a Stratum job, or a getblocktemplate template put in
Stratum form) with the session facts a header needs. A `WorkUnit` is a slice of it that one
device thread scans in one kernel call: a fixed extranonce2 and ntime, a set of rolled versions
and a nonce range. A `Share` goes back only to the source that issued its Work.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from enum import StrEnum

from hashforge.stratum import Job, hash_difficulty


@dataclass(frozen=True, slots=True)
class Work:
    source: int  # index of the pool (or node) that issued the job
    job: Job
    extranonce1: bytes
    extranonce2_size: int
    difficulty: float  # share difficulty as the pool states it (scrypt: before 2^16 scaling)
    target: int  # share target
    block_target: int  # network target from nbits
    version_mask: int = 0  # BIP310 bits we may roll (0: none)
    ntime_window: int = 0  # seconds ntime may roll past job.time
    algo: str = "sha256d"
    epoch: int = 0  # the source's epoch: bumped by clean jobs, new extranonce, reconnects
    received: float = field(default_factory=time.monotonic)

    @property
    def job_id(self) -> str:
        return self.job.job_id

    def ntime_at(self, now: float) -> int:
        """ntime rolled forward with the clock since the job arrived, within the window."""
        return self.job.time + max(0, min(int(now - self.received), self.ntime_window))


@dataclass(frozen=True, slots=True)
class WorkUnit:
    work: Work
    extranonce2: bytes
    ntime: int
    header: bytes  # 80 bytes with the job's version and nonce 0 (kernels override both)
    versions: tuple[int, ...]
    nonce_start: int
    nonce_end: int
    slot: int  # the device slot it was cut for

    @property
    def hashes(self) -> int:
        return (self.nonce_end - self.nonce_start) * len(self.versions)

    def header_for(self, version: int, nonce: int) -> bytes:
        return (
            (version & 0xFFFFFFFF).to_bytes(4, "little") + self.header[4:76] + nonce.to_bytes(4, "little")
        )


@dataclass(frozen=True, slots=True)
class Share:
    """A verified hash under the share target, ready for the source that issued `work`."""

    work: Work
    extranonce2: bytes
    ntime: int
    nonce: int
    version: int
    pow_hash: bytes  # internal byte order
    device: str  # device name, for per-device accounting

    @property
    def difficulty(self) -> float:
        return hash_difficulty(self.pow_hash, scrypt=self.work.algo == "scrypt")

    @property
    def is_block(self) -> bool:
        return int.from_bytes(self.pow_hash, "little") <= self.work.block_target

    @property
    def header(self) -> bytes:
        return self.work.job.header(self.work.extranonce1, self.extranonce2, self.ntime, self.nonce, self.version)


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class ShareResult:
    verdict: Verdict
    reason: str = ""  # the pool's reason for a rejection or staleness
    block: bool = False  # a solo source accepted it as a block


def pow_hash(algo: str, header: bytes) -> bytes:
    """The proof-of-work hash (internal byte order), computed with hashlib: the verifier that
    catches a kernel's wrong answer (a hardware error), independent of the kernels."""
    if algo == "scrypt":
        return hashlib.scrypt(header, salt=header, n=1024, r=1, p=1, dklen=32)
    return hashlib.sha256(hashlib.sha256(header).digest()).digest()
