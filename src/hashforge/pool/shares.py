"""Share validation, pure: a mining.submit's fields against the job it names.

`check_share` is the one path every share takes (the Stratum server, the vector tests and the
benchmark): it decodes the hex fields, applies the BIP310 version mask, bounds ntime, rebuilds
the header and compares its PoW hash with the share and network targets. It knows nothing of
sessions, duplicates or storage; the stratifier adds those.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hashforge.stratum import Job, StratumErrorCode, hash_difficulty, rolled_version

from .errors import ShareRejected

PowFunction = Callable[[bytes], bytes]


def sha256d(header: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(header).digest()).digest()


@dataclass(frozen=True, slots=True)
class ShareCheck:
    """A share that met its target: the header, its PoW hash and what it achieved."""

    header: bytes
    pow_hash: bytes
    hash_difficulty: float
    extranonce2: bytes
    ntime: int
    nonce: int
    version: int
    is_block: bool


@dataclass(frozen=True, slots=True)
class Submission:
    """mining.submit params, shape-checked: [worker, job_id, extranonce2, ntime, nonce, (version_bits)]."""

    worker: str
    job_id: str
    extranonce2: str
    ntime: str
    nonce: str
    version_bits: str | None

    @classmethod
    def parse(cls, params: Any) -> Submission:
        if not isinstance(params, list) or not 5 <= len(params) <= 6:
            raise ShareRejected(StratumErrorCode.OTHER, "mining.submit needs 5 or 6 params")
        if not all(isinstance(p, str) for p in params):
            raise ShareRejected(StratumErrorCode.OTHER, "mining.submit params must be strings")
        vb = params[5] if len(params) == 6 else None
        return cls(params[0], params[1], params[2], params[3], params[4], vb)


def _hex(value: str, size: int, name: str) -> bytes:
    if len(value) != 2 * size:
        raise ShareRejected(StratumErrorCode.OTHER, f"{name} must be {size} bytes of hex")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ShareRejected(StratumErrorCode.OTHER, f"{name} is not hex") from None


def check_share(
    job: Job,
    extranonce1: bytes,
    sub: Submission,
    *,
    extranonce2_size: int,
    version_mask: int,
    share_target: int,
    network_target: int,
    now: int,
    ntime_future: int = 7200,
    pow_fn: PowFunction = sha256d,
    scrypt: bool = False,
) -> ShareCheck:
    """Validates one submission; raises ShareRejected (code 20 or 23) or returns the share."""
    en2 = _hex(sub.extranonce2, extranonce2_size, "extranonce2")
    ntime = int.from_bytes(_hex(sub.ntime, 4, "ntime"), "big")
    nonce = int.from_bytes(_hex(sub.nonce, 4, "nonce"), "big")
    version = job.version
    if sub.version_bits is not None:
        bits = int.from_bytes(_hex(sub.version_bits, 4, "version_bits"), "big")
        outside = bits & ~version_mask & 0xFFFFFFFF
        # Some miners send the whole rolled version, others only the rolled bits (BIP310):
        # accept both, but never a bit outside the negotiated mask.
        if outside and outside != job.version & ~version_mask & 0xFFFFFFFF:
            raise ShareRejected(StratumErrorCode.OTHER, "version bits outside the negotiated mask")
        version = rolled_version(job.version, bits, version_mask)
    if ntime < job.time:
        raise ShareRejected(StratumErrorCode.OTHER, "ntime before the job's time")
    if ntime > now + ntime_future:
        raise ShareRejected(StratumErrorCode.OTHER, "ntime too far in the future")
    header = job.header(extranonce1, en2, ntime, nonce, version)
    pow_hash = pow_fn(header)
    value = int.from_bytes(pow_hash, "little")
    if value > share_target:
        raise ShareRejected(StratumErrorCode.LOW_DIFFICULTY_SHARE, "low difficulty share")
    return ShareCheck(
        header=header,
        pow_hash=pow_hash,
        hash_difficulty=hash_difficulty(pow_hash, scrypt),
        extranonce2=en2,
        ntime=ntime,
        nonce=nonce,
        version=version,
        is_block=value <= network_target,
    )
