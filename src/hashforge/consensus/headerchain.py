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
- minimum block version after BIP34/66/65 (bad-version): always, it depends only on the height
  (Dogecoin: the base version, without chain ID and auxpow flag, after BIP66/65 only);
- merged mining (Dogecoin): the chain ID in the version, and for headers with the auxpow bit the
  AuxPoW itself (the parent's scrypt hash against the header's nBits, the coinbase commitment and
  both merkle branches: auxpow.AuxPow.check); legacy headers are refused from the network's AuxPoW
  start height and AuxPoW headers before it (late-legacy-block, early-auxpow-block).

Not checked (needs a clock or full blocks): time-too-new, the merkle root, anything in transactions.
Reject reasons are Bitcoin Core's strings (high-hash, bad-diffbits, time-too-old, ...).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .auxpow import (
    AuxPowError,
    AuxPowHeader,
    base_version,
    chain_id,
    is_auxpow_version,
    is_legacy_version,
)
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
    checked_auxpow: int = 0

    @property
    def tip_hash_hex(self) -> str:
        return self.tip_hash[::-1].hex()


def _check_version(header: BlockHeader, height: int, params: ChainParams) -> None:
    rules: tuple[tuple[int, int], ...] = (
        (2, params.bip34_height),
        (3, params.bip66_height),
        (4, params.bip65_height),
    )
    version = header.version
    if params.auxpow_chain_id is not None:
        # Dogecoin compares the base version and never enforced version 2 (BIP34).
        rules = rules[1:]
        version = base_version(header.version)
    for minimum, active_height in rules:
        if height >= active_height and version < minimum:
            raise HeaderChainError(
                height,
                f"bad-version(0x{version & 0xFFFFFFFF:08x})",
                f"version {version} is below {minimum}, required from height {active_height}",
            )


def _check_pow(item: AuxPowHeader, height: int, params: ChainParams) -> bool:
    """Proof of work (Dogecoin: CheckAuxPowProofOfWork); True if an AuxPoW was checked."""
    header = item.header
    if params.auxpow_chain_id is None:
        if not check_proof_of_work(pow_hash(header, params), header.bits, params):
            raise HeaderChainError(height, "high-hash", "proof of work failed")
        return False
    chain = chain_id(header.version)
    if not is_legacy_version(header.version) and params.auxpow_strict_chain_id and chain != params.auxpow_chain_id:
        raise HeaderChainError(
            height,
            "high-hash",
            f"block does not have our chain ID (got {chain}, expected {params.auxpow_chain_id}, "
            f"full nVersion {header.version})",
        )
    if item.auxpow is None:
        if is_auxpow_version(header.version):
            raise HeaderChainError(height, "high-hash", "no auxpow on block with auxpow version")
        if not check_proof_of_work(pow_hash(header, params), header.bits, params):
            raise HeaderChainError(height, "high-hash", "non-AUX proof of work failed")
        return False
    if not is_auxpow_version(header.version):
        raise HeaderChainError(height, "high-hash", "auxpow on block with non-auxpow version")
    if not check_proof_of_work(item.auxpow.parent_pow_hash, header.bits, params):
        raise HeaderChainError(height, "high-hash", "AUX proof of work failed")
    try:
        item.auxpow.check(header.hash, chain, params.auxpow_strict_chain_id)
    except AuxPowError as e:
        raise HeaderChainError(height, "high-hash", f"AUX POW is not valid: {e}") from None
    return True


def _check_auxpow_era(header: BlockHeader, height: int, params: ChainParams) -> None:
    start = params.auxpow_start_height
    if start is None:
        return
    if height >= start and is_legacy_version(header.version):
        raise HeaderChainError(
            height, "late-legacy-block", f"legacy block after auxpow start (height {start})"
        )
    if height < start and is_auxpow_version(header.version):
        raise HeaderChainError(
            height,
            "early-auxpow-block",
            f"auxpow blocks are not allowed at height {height}, parameters effective from {start}",
        )


def _is_retarget(height: int, params: ChainParams) -> bool:
    """Whether the nBits at `height` come from a retarget (every block under DigiShield)."""
    if params.pow_no_retargeting and params.difficulty_rule is not DifficultyRule.DOGECOIN:
        return False
    if params.difficulty_rule is DifficultyRule.DOGECOIN:
        if height - 1 >= 145_000:
            return True
        era = params.dogecoin_era(height)
        return height % (era.pow_target_timespan // params.pow_target_spacing) == 0
    if params.difficulty_rule in (DifficultyRule.BITCOIN, DifficultyRule.LITECOIN):
        return height % params.difficulty_adjustment_interval == 0
    return False


def verify_headers(
    headers: Iterable[BlockHeader | AuxPowHeader],
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
    prev: BlockHeader | None = None
    work = 0
    n_links = n_bits = n_retargets = n_mtp = n_timewarp = n_auxpow = 0
    count = 0
    for count, entry in enumerate(headers, start=1):
        height = start_height + count - 1
        item = entry if isinstance(entry, AuxPowHeader) else AuxPowHeader(entry)
        header = item.header
        if _check_pow(item, height, params):
            n_auxpow += 1
        if height == 0 and header.hash != params.genesis_hash:
            raise HeaderChainError(
                0, "bad-genesis", f"expected {params.genesis.hash_hex}, got {header.hash_hex}"
            )
        if height > 0:
            _check_auxpow_era(header, height, params)
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
                if _is_retarget(height, params):
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
        checked_auxpow=n_auxpow,
    )
