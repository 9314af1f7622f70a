"""Pre-built regtest chains with real spends, and clean replays of them, for crash and reorg tests.

`build_spending_chain` mines a 110-block base (a closed copy of it is kept as a seed datadir), then
`n_spend_blocks` blocks each holding a few signed transactions chosen from the mempool by the block
assembler: P2WPKH and P2PKH spends, fan-outs, chains of unconfirmed spends inside one block, and
OP_RETURN outputs. `replay` connects blocks on a fresh datadir and records the UTXO set after each.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hashforge.consensus.block import (
    Block,
    BlockHeader,
    merkle_root,
    witness_commitment,
    witness_commitment_script,
)
from hashforge.consensus.params import REGTEST
from hashforge.consensus.pow import bip34_height_script, block_subsidy, mine_header
from hashforge.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from hashforge.node.chain import ChainManager

from .regtest import FakeClock, RegtestEnv
from .txbuilder import Key, Utxo, outputs_of, spend

OTHER_KEY = Key.from_int(0xD00D)
BASE_HEIGHT = 110


@dataclass(frozen=True)
class Snapshot:
    """What a node at some height must report: best block and UTXO set statistics."""

    height: int
    block_hash_hex: str
    stats: dict[str, int | str]


@dataclass
class BuiltChain:
    seed_dir: Path  # closed datadir holding blocks 0..base_height
    base_height: int
    blocks: list[Block]  # blocks[h] is the block at height h (blocks[0] is genesis)
    txs: list[Transaction]  # every non-coinbase transaction, in chain order

    @property
    def height(self) -> int:
        return len(self.blocks) - 1


def op_return(data: bytes) -> TxOut:
    return TxOut(0, b"\x6a" + bytes([len(data)]) + data)


def spend_round(env: RegtestEnv, pool: list[Utxo], rng: random.Random, n_txs: int) -> list[Transaction]:
    """Adds `n_txs` random spends of `pool` to the mempool (their outputs join the pool, so later
    spends in the same round chain on unconfirmed parents). Returns them."""
    made = []
    for _ in range(n_txs):
        rng.shuffle(pool)
        n_in = 2 if len(pool) > 3 and rng.random() < 0.3 else 1
        ins = [pool.pop() for _ in range(n_in)]
        total = sum(u.value for u in ins)
        to = OTHER_KEY if rng.random() < 0.5 else env.key
        n_out = rng.randint(1, 3) if total > 3_000_000 else 1
        extra = [op_return(rng.randbytes(8))] if rng.random() < 0.15 else []
        tx = spend(ins, to, fee=rng.randint(1_000, 5_000), n_outputs=n_out, p2pkh=rng.random() < 0.3,
                   extra_outputs=extra)
        result = env.mempool.accept(tx)
        assert result.allowed, result.reject_message
        pool.extend(outputs_of(tx, to))
        made.append(tx)
    return made


def build_spending_chain(workdir: Path, n_spend_blocks: int = 60, seed: int = 1, txs_per_block: tuple[int, int] = (2, 6)) -> BuiltChain:
    build_dir = workdir / "build"
    env = RegtestEnv.create(build_dir, BASE_HEIGHT)
    now = env.clock.now
    env.close()
    seed_dir = workdir / "seed"
    shutil.copytree(build_dir, seed_dir)
    env = RegtestEnv.open(build_dir, FakeClock(now))
    try:
        rng = random.Random(seed)
        pool = [env.coinbase_utxo(h) for h in range(1, env.chain.height - REGTEST.coinbase_maturity + 1)]
        txs: list[Transaction] = []
        for _ in range(n_spend_blocks):
            made = spend_round(env, pool, rng, rng.randint(*txs_per_block))
            (block,) = env.mine()
            assert {t.txid for t in made} <= {t.txid for t in block.vtx}, "the assembler left a transaction out"
            txs.extend(made)
            # The coinbase that matures for the next block joins the pool.
            pool.append(env.coinbase_utxo(env.chain.height + 1 - REGTEST.coinbase_maturity))
        blocks = list(env.blocks)
    finally:
        env.close()
    return BuiltChain(seed_dir, BASE_HEIGHT, blocks, txs)


def replay(blocks: Sequence[Block], datadir: Path, record_from: int = 0) -> list[Snapshot | None]:
    """Connects `blocks` (from height 1) on a fresh regtest datadir; snapshot per height from `record_from`."""
    chain = ChainManager(REGTEST, datadir)
    try:
        out: list[Snapshot | None] = [None] * len(blocks)
        for h, block in enumerate(blocks):
            if h > 0:
                assert chain.process_block(block) is None, f"replay refused block {h}"
            if h >= record_from:
                assert chain.height == h
                out[h] = Snapshot(h, chain.tip.header.hash_hex, chain.db.utxo_stats())
        return out
    finally:
        chain.close()


def utxo_snapshot(chain: ChainManager) -> Snapshot:
    return Snapshot(chain.height, chain.tip.header.hash_hex, chain.db.utxo_stats())


def make_block(
    parent: Block,
    height: int,
    txs: Sequence[Transaction] = (),
    *,
    pay_to: bytes = OTHER_KEY.p2wpkh,
    time_offset: int = 600,
    coinbase_value: int | None = None,
    tag: bytes = b"",
) -> Block:
    """A regtest block on `parent` (not processed anywhere) holding `txs`: for branches that a chain
    manager must not see while they are built, e.g. ones containing an invalid block. The coinbase
    claims the subsidy only unless `coinbase_value` says otherwise."""
    value = block_subsidy(height, REGTEST) if coinbase_value is None else coinbase_value
    wroot, _ = merkle_root([b"\x00" * 32, *(t.wtxid for t in txs)])
    outs = [TxOut(value, pay_to), TxOut(0, witness_commitment_script(witness_commitment(wroot)))]
    script_sig = bip34_height_script(height) + tag
    if len(script_sig) < 2:
        script_sig += b"\x00"
    coinbase = Transaction(2, (TxIn(OutPoint(), script_sig, 0xFFFFFFFF, (b"\x00" * 32,)),), tuple(outs), 0)
    vtx = (coinbase, *txs)
    root, _ = merkle_root([t.txid for t in vtx])
    header = BlockHeader(0x20000000, parent.hash, root, parent.header.time + time_offset, REGTEST.genesis.header.bits, 0)
    mined = mine_header(header, REGTEST)
    assert mined is not None
    return Block(mined, vtx)


__all__ = [
    "BASE_HEIGHT",
    "OTHER_KEY",
    "BuiltChain",
    "Snapshot",
    "build_spending_chain",
    "make_block",
    "op_return",
    "replay",
    "spend_round",
    "utxo_snapshot",
]
