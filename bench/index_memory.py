"""Memory of the node's block index per header; prints one JSON object. A benchmark, never a test.

    .venv/bin/python bench/index_memory.py [--headers 200000]

Builds `--headers` index entries the way the chain manager holds them (chain.py's BlockIndex, in
its `index` dict and the active chain list), mainnet-like: chained 80-byte headers, chainwork
around 2^90, a sequence number each. Measured with tracemalloc: bytes per header for headers only
(as after header sync), then with block data recorded (position in the block files, transaction
count and the cumulative count, as after the blocks are stored), and what 1,000,000 would take.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from hashforge.consensus.hashes import hash256
from hashforge.node.blockstore import BlockPos
from hashforge.node.chain import BlockIndex


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--headers", type=int, default=200_000)
    n = ap.parse_args().headers
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index: dict[bytes, BlockIndex] = {}
    active: list[BlockIndex] = []
    prev: BlockIndex | None = None
    prev_hash = b"\x00" * 32
    work = 1 << 90
    for height in range(n):
        # version, parent, merkle root, time, bits, nonce: distinct values as on a real chain
        raw = (0x20000000).to_bytes(4, "little") + prev_hash + os.urandom(32) + (1_600_000_000 + 600 * height).to_bytes(4, "little")
        raw += (0x17034219).to_bytes(4, "little") + os.urandom(4)
        block_hash = hash256(raw)
        work += 1 << 79
        entry = BlockIndex(raw, height, prev, work, height + 1, block_hash)
        index[block_hash] = entry
        active.append(entry)
        prev, prev_hash = entry, block_hash
    headers = tracemalloc.get_traced_memory()[0] - before
    chain_tx = 0
    for entry in active:
        n_tx = 1_000 + entry.height % 3_000
        chain_tx += n_tx
        entry.pos = BlockPos(entry.height // 100, 8 + (entry.height % 100) * 1_300_000, 1_299_000 + entry.height % 1_000)
        entry.n_tx = n_tx
        if hasattr(entry, "chain_tx"):
            entry.chain_tx = chain_tx
        else:  # an older BlockIndex (before chain_tx): its flag
            entry.have_chain = True
    with_data = tracemalloc.get_traced_memory()[0] - before
    per_header, per_block = headers / n, with_data / n
    print(json.dumps({
        "python": platform.python_version(),
        "headers": n,
        "bytes_per_header": round(per_header),
        "bytes_per_block_with_data": round(per_block),
        "mb_per_1m_headers": round(per_header * 1_000_000 / 1e6),
        "mb_per_1m_blocks_with_data": round(per_block * 1_000_000 / 1e6),
    }, indent=2))


if __name__ == "__main__":
    main()
