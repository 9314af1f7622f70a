"""Estimated mining earnings: coins/day = H x 86400 x R / (D x 2^48 / 0xFFFF), with H the hash rate
(H/s), R the block reward, D the network difficulty. Scrypt chains too: their network difficulty
has Bitcoin's diff1 target (only scrypt *share* difficulty is scaled by 2^16). An expectation over
many blocks, not a promise; fees not counted (hashforge.ops.profit counts them)."""

from __future__ import annotations

import logging
from decimal import Decimal

from hashforge.consensus.params import ChainParams, UnknownNetworkError, get_params
from hashforge.consensus.pow import block_subsidy
from hashforge.ops.profit.calc import hashes_per_block

from .node import COIN, NodeGateway

log = logging.getLogger(__name__)
CORE_CHAIN_NAMES = {"main": "mainnet", "test": "testnet3"}


def hashes_per_difficulty(params: ChainParams) -> float:
    """Expected hashes per block at network difficulty 1 (the same for SHA-256d and scrypt chains)."""
    return float(hashes_per_block(Decimal(1)))


def sat_per_day(hashrate_hps: float, difficulty: float, reward_sat: int, params: ChainParams) -> int:
    if difficulty <= 0 or hashrate_hps <= 0:
        return 0
    return int(hashrate_hps * 86400 * reward_sat / (difficulty * hashes_per_difficulty(params)))


def coins(sat: int) -> float:
    return sat / COIN


async def chain_params(network: str | None, node: NodeGateway) -> ChainParams | None:
    """The network's parameters: `network` when configured, else by the node's chain name (None if unknown)."""
    name = network
    try:
        if name is None:
            chain = await node.chain_name()
            name = CORE_CHAIN_NAMES.get(chain, chain)
        return get_params(name)
    except UnknownNetworkError:
        log.info("earnings: unknown network %r", name)
        return None


def next_reward(height: int, params: ChainParams) -> int:
    return block_subsidy(height + 1, params)
