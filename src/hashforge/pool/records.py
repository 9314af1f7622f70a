"""Typed messages passed between the pool's roles (stratifier -> recorder, -> accounting)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class ShareRecord:
    """An accepted share, as the recorder stores it. `difficulty` is what it is credited with
    (the difficulty in force for its job); `actual_difficulty` what its hash achieved.
    `aux_chains`: merged mining, the aux chains (network names) whose current block its job
    committed to, so the ones it could have found a block of and earns in; () for none."""

    ts: float
    instance: int
    address: str
    worker: str
    difficulty: float
    actual_difficulty: float
    network_difficulty: float  # in share-difficulty units (x 2^16 on scrypt chains), as `difficulty`
    height: int
    block_reward: int
    hash: bytes  # PoW hash, internal byte order
    is_block: bool
    aux_chains: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BlockFound:
    """A share that met a chain's target, after the node answered (submitblock; submitauxblock for
    an aux chain's block, `chain` naming that network; None: the pool's own chain)."""

    ts: float
    instance: int
    height: int
    hash: bytes  # block hash, internal byte order
    address: str
    worker: str
    reward: int
    network_difficulty: float
    submit_result: Any  # None: accepted; else the node's reason string or an error text
    pow_hash: bytes | None = None  # the share's PoW hash when it is not the block hash (scrypt, AuxPoW)
    chain: str | None = None

    @property
    def accepted(self) -> bool:
        return self.submit_result is None

    @property
    def hash_hex(self) -> str:
        return self.hash[::-1].hex()
