"""The chain manager on real mainnet data: full validation of blocks 0-255, a reorg onto 3A-5A and back."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hashforge.consensus.block import Block
from hashforge.consensus.params import MAINNET
from hashforge.consensus.validation import BlockValidationError
from hashforge.node.chain import ChainManager
from tests.vectorfiles import read_framed_blocks


def _blocks(name: str) -> list[Block]:
    return [Block.from_bytes(r) for r in read_framed_blocks(name)]


def test_connect_mainnet_blocks_0_to_255(tmp_path: Path) -> None:
    chain = ChainManager(MAINNET, tmp_path)
    blocks = _blocks("mainnet/btcd/blocks1-256.bz2")
    for b in blocks:
        assert chain.process_block(b) is None
    assert chain.height == 255
    assert chain.tip.hash == blocks[-1].hash
    stats = chain.db.utxo_stats()
    # 255 coinbases of 50 BTC, minus nothing: no spends until block 170 moved coins between owners
    assert stats["total_amount"] == 255 * 50 * 100_000_000
    chain.close()
    # A restart finds the same tip and UTXO set.
    again = ChainManager(MAINNET, tmp_path)
    assert again.height == 255
    assert again.db.utxo_stats() == stats
    again.close()


def test_out_of_order_blocks_connect_when_parent_arrives(tmp_path: Path) -> None:
    chain = ChainManager(MAINNET, tmp_path)
    blocks = _blocks("mainnet/btcd/blocks1-256.bz2")[:10]
    with pytest.raises(BlockValidationError, match="prev-blk-not-found"):
        chain.process_block(blocks[5])
    for h in blocks[:5]:
        chain.accept_header(h.header)
    # data for 2..5 first: stored, but not connectable until block 1 arrives
    for b in blocks[1:5]:
        assert chain.process_block(b) == "inconclusive"
    assert chain.height == 0
    assert chain.process_block(blocks[0]) is None
    assert chain.height == 5
    assert chain.process_block(blocks[0]) == "duplicate"
    chain.close()


def test_reorg_onto_side_chain_and_back(tmp_path: Path) -> None:
    # btcd built this chain with coinbase maturity 1 (its reorg test sets it so): block 2 spends
    # block 1's coinbase. Everything else is mainnet's rules.
    params = dataclasses.replace(MAINNET, coinbase_maturity=1)
    chain = ChainManager(params, tmp_path)
    main = _blocks("mainnet/btcd/blk_0_to_4.dat.bz2")
    side = [_blocks(f"mainnet/btcd/blk_{n}A.dat.bz2")[0] for n in (3, 4, 5)]
    for b in main[1:]:
        assert chain.process_block(b) is None
    assert chain.tip.hash == main[4].hash
    utxo_main = chain.db.utxo_stats()

    assert chain.process_block(side[0]) == "inconclusive"  # 3A: less work than 4
    assert chain.process_block(side[1]) == "inconclusive"  # 4A: equal work, first seen wins
    assert chain.tip.hash == main[4].hash
    assert chain.process_block(side[2]) is None  # 5A: more work -> reorg
    assert chain.tip.hash == side[2].hash
    assert chain.height == 5
    assert not chain.in_active_chain(chain.index[main[3].hash])

    tips = {t.hash for t in chain.tips()}
    assert {main[4].hash, side[2].hash} <= tips

    # Back again: invalidate 3A, the old branch returns with its exact UTXO set.
    chain.invalidate_block(chain.index[side[0].hash])
    assert chain.tip.hash == main[4].hash
    assert chain.db.utxo_stats() == utxo_main
    chain.reconsider_block(chain.index[side[0].hash])
    assert chain.tip.hash == side[2].hash
    chain.close()


def test_invalid_block_is_rejected_and_remembered(tmp_path: Path) -> None:
    chain = ChainManager(MAINNET, tmp_path)
    blocks = _blocks("mainnet/btcd/blocks1-256.bz2")[:3]
    chain.process_block(blocks[0])
    bad = Block(blocks[1].header, blocks[1].vtx + blocks[1].vtx)  # merkle mismatch: mutated copy
    with pytest.raises(BlockValidationError, match="bad-txnmrklroot"):
        chain.process_block(bad)
    # A mutated copy does not poison the real block.
    assert chain.process_block(blocks[1]) is None
    assert chain.height == 2
    chain.close()


def test_premature_coinbase_spend_rejected_under_mainnet_maturity(tmp_path: Path) -> None:
    chain = ChainManager(MAINNET, tmp_path)
    main = _blocks("mainnet/btcd/blk_0_to_4.dat.bz2")
    assert chain.process_block(main[1]) is None
    assert chain.process_block(main[2]) == "inconclusive"  # stored, then failed to connect
    assert chain.height == 1
    assert chain.index[main[2].hash].failed
    with pytest.raises(BlockValidationError, match="bad-prevblk"):
        chain.process_block(main[3])
    chain.close()
