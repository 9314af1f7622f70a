"""Dogecoin's block reward schedule (Dogecoin Core's GetDogecoinBlockSubsidy).

Before its DigiShield fork (height 145,000 on mainnet and testnet) Dogecoin paid a pseudo-random
reward: 1 + uniform_int(1, 1,000,000 >> halvings - 1) DOGE, drawn from a boost::mt19937 seeded with
seven hex digits of the previous block's hash. From then on the reward is 500,000 DOGE halved every
100,000 blocks, and a flat 10,000 DOGE from the sixth halving (height 600,000) on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .params import ChainParams

COIN = 100_000_000
_MASK32 = 0xFFFFFFFF


def mt19937_outputs(seed: int) -> list[int]:
    """The first 624 outputs of a 32-bit Mersenne Twister seeded with `seed` (boost::mt19937(seed),
    std::mt19937(seed)); Python's `random` seeds differently, so it cannot stand in."""
    mt = [seed & _MASK32]
    for i in range(1, 624):
        mt.append((1812433253 * (mt[-1] ^ (mt[-1] >> 30)) + i) & _MASK32)
    for i in range(624):
        y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7FFFFFFF)
        mt[i] = mt[(i + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
    out = []
    for value in mt:
        value ^= value >> 11
        value ^= (value << 7) & 0x9D2C5680
        value ^= (value << 15) & 0xEFC60000
        value ^= value >> 18
        out.append(value & _MASK32)
    return out


def boost_uniform_int(seed: int, low: int, high: int) -> int:
    """boost::uniform_int<>(low, high)(boost::mt19937(seed)): bucketed, rejecting the remainder."""
    span = high - low
    if span < 0:
        raise ValueError("empty range")
    # boost's generate_uniform_int for an engine whose range is the full 32 bits (brange = 2^32-1).
    bucket = _MASK32 // (span + 1)
    if _MASK32 % (span + 1) == span:
        bucket += 1
    for draw in mt19937_outputs(seed):
        result = draw // bucket
        if result <= span:
            return low + result
    raise AssertionError("no draw in range within one twist")  # pragma: no cover - needs 624 rejects


def dogecoin_block_subsidy(height: int, params: ChainParams, prev_hash: bytes | None) -> int:
    """The reward (satoshis) of the Dogecoin block at `height`; `prev_hash` is the previous
    block's hash in internal byte order, needed only where rewards were random."""
    halvings = height // params.subsidy_halving_interval
    if not params.dogecoin_era(height).simplified_rewards:
        if prev_hash is None:
            raise ValueError(f"Dogecoin's reward at height {height} depends on the previous block hash")
        # prevHash.ToString().substr(7, 7): seven hex digits of the displayed (reversed) hash.
        seed = int(prev_hash[::-1].hex()[7:14], 16)
        max_reward = (1_000_000 >> halvings) - 1
        return (1 + boost_uniform_int(seed, 1, max_reward)) * COIN
    if height < 6 * params.subsidy_halving_interval:
        return (500_000 * COIN) >> halvings
    return 10_000 * COIN
