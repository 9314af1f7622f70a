"""Crashes at exact write steps, complementing the random SIGKILLs of test_crash.py.

A child process runs a ChainManager over a datadir and kills itself (SIGKILL) at one chosen step:
half-way through appending the n-th block record, right after it, inside the n-th flush's SQLite
transaction (all rows written, no COMMIT), or right after that COMMIT. The child's chainstate cache
is either the default one (nothing flushed while it runs: every block comes back from the block
files) or 0 (a flush after every connect and disconnect). The datadir is then reopened in-process:
it must hold a tip and UTXO set equal to a clean replay, keep every block written whole, and
accept the remaining blocks. The same is done in the middle of a 20-block reorganization.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hashforge.consensus.block import Block
from hashforge.consensus.params import REGTEST
from hashforge.node.chain import ChainManager
from tests.helpers.chainbuild import (
    BuiltChain,
    Snapshot,
    build_spending_chain,
    make_block,
    replay,
    utxo_snapshot,
)

CHILD = r"""
import os, signal, sys
from pathlib import Path
from hashforge.consensus.block import Block
from hashforge.consensus.params import REGTEST
from hashforge.node.blockstore import BlockStore
from hashforge.node.chain import ChainManager
from hashforge.node.chainstate import ChainStateDB

datadir, blocks_file, point, nth = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
dbcache = None if sys.argv[5] == "default" else int(sys.argv[5])
blocks = [Block.from_bytes(bytes.fromhex(line)) for line in Path(blocks_file).read_text().split()]
calls = [0]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def counted():
    calls[0] += 1
    return calls[0] == nth

orig_write, orig_flush, orig_set_meta = BlockStore.write, ChainStateDB.flush, ChainStateDB.set_meta

