"""SIGKILL during P2P initial sync, with the chainstate cache on: the node restarts at a state equal
to a clean replay, and the sync finishes with the source's UTXO set.

A source node holds a regtest chain with real spends (tests/helpers/chainbuild.py). A fresh node
syncs it over P2P (`--connect`) and is killed at a random moment, again and again (>= 20 times).
Rounds alternate `--dbcache 0` (a flush per block, so kills land inside flushes) and the default
cache (nothing flushed: the restart replays the block files). After each kill the node is started
without peers and must report a tip and `gettxoutsetinfo` equal to the clean replay at its height.
When it reaches the tip, its datadir is wiped and the sync starts over, so every kill lands
during a sync. Set HASHFORGE_CRASH_SEED to replay one schedule.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

import pytest

from tests.helpers.chainbuild import BuiltChain, Snapshot, build_spending_chain, replay
from tests.helpers.nodeproc import NodeProcess

KILLS = 20


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuiltChain, list[Snapshot | None]]:
    work = tmp_path_factory.mktemp("crashsync")
    built = build_spending_chain(work, n_spend_blocks=60)
    return built, replay(built.blocks, work / "replay", record_from=0)


def _check(node: NodeProcess, snaps: list[Snapshot | None]) -> int:
    height = int(node.call("getblockcount"))
    snap = snaps[height]
    assert snap is not None
    assert node.call("getbestblockhash") == snap.block_hash_hex
    info = node.call("gettxoutsetinfo")
    assert info["hash_serialized_3"] == snap.stats["hash"], f"UTXO set differs at height {height}"
    assert info["txouts"] == snap.stats["txouts"]
    return height


def test_sigkill_during_p2p_sync_recovers_to_a_clean_replay(reference: tuple[BuiltChain, list[Snapshot | None]], tmp_path: Path) -> None:
    built, snaps = reference
    seed = int(os.environ.get("HASHFORGE_CRASH_SEED", random.randrange(1 << 32)))
    rng = random.Random(seed)
    source_dir = tmp_path / "source"
    shutil.copytree(built.seed_dir, source_dir)
    source = NodeProcess(source_dir)
    datadir = tmp_path / "sync" / "regtest"
    node: NodeProcess | None = None
    kills = 0
    heights: list[int] = []
    window = 1.0  # seconds after start within which the kill lands, refined from full syncs
    try:
        source.start()
        for block in built.blocks[built.base_height + 1 :]:
            assert source.call("submitblock", block.serialize().hex()) is None
        while kills < KILLS:
            cache = "0" if kills % 2 == 0 else "450"
            node = NodeProcess(datadir, extra_args=["--connect", source.p2p_addr, "--no-listen", "--dbcache", cache])
            started = time.monotonic()
            node.start()
            delay = rng.uniform(0, window)
            while time.monotonic() - started < delay and node.call("getblockcount") < built.height:
                time.sleep(0.01)
            if node.call("getblockcount") >= built.height:
                # the whole sync fit in the delay: start over on an empty datadir, with a tighter window
                window = max(0.2, 0.8 * (time.monotonic() - started))
                node.kill()
                shutil.rmtree(datadir)
                continue
            node.kill()
            kills += 1
            window *= 1.15  # connecting and header sync take most of a short window: reach further each time
            checker = NodeProcess(datadir, extra_args=["--connect", "0", "--no-listen"])
            checker.start()
            try:
                heights.append(_check(checker, snaps))
            finally:
                assert checker.stop() == 0
        node = NodeProcess(datadir, extra_args=["--connect", source.p2p_addr, "--no-listen"])
        node.start()
        deadline = time.monotonic() + 120
        while node.call("getblockcount") < built.height:
            assert time.monotonic() < deadline, "the sync did not finish after the kills"
            time.sleep(0.05)
        assert _check(node, snaps) == built.height
        assert node.call("gettxoutsetinfo")["hash_serialized_3"] == source.call("gettxoutsetinfo")["hash_serialized_3"]
        print(f"seed {seed}: {kills} kills at heights {heights}")
    except BaseException:
        print(f"HASHFORGE_CRASH_SEED={seed}; node log tail:\n{node.log() if node else ''}")
        raise
    finally:
        if node is not None:
            node.kill()
        source.kill()
