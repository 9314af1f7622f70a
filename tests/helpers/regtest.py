"""A real regtest chain (ChainManager on a temporary datadir) with mempool and block assembler.

`RegtestEnv.create(path)` mines 110 blocks paying a test key, so blocks 1..10's coinbases are
mature; `RegtestEnv.clone(template, path)` copies a closed env's datadir, which is much faster than
mining again for every test. Time is a fake clock advanced 10 minutes per mined block.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from hashforge.consensus.block import (
    Block,
    BlockHeader,
    merkle_root,
    witness_commitment,
    witness_commitment_script,
)
from hashforge.consensus.params import REGTEST
from hashforge.consensus.pow import mine_header
from hashforge.consensus.tx import OutPoint, Transaction
from hashforge.node.assembler import BlockAssembler, BlockTemplate, mine_block
from hashforge.node.chain import BlockIndex, ChainManager
from hashforge.node.mempool import Mempool

from .txbuilder import Key, Utxo, outputs_of

START_TIME = 1_700_000_000
MINER_KEY = Key.from_int(0xC0FFEE)


@dataclass
class FakeClock:
    now: int = START_TIME

    def __call__(self) -> float:
        return float(self.now)


@dataclass
class RegtestEnv:
    datadir: Path
    clock: FakeClock
    chain: ChainManager
    mempool: Mempool
    assembler: BlockAssembler
    key: Key = MINER_KEY
    blocks: list[Block] = field(default_factory=list)

    @classmethod
    def open(cls, datadir: Path, clock: FakeClock, max_size_bytes: int = 300_000_000) -> RegtestEnv:
        chain = ChainManager(REGTEST, datadir, clock=clock)
        pool = Mempool(chain, REGTEST, max_size_bytes=max_size_bytes, clock=clock)
        asm = BlockAssembler(chain, pool, REGTEST, clock=clock)
        env = cls(datadir, clock, chain, pool, asm)
        env.blocks = [chain.get_block(e) for e in chain.active]
        return env

    @classmethod
    def create(cls, datadir: Path, n_blocks: int = 110) -> RegtestEnv:
        env = cls.open(datadir, FakeClock())
        env.mine(n_blocks)
        return env

    @classmethod
    def clone(cls, template: Path, datadir: Path, clock_now: int, max_size_bytes: int = 300_000_000) -> RegtestEnv:
        shutil.copytree(template, datadir)
        return cls.open(datadir, FakeClock(clock_now), max_size_bytes)

    def close(self) -> None:
        self.chain.close()

    # --- mining ----------------------------------------------------------------------------

    def template(self) -> BlockTemplate:
        return self.assembler.create_template(self.key.p2wpkh)

    def mine(self, n: int = 1) -> list[Block]:
        """Mines `n` blocks from mempool templates; each must be accepted."""
        out = []
        for _ in range(n):
            self.clock.now += 600
            block = mine_block(self.template(), REGTEST)
            assert self.chain.process_block(block) is None
            self.blocks.append(block)
            out.append(block)
        return out

    def mine_with(self, txs: Sequence[Transaction], parent: BlockIndex | None = None) -> Block:
        """Mines a block holding exactly `txs` (bypassing the mempool), e.g. a double spend, on
        `parent` (default: the tip; another parent builds a competing branch)."""
        self.clock.now += 600
        base = self.assembler.create_template(self.key.p2wpkh)
        if parent is None:
            parent = self.chain.tip
        curtime = max(parent.median_time_past() + 1, self.clock.now)
        root, _ = merkle_root([b"\x00" * 32, *(t.wtxid for t in txs)])
        templ = replace(
            base,
            previous_block_hash=parent.hash,
            height=parent.height + 1,
            curtime=curtime,
            bits=self.chain.next_bits(parent, curtime),
            transactions=(),
            fees=0,  # the coinbase claims the subsidy only: input values are not known here
            default_witness_commitment=witness_commitment_script(witness_commitment(root)),
        )
        coinbase = templ.coinbase(self.key.p2wpkh)
        vtx = (coinbase, *txs)
        mroot, _ = merkle_root([t.txid for t in vtx])
        header = BlockHeader(templ.version, templ.previous_block_hash, mroot, templ.curtime, templ.bits, 0)
        mined = mine_header(header, REGTEST)
        assert mined is not None
        block = Block(mined, vtx)
        self.chain.process_block(block)
        self.blocks.append(block)
        return block

    # --- coins -----------------------------------------------------------------------------

    def coinbase_utxo(self, height: int) -> Utxo:
        """The payout of the block at `height` (mature when height <= tip - 99)."""
        block = self.chain.get_block(self.chain.active[height])
        return outputs_of(block.vtx[0], self.key)[0]

    def is_unspent(self, outpoint: OutPoint) -> bool:
        return self.chain.get_coin(outpoint) is not None
