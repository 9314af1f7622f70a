"""Proof of work: compact nBits, difficulty, chainwork, PoW checks and every difficulty rule we run.

Integers throughout, exactly as Bitcoin Core computes them (`arith_uint256`, `pow.cpp`); floats
appear only in `difficulty()`, which is for display. The retarget functions take the chain context
they need as `HeaderInfo` values and an `ancestor(height)` lookup, so they run the same over a node's
block index, a file of headers or a test's hand-made list.

Rules implemented:
- Bitcoin: retarget every 2016 blocks from the timespan of the last 2015 intervals (Core's
  off-by-one), clamped to x4 / ÷4, capped at pow_limit; testnet's 20-minute min-difficulty rule and
  the walk back to the last ordinary block; BIP94 (testnet4) retargets from the first block of the
  period; regtest never retargets.
- Litecoin: Bitcoin's, except that the timespan is measured from the block before the period
  (the full interval; only the first retarget after genesis looks back one block less), and the
  target is halved before the multiplication when it is within one bit of pow_limit (then doubled
  again, dropping its lowest bit), as Litecoin Core does to keep the product in 256 bits.
- Dogecoin (`dogecoin_next_work_required`): Litecoin's full-interval retarget every 240 blocks
  with clamps that widen below heights 10,000 and 5,000; from 145,000 DigiShield retargets every
  block from the last interval, damped 1/8 and clamped to -25 %/+50 %; testnets' min-difficulty
  rule from height 157,500 on every block. The rule set at a height comes from ChainParams.dogecoin_era.
- aserti3-2d (our devnets): see `asert_target`. Chosen over LWMA because it is closed-form and
  stateless beyond one anchor block (LWMA needs the last N timestamps and targets), responds every
  block without the oscillation windowed averages show, is pure integer arithmetic with one exact
  specification, and has published test vectors (BCH's run01..run10) to prove an implementation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from .block import BlockHeader
from .hashes import scrypt_pow
from .params import MEDIAN_TIME_SPAN, ChainParams, DifficultyRule, PowAlgorithm
from .script import encode_num, push_int
from .subsidy import dogecoin_block_subsidy

UINT256_MASK = (1 << 256) - 1
DIFF1_TARGET = 0xFFFF << 208  # bits 0x1d00ffff: difficulty 1 (SHA-256d and, by convention, scrypt)
MAX_HALVINGS = 64


class InvalidCompactError(ValueError):
    """nBits that do not encode a usable target (negative or overflowing)."""


# --- compact encoding (arith_uint256::SetCompact / GetCompact) ----------------------------------


class CompactTarget(NamedTuple):
    """What `SetCompact` yields: the 256-bit value and its two flags (neither is hidden)."""

    target: int
    negative: bool
    overflow: bool


def set_compact(bits: int) -> CompactTarget:
    """Decodes nBits as Core's `arith_uint256::SetCompact` does, flags included.

    The value is what Core stores (shifted bits beyond 256 are lost), so an overflowing encoding
    still yields its truncated value; look at `overflow`.
    """
    if not 0 <= bits <= 0xFFFFFFFF:
        raise ValueError(f"nBits out of range: {bits!r}")
    size = bits >> 24
    word = bits & 0x007FFFFF
    if size <= 3:
        word >>= 8 * (3 - size)
        value = word
    else:
        value = (word << (8 * (size - 3))) & UINT256_MASK
    negative = word != 0 and bool(bits & 0x00800000)
    overflow = word != 0 and (size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32))
    return CompactTarget(value, negative, overflow)


def get_compact(value: int, negative: bool = False) -> int:
    """Encodes a 256-bit value as nBits exactly like Core's `arith_uint256::GetCompact`."""
    if not 0 <= value <= UINT256_MASK:
        raise ValueError("value must fit in 256 unsigned bits")
    size = (value.bit_length() + 7) // 8
    if size <= 3:
        compact = (value << (8 * (3 - size))) & 0xFFFFFFFFFFFFFFFF
    else:
        compact = (value >> (8 * (size - 3))) & 0xFFFFFFFFFFFFFFFF
    # 0x00800000 is the sign bit: keep the mantissa below it by moving one byte into the exponent.
    if compact & 0x00800000:
        compact >>= 8
        size += 1
    assert compact & ~0x007FFFFF == 0 and size < 256
    compact |= size << 24
    if negative and compact & 0x007FFFFF:
        compact |= 0x00800000
    return compact