def write(self, raw, sync=True):
    if counted():
        if point == "blk-torn":
            f = self._open()
            f.write((self.magic + len(raw).to_bytes(4, "little") + raw)[: 8 + len(raw) // 2])
            die()
        pos = orig_write(self, raw, sync)
        die()
    return orig_write(self, raw, sync)

def set_meta(self, key, value, conn=None):
    # the block file mark is the flush transaction's last row
    if conn is not None and key == "blk_mark" and counted():
        orig_set_meta(self, key, value, conn)
        die()  # every row of this flush written, no COMMIT
    return orig_set_meta(self, key, value, conn)

def flush(self):
    orig_flush(self)
    if counted():
        die()  # committed; memory and listeners never heard of it

if point in ("blk-torn", "after-blk"):
    BlockStore.write = write
elif point == "in-flush":
    ChainStateDB.set_meta = set_meta
elif point == "after-flush":
    ChainStateDB.flush = flush
chain = ChainManager(REGTEST, Path(datadir), dbcache_mib=dbcache)
for block in blocks:
    chain.process_block(block)
print("survived")
"""

FIRST = 111  # blocks FIRST.. are fed to the child (the seed holds 0..110)
FED = 6


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuiltChain, list[Snapshot | None]]:
    work = tmp_path_factory.mktemp("crashpoints")
    chain = build_spending_chain(work, n_spend_blocks=40)
    return chain, replay(chain.blocks, work / "replay", record_from=chain.base_height)


def _run_child(datadir: Path, blocks: list[Block], point: str, nth: int, tmp: Path, dbcache: str = "0") -> None:
    blocks_file = tmp / "blocks.hex"
    blocks_file.write_text("\n".join(b.serialize().hex() for b in blocks))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(datadir), str(blocks_file), point, str(nth), dbcache],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, f"child did not die at {point} #{nth}: {proc.stdout}{proc.stderr}"


# (point, n-th call, dbcache, height the reopened node must be at): blocks 111.. are writes 1..;
# with dbcache 0 their connects are flushes 1..
CASES = [
    ("blk-torn", 1, "0", FIRST - 1),
    ("blk-torn", 4, "0", FIRST + 2),
    ("blk-torn", 4, "default", FIRST + 2),  # blocks 111..113 only in the block files
    ("after-blk", 1, "0", FIRST),  # written whole, never indexed: replayed from the block file
    ("after-blk", 4, "0", FIRST + 3),
    ("after-blk", 4, "default", FIRST + 3),
    ("in-flush", 1, "0", FIRST),  # the flush is lost, the block file is not
    ("in-flush", 4, "0", FIRST + 3),
    ("after-flush", 1, "0", FIRST),
    ("after-flush", 4, "0", FIRST + 3),
]


@pytest.mark.parametrize(("point", "nth", "dbcache", "height"), CASES, ids=[f"{p}-{n}-{c}" for p, n, c, _ in CASES])
def test_crash_at_a_write_step(
    built: tuple[BuiltChain, list[Snapshot | None]], tmp_path: Path, point: str, nth: int, dbcache: str, height: int
) -> None:
    chain_data, snaps = built
    datadir = tmp_path / "d"
    shutil.copytree(chain_data.seed_dir, datadir)
    _run_child(datadir, chain_data.blocks[FIRST : FIRST + FED], point, nth, tmp_path, dbcache)
    chain = ChainManager(REGTEST, datadir)
    try:
        assert chain.height == height
        assert utxo_snapshot(chain) == snaps[height]
        for block in chain_data.blocks[height + 1 :]:
            assert chain.process_block(block) is None
        assert utxo_snapshot(chain) == snaps[chain_data.height]
    finally:
        chain.close()


REORG_DEPTH = 20
REORG_LENGTH = 25


# steps: REORG_DEPTH disconnects, then REORG_DEPTH + 1 connects (up to the block that made it longer)
@pytest.mark.parametrize("nth", [1, REORG_DEPTH, REORG_DEPTH + 1, 2 * REORG_DEPTH + 1])
def test_crash_in_the_middle_of_a_reorg(built: tuple[BuiltChain, list[Snapshot | None]], tmp_path: Path, nth: int) -> None:
    """The node is at the chain's tip; a longer branch forks REORG_DEPTH blocks below it. The child
    dies inside the SQLite transaction of the nth step (disconnects first, then connects); reopened,
    the node finishes the reorg and matches a clean replay of the winning branch."""
    chain_data, snaps = built
    fork = chain_data.height - REORG_DEPTH
    branch = [make_block(chain_data.blocks[fork], fork + 1, tag=b"branch")]
    for i in range(1, REORG_LENGTH):
        branch.append(make_block(branch[-1], fork + 1 + i))
    branch_snaps = replay([*chain_data.blocks[: fork + 1], *branch], tmp_path / "replay", record_from=fork)
    datadir = tmp_path / "d"
    shutil.copytree(chain_data.seed_dir, datadir)
    chain = ChainManager(REGTEST, datadir)
    for block in chain_data.blocks[chain_data.base_height + 1 :]:
        chain.process_block(block)
    chain.close()
    _run_child(datadir, branch, "in-flush", nth, tmp_path)
    # The child had stored the branch up to the block that made it longer (REORG_DEPTH + 1 blocks)
    # when it died; reopened, the node completes the reorg onto that, then takes the rest.
    chain = ChainManager(REGTEST, datadir)
    try:
        assert utxo_snapshot(chain) == branch_snaps[fork + REORG_DEPTH + 1]
        for block in branch[REORG_DEPTH + 1 :]:
            assert chain.process_block(block) is None
        assert utxo_snapshot(chain) == branch_snaps[fork + REORG_LENGTH]
    finally:
        chain.close()
    assert snaps[fork] == branch_snaps[fork]


def test_datadir_lock_in_process(tmp_path: Path) -> None:
    from hashforge.node.blockstore import DatadirInUseError

    chain = ChainManager(REGTEST, tmp_path)
    with pytest.raises(DatadirInUseError):
        ChainManager(REGTEST, tmp_path)
    chain.close()
    ChainManager(REGTEST, tmp_path).close()
