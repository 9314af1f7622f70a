"""The compact block index entry gives back exactly what it was given.

An entry keeps its header's fields without the parent's hash (its `prev` holds it) and where its
block's data is as one int: `raw`, `header`, `time`, `bits` and `pos` must still read as the
original, for a genesis (zeros for a parent), a child, a header whose parent is not the entry
given (kept whole), and positions at the edges of the packing.
"""

from __future__ import annotations

import pytest

from hashforge.consensus.params import MAINNET, REGTEST
from hashforge.node.blockstore import BlockPos
from hashforge.node.chain import BlockIndex
from tests.helpers.chainbuild import make_block


def test_headers_read_back_whole() -> None:
    genesis = BlockIndex(REGTEST.genesis.header, 0, None, 2, 0)
    b1 = make_block(REGTEST.genesis, 1)
    child = BlockIndex(b1.header.serialize(), 1, genesis, 4, 1, b1.hash)
    for entry, header in ((genesis, REGTEST.genesis.header), (child, b1.header)):
        assert entry.raw == header.serialize()
        assert entry.header == header and entry.header.hash == entry.hash
        assert (entry.time, entry.bits) == (header.time, header.bits)
    # a parent hash the entry cannot give back (not its prev's): the 80 bytes are kept as they are
    stray = BlockIndex(MAINNET.genesis.header.serialize()[:4] + b"\x07" * 32 + MAINNET.genesis.header.serialize()[36:], 5, genesis, 9, 2)
    assert stray.raw[4:36] == b"\x07" * 32 and stray.time == MAINNET.genesis.header.time


@pytest.mark.parametrize(
    "pos", [BlockPos(0, 8, 81), BlockPos(3, (128 << 20) - 100, 4_000_000), BlockPos(99_999, 0xFFFFFFFF, (1 << 28) - 1)]
)
def test_block_positions_read_back_exactly(pos: BlockPos) -> None:
    entry = BlockIndex(REGTEST.genesis.header, 0, None, 2, 0)
    assert entry.pos is None
    entry.pos = pos
    assert entry.pos == pos
    entry.pos = None
    assert entry.pos is None


def test_a_position_beyond_the_packing_is_refused() -> None:
    entry = BlockIndex(REGTEST.genesis.header, 0, None, 2, 0)
    with pytest.raises(ValueError, match="out of range"):
        entry.pos = BlockPos(0, 1 << 32, 100)