def bits_to_target(bits: int) -> int:
    """The target nBits stands for; raises InvalidCompactError if negative or overflowing."""
    decoded = set_compact(bits)
    if decoded.negative:
        raise InvalidCompactError(f"nBits {bits:08x} is negative")
    if decoded.overflow:
        raise InvalidCompactError(f"nBits {bits:08x} overflows 256 bits")
    return decoded.target


def target_to_bits(target: int) -> int:
    """The canonical (shortest, non-negative) nBits of a target; precision below 3 bytes is lost."""
    return get_compact(target)


def derive_target(bits: int, pow_limit: int) -> int | None:
    """Core's DeriveTarget: the target, or None if negative, zero, overflowing or above pow_limit."""
    target, negative, overflow = set_compact(bits)
    if negative or overflow or target == 0 or target > pow_limit:
        return None
    return target


# --- difficulty and chainwork --------------------------------------------------------------------


def difficulty(bits: int) -> float:
    """Core's GetDifficulty (RPC `difficulty`): a float, for display only."""
    shift = (bits >> 24) & 0xFF
    mantissa = bits & 0x00FFFFFF
    if mantissa == 0:
        return float("inf")  # Core divides by 0.0
    diff = 0x0000FFFF / mantissa
    while shift < 29:
        diff *= 256.0
        shift += 1
    while shift > 29:
        diff /= 256.0
        shift -= 1
    return diff


def difficulty_exact(bits: int) -> Fraction:
    """GetDifficulty's formula without rounding: 0xffff/mantissa * 256^(29 - exponent).

    For canonical, positive nBits this is exactly DIFF1_TARGET / target.
    """
    shift = (bits >> 24) & 0xFF
    mantissa = bits & 0x00FFFFFF
    if mantissa == 0:
        raise ZeroDivisionError(f"nBits {bits:08x} has a zero mantissa")
    return Fraction(0xFFFF, mantissa) * Fraction(256) ** (29 - shift)


def target_difficulty(target: int) -> Fraction:
    """DIFF1_TARGET / target: the exact difficulty of any target (e.g. a pool's share target)."""
    if target <= 0:
        raise ValueError("target must be positive")
    return Fraction(DIFF1_TARGET, target)


def block_proof(bits: int) -> int:
    """Core's GetBlockProof: expected hashes for one block, 2^256 // (target + 1); 0 if invalid."""
    target, negative, overflow = set_compact(bits)
    if negative or overflow or target == 0:
        return 0
    return (1 << 256) // (target + 1)


def chainwork(bits_seq: Sequence[int]) -> int:
    """Sum of block_proof over a run of headers' nBits."""
    return sum(block_proof(b) for b in bits_seq)


# --- proof-of-work check ---------------------------------------------------------------------------


def pow_hash(header: BlockHeader, params: ChainParams) -> bytes:
    """The hash that must meet the target: SHA-256d (the block hash) or scrypt(1024,1,1)."""
    if params.pow_algorithm is PowAlgorithm.SCRYPT:
        return scrypt_pow(header.serialize())
    return header.hash


def hash_to_int(h: bytes) -> int:
    """A 32-byte hash (internal byte order) as the 256-bit number compared with targets."""
    return int.from_bytes(h, "little")


def check_proof_of_work(pow_hash_bytes: bytes, bits: int, params: ChainParams) -> bool:
    """Core's CheckProofOfWork: nBits in range (0 < target <= pow_limit) and hash <= target."""
    target = derive_target(bits, params.pow_limit)
    if target is None:
        return False
    return hash_to_int(pow_hash_bytes) <= target


def check_header_pow(header: BlockHeader, params: ChainParams) -> bool:
    return check_proof_of_work(pow_hash(header, params), header.bits, params)


def mine_header(
    header: BlockHeader, params: ChainParams, start_nonce: int = 0, max_nonce: int = 0xFFFFFFFF
) -> BlockHeader | None:
    """The header with the first nonce in [start_nonce, max_nonce] that meets its own nBits.

    A reference miner (pure Python, one core): for genesis blocks, tests and the devnet's first
    blocks; real mining uses the native kernels.
    """
    target = derive_target(header.bits, params.pow_limit)
    if target is None:
        raise InvalidCompactError(f"nBits {header.bits:08x} is not a valid target for {params.name}")
    prefix = header.serialize()[:76]
    if params.pow_algorithm is PowAlgorithm.SCRYPT:
        for nonce in range(start_nonce, max_nonce + 1):
            raw = prefix + nonce.to_bytes(4, "little")
            if int.from_bytes(scrypt_pow(raw), "little") <= target:
                return BlockHeader.from_bytes(raw)
        return None
    sha = hashlib.sha256
    for nonce in range(start_nonce, max_nonce + 1):
        raw = prefix + nonce.to_bytes(4, "little")
        if int.from_bytes(sha(sha(raw).digest()).digest(), "little") <= target:
            return BlockHeader.from_bytes(raw)
    return None


