"""Verification of a run of consecutive block headers (what `hashforge headers verify` runs).

The run starts at a known height and carries no other context, so each rule is checked wherever the
run itself supplies what the rule needs, and counted:

- proof of work of every header (hash against its own nBits, nBits within pow_limit): always;
- the genesis header, if the run starts at height 0: must be the network's;
- linkage (prev_hash = hash of the header before): from the second header on;
- nBits (Core's GetNextWorkRequired, or aserti3-2d): from the second header on, whenever the
  ancestors the rule asks for are in the run. Bitcoin's retarget at height 2016k needs heights
  2016(k-1) and 2016k-1, so a run that starts on a boundary checks every retarget inside it;
  testnet's min-difficulty walk-back needs the blocks back to the last ordinary one (or the period
  start); the devnets' ASERT needs the anchor (block 1), so only runs that contain it are checked;
- median time past (time-too-old): where the 11 previous headers (fewer near genesis) are in the run;
- BIP94's timewarp rule (testnet4) at each period's first block, from its parent;
- minimum block version after BIP34/66/65 (bad-version): always, it depends only on the height.

Not checked (needs a clock or full blocks): time-too-new, the merkle root, anything in transactions.
Reject reasons are Bitcoin Core's strings (high-hash, bad-diffbits, time-too-old, ...).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .block import BlockHeader
from .params import MEDIAN_TIME_SPAN, ChainParams, DifficultyRule
from .pow import (
    HeaderInfo,
    block_proof,
    check_proof_of_work,
    get_next_work_required,
    median_time_past,
    pow_hash,
)

MAX_TIMEWARP = 600  # BIP94: a period's first block may not be more than this before its parent


class HeaderChainError(ValueError):
    """A header breaks a rule: `height`, Core's `reason` string and a human `detail`."""

    def __init__(self, height: int, reason: str, detail: str) -> None:
        super().__init__(f"height {height}: {reason}: {detail}")
        self.height = height
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class HeaderChainSummary:
    """What a successful verification established (counts say how many headers each rule saw)."""

    network: str
    count: int
    first_height: int
    last_height: int
    tip_hash: bytes  # internal byte order
    chainwork: int  # sum of block_proof over the run
    checked_pow: int
    checked_links: int
    checked_bits: int
    checked_retargets: int
    checked_median_time: int
    checked_timewarp: int

    @property
    def tip_hash_hex(self) -> str:
        return self.tip_hash[::-1].hex()


def _check_version(header: BlockHeader, height: int, params: ChainParams) -> None:
    for version, active_height in (
        (2, params.bip34_height),
        (3, params.bip66_height),
        (4, params.bip65_height),
    ):
        if height >= active_height and header.version < version:
            raise HeaderChainError(
                height,
                f"bad-version(0x{header.version & 0xFFFFFFFF:08x})",
                f"version {header.version} is below {version}, required from height {active_height}",
            )


def verify_headers(
    headers: Iterable[BlockHeader],
    params: ChainParams,
    start_height: int,
    progress: Callable[[int], None] | None = None,
) -> HeaderChainSummary:
    """Checks `headers` (consecutive, the first at `start_height`); raises HeaderChainError at the
    first violation. `progress(n)` is called after every 1000th header and at the end."""
    if start_height < 0:
        raise ValueError("start height must not be negative")
    times = array("q")
    bits = array("q")

    def ancestor(height: int) -> HeaderInfo:
        index = height - start_height
        if not 0 <= index < len(times):
            raise LookupError(f"height {height} is not in the run")
        return HeaderInfo(height, times[index], bits[index])

    interval = params.difficulty_adjustment_interval
    bitcoin_rule = params.difficulty_rule is DifficultyRule.BITCOIN
    prev: BlockHeader | None = None
    work = 0
    n_links = n_bits = n_retargets = n_mtp = n_timewarp = 0
    count = 0
    for count, header in enumerate(headers, start=1):
        height = start_height + count - 1
        if not check_proof_of_work(pow_hash(header, params), header.bits, params):
            raise HeaderChainError(height, "high-hash", "proof of work failed")
        if height == 0 and header.hash != params.genesis_hash:
            raise HeaderChainError(
                0, "bad-genesis", f"expected {params.genesis.hash_hex}, got {header.hash_hex}"
            )
        if height > 0:
            _check_version(header, height, params)
        if prev is not None:
            if header.prev_hash != prev.hash:
                raise HeaderChainError(
                    height,
                    "bad-prevblk",
                    f"previous block hash {header.prev_hash[::-1].hex()} is not that of height "
                    f"{height - 1} ({prev.hash_hex})",
                )
            n_links += 1
            last = HeaderInfo(height - 1, prev.time, prev.bits)
            try:
                expected = get_next_work_required(params, last, header.time, ancestor)
            except LookupError:
                pass  # the rule needs an ancestor before the run
            else:
                if header.bits != expected:
                    raise HeaderChainError(
                        height, "bad-diffbits", f"expected {expected:08x}, got {header.bits:08x}"
                    )
                n_bits += 1
                if bitcoin_rule and height % interval == 0 and not params.pow_no_retargeting:
                    n_retargets += 1
            span = min(MEDIAN_TIME_SPAN, height)
            if len(times) >= span:
                mtp = median_time_past(times[len(times) - span :])
                if header.time <= mtp:
                    raise HeaderChainError(
                        height,
                        "time-too-old",
                        f"time {header.time} is not after the median time past {mtp}",
                    )
                n_mtp += 1
            if params.enforce_bip94 and height % interval == 0:
                if header.time < prev.time - MAX_TIMEWARP:
                    raise HeaderChainError(
                        height,
                        "time-timewarp-attack",
                        f"time {header.time} is more than {MAX_TIMEWARP} s before its parent's "
                        f"{prev.time}",
                    )
                n_timewarp += 1
        times.append(header.time)
        bits.append(header.bits)
        work += block_proof(header.bits)
        prev = header
        if progress is not None and count % 1000 == 0:
            progress(count)
    if prev is None:
        raise ValueError("no headers to verify")
    if progress is not None:
        progress(count)
    return HeaderChainSummary(
        network=params.name,
        count=count,
        first_height=start_height,
        last_height=start_height + count - 1,
        tip_hash=prev.hash,
        chainwork=work,
        checked_pow=count,
        checked_links=n_links,
        checked_bits=n_bits,
        checked_retargets=n_retargets,
        checked_median_time=n_mtp,
        checked_timewarp=n_timewarp,
    )