# --- chain context -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeaderInfo:
    """What the difficulty rules need to know about one block: its height, time and nBits."""

    height: int
    time: int
    bits: int

    @classmethod
    def from_header(cls, header: BlockHeader, height: int) -> HeaderInfo:
        return cls(height, header.time, header.bits)


AncestorLookup = Callable[[int], HeaderInfo]
"""ancestor(height) -> HeaderInfo of the block at that height on the same chain; raises LookupError
(e.g. KeyError/IndexError) when it does not know it."""


def median_time_past(times: Sequence[int]) -> int:
    """Core's GetMedianTimePast: the median of the last (up to) 11 block times, oldest first."""
    if not times:
        raise ValueError("median time past of no blocks")
    window = sorted(times[-MEDIAN_TIME_SPAN:])
    return window[len(window) // 2]


# --- Bitcoin's 2016-block retarget ------------------------------------------------------------------


def calculate_next_work_required(last: HeaderInfo, first: HeaderInfo, params: ChainParams) -> int:
    """Core's CalculateNextWorkRequired at a retarget boundary.

    `last` is the block before the boundary (height 2016k-1), `first` the first block of its period
    (height 2016(k-1)): the measured timespan covers 2015 intervals, not 2016 (Bitcoin's
    off-by-one). BIP94 (testnet4) scales the first block's nBits, which can never be a
    min-difficulty block, instead of the last's.
    """
    if params.pow_no_retargeting:
        return last.bits
    timespan = last.time - first.time
    timespan = max(timespan, params.pow_target_timespan // 4)
    timespan = min(timespan, params.pow_target_timespan * 4)
    base_bits = first.bits if params.enforce_bip94 else last.bits
    target = set_compact(base_bits).target
    # arith_uint256 arithmetic: the product wraps at 2^256 (it never does for real parameters).
    target = ((target * timespan) & UINT256_MASK) // params.pow_target_timespan
    target = min(target, params.pow_limit)
    return get_compact(target)


def _bitcoin_next_work_required(
    params: ChainParams, last: HeaderInfo, new_block_time: int, ancestor: AncestorLookup
) -> int:
    interval = params.difficulty_adjustment_interval
    pow_limit_bits = get_compact(params.pow_limit)
    if (last.height + 1) % interval != 0:
        if params.pow_allow_min_difficulty_blocks:
            # Testnet: a block more than twice the spacing after its parent may use min difficulty.
            if new_block_time > last.time + 2 * params.pow_target_spacing:
                return pow_limit_bits
            # Otherwise the last block that was not mined under that exception sets the bar.
            info = last
            while info.height > 0 and info.height % interval != 0 and info.bits == pow_limit_bits:
                info = ancestor(info.height - 1)
            return info.bits
        return last.bits
    first = ancestor(last.height - (interval - 1))
    return calculate_next_work_required(last, first, params)


# --- Litecoin and Dogecoin ---------------------------------------------------------------------------


def litecoin_calculate_next_work(last: HeaderInfo, first_time: int, params: ChainParams) -> int:
    """Litecoin Core's CalculateNextWorkRequired: Bitcoin's clamp and scaling, with the 1-bit shift."""
    if params.pow_no_retargeting:
        return last.bits
    timespan = last.time - first_time
    timespan = max(timespan, params.pow_target_timespan // 4)
    timespan = min(timespan, params.pow_target_timespan * 4)
    target = set_compact(last.bits).target
    # "intermediate uint256 can overflow by 1 bit": Core shifts by one when the target is within a
    # bit of pow_limit, so the lowest bit is lost there; a real retarget must reproduce that.
    shift = target.bit_length() > params.pow_limit.bit_length() - 1
    if shift:
        target >>= 1
    target = ((target * timespan) & UINT256_MASK) // params.pow_target_timespan
    if shift:
        target = (target << 1) & UINT256_MASK
    return get_compact(min(target, params.pow_limit))


def _lookback(last_height: int, interval: int) -> int:
    """Blocks back from the last one to the period's first (Art Forz's fix: the full interval,
    except at the first retarget after genesis)."""
    return interval - 1 if last_height + 1 == interval else interval


def _min_difficulty_walk_back(
    last: HeaderInfo, interval: int, pow_limit_bits: int, ancestor: AncestorLookup
) -> int:
    info = last
    while info.height > 0 and info.height % interval != 0 and info.bits == pow_limit_bits:
        info = ancestor(info.height - 1)
    return info.bits


def _litecoin_next_work_required(
    params: ChainParams, last: HeaderInfo, new_block_time: int, ancestor: AncestorLookup
) -> int:
    interval = params.difficulty_adjustment_interval
    if (last.height + 1) % interval != 0:
        if params.pow_allow_min_difficulty_blocks:
            pow_limit_bits = get_compact(params.pow_limit)
            if new_block_time > last.time + 2 * params.pow_target_spacing:
                return pow_limit_bits
            return _min_difficulty_walk_back(last, interval, pow_limit_bits, ancestor)
        return last.bits
    first = ancestor(last.height - _lookback(last.height, interval))
    return litecoin_calculate_next_work(last, first.time, params)


def _c_div(a: int, b: int) -> int:
    """C's integer division (truncates toward zero), for the signed timespans of DigiShield."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def dogecoin_calculate_next_work(last: HeaderInfo, first_time: int, params: ChainParams) -> int:
    """Dogecoin Core's CalculateDogecoinNextWorkRequired for the block after `last`."""
    height = last.height + 1
    era = params.dogecoin_era(height)
    retarget_timespan = era.pow_target_timespan
    timespan = last.time - first_time
    if era.digishield:
        timespan = retarget_timespan + _c_div(timespan - retarget_timespan, 8)  # amplitude filter
        min_timespan = retarget_timespan - retarget_timespan // 4
        max_timespan = retarget_timespan + retarget_timespan // 2
    elif height > 10000:
        min_timespan, max_timespan = retarget_timespan // 4, retarget_timespan * 4
    elif height > 5000:
        min_timespan, max_timespan = retarget_timespan // 8, retarget_timespan * 4
    else:
        min_timespan, max_timespan = retarget_timespan // 16, retarget_timespan * 4
    timespan = min(max(timespan, min_timespan), max_timespan)
    target = set_compact(last.bits).target
    target = ((target * timespan) & UINT256_MASK) // retarget_timespan
    return get_compact(min(target, params.pow_limit))


def dogecoin_next_work_required(
    params: ChainParams, last: HeaderInfo, new_block_time: int, ancestor: AncestorLookup
) -> int:
    """Dogecoin Core's GetNextWorkRequired (pow.cpp + dogecoin.cpp) for the block after `last`."""
    era = params.dogecoin_era(last.height + 1)
    pow_limit_bits = get_compact(params.pow_limit)
    spacing = params.pow_target_spacing
    # AllowDigishieldMinDifficultyForBlock: the height 157,500 is written into Dogecoin's code.
    if era.allow_min_difficulty and last.height >= 157_500 and new_block_time > last.time + 2 * spacing:
        return pow_limit_bits
    interval = 1 if last.height >= 145_000 else era.pow_target_timespan // spacing
    if (last.height + 1) % interval != 0:
        if era.allow_min_difficulty:
            if new_block_time > last.time + 2 * spacing:
                return pow_limit_bits
            return _min_difficulty_walk_back(
                last, era.pow_target_timespan // spacing, pow_limit_bits, ancestor
            )
        return last.bits
    first = ancestor(last.height - _lookback(last.height, interval))
    return dogecoin_calculate_next_work(last, first.time, params)


# --- aserti3-2d -------------------------------------------------------------------------------------


def asert_target(
    anchor_target: int,
    anchor_parent_time: int,
    anchor_height: int,
    eval_time: int,
    eval_height: int,
    target_spacing: int,
    half_life: int,
    pow_limit: int,
) -> int:
    """aserti3-2d (BCH, Nov 2020): the target of the block after the one at (eval_height, eval_time).

    next = anchor_target * 2^((time_delta - spacing * (height_delta + 1)) / half_life), where the
    deltas run from the anchor block's parent time and the anchor's height. The power of two is
    evaluated in 16.16 fixed point: the exponent is a truncating division (as in C++), its integer
    part an arithmetic shift, its fraction a cubic polynomial (error < 0.013 %), all in integers.
    The result is clamped to [1, pow_limit]. Python integers do not wrap, so targets above 2^224,
    which BCH's 256-bit implementation cannot take, are computed exactly too.
    """
    if not 0 < anchor_target <= pow_limit:
        raise ValueError("ASERT anchor target must be in (0, pow_limit]")
    if half_life <= 0 or target_spacing <= 0:
        raise ValueError("ASERT needs a positive half-life and spacing")
    time_delta = eval_time - anchor_parent_time
    height_delta = eval_height - anchor_height
    numerator = (time_delta - target_spacing * (height_delta + 1)) * 65536
    exponent = abs(numerator) // half_life  # C++ integer division truncates toward zero
    if numerator < 0:
        exponent = -exponent
    shifts = exponent >> 16  # floor, like C++'s arithmetic right shift
    frac = exponent & 0xFFFF
    factor = 65536 + (
        (195766423245049 * frac + 971821376 * frac**2 + 5127 * frac**3 + (1 << 47)) >> 48
    )
    target = anchor_target * factor
    shifts -= 16
    target = target << shifts if shifts > 0 else target >> -shifts
    if target == 0:
        return 1  # zero is not a valid target, one is
    return min(target, pow_limit)


def _asert_next_work_required(
    params: ChainParams, last: HeaderInfo, ancestor: AncestorLookup
) -> int:
    anchor_height = params.asert_anchor_height
    if last.height < anchor_height:
        # Up to and including the anchor block, blocks are mined at the easiest target.
        return get_compact(params.pow_limit)
    anchor = last if last.height == anchor_height else ancestor(anchor_height)
    # The anchor's parent time is a virtual one, one spacing before the anchor: see
    # ChainParams.asert_anchor_height for why the anchor is block 1 and not genesis.
    target = asert_target(
        bits_to_target(anchor.bits),
        anchor.time - params.pow_target_spacing,
        anchor.height,
        last.time,
        last.height,
        params.pow_target_spacing,
        params.asert_half_life,
        params.pow_limit,
    )
    return get_compact(target)


def get_next_work_required(
    params: ChainParams, last: HeaderInfo, new_block_time: int, ancestor: AncestorLookup
) -> int:
    """The nBits the block after `last` must carry (Core's GetNextWorkRequired, or ASERT).

    `new_block_time` matters only under testnet's min-difficulty rule; `ancestor` is asked only for
    the heights the rule needs (the period's first block, the testnet walk-back, the ASERT anchor).
    """
    if params.difficulty_rule is DifficultyRule.ASERT:
        return _asert_next_work_required(params, last, ancestor)
    if params.difficulty_rule is DifficultyRule.LITECOIN:
        return _litecoin_next_work_required(params, last, new_block_time, ancestor)
    if params.difficulty_rule is DifficultyRule.DOGECOIN:
        return dogecoin_next_work_required(params, last, new_block_time, ancestor)
    return _bitcoin_next_work_required(params, last, new_block_time, ancestor)


# --- subsidy and BIP34 ------------------------------------------------------------------------------


def block_subsidy(height: int, params: ChainParams, prev_hash: bytes | None = None) -> int:
    """Core's GetBlockSubsidy: 50 coins halved every interval; zero from the 64th halving on.

    Dogecoin's schedule is its own (`dogecoin_block_subsidy`); its early random rewards need
    `prev_hash`, the previous block's hash in internal byte order.
    """
    if height < 0:
        raise ValueError("negative height")
    if params.difficulty_rule is DifficultyRule.DOGECOIN:
        return dogecoin_block_subsidy(height, params, prev_hash)
    halvings = height // params.subsidy_halving_interval
    if halvings >= MAX_HALVINGS:
        return 0
    return (50 * 100_000_000) >> halvings


def bip34_height_script(height: int) -> bytes:
    """The prefix BIP34 requires of the coinbase scriptSig: Core's `CScript() << nHeight`.

    Heights 1..16 become a single opcode (OP_1..OP_16), 0 is OP_0; miners pad the scriptSig to the
    2-byte minimum themselves (Core's miner appends OP_0).
    """
    if height < 0:
        raise ValueError("negative height")
    return push_int(height)


def decode_bip34_height(script_sig: bytes) -> int | None:
    """The height a coinbase scriptSig commits to under BIP34, or None if it does not start with
    a minimally encoded non-negative number (the exact prefix `bip34_height_script` makes)."""
    if not script_sig:
        return None
    op = script_sig[0]
    if op == 0x00:
        height = 0
    elif 0x51 <= op <= 0x60:
        height = op - 0x50
    elif 1 <= op <= 8 and len(script_sig) > op:
        data = script_sig[1 : 1 + op]
        if data[-1] & 0x80:
            return None  # negative
        height = int.from_bytes(data, "little")
        if encode_num(height) != data:
            return None  # not minimal
    else:
        return None
    return height if script_sig.startswith(bip34_height_script(height)) else None
