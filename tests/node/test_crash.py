"""Crash consistency of a real `hashforge node` process: SIGKILL while it connects blocks, restart, compare.

A regtest chain with real spends (tests/helpers/chainbuild.py) is built in-process and replayed on a
clean datadir, recording the tip and the UTXO set after every block. A child node started from the
chain's 110-block seed receives the remaining blocks through `submitblock` and is killed with SIGKILL
at a random moment while a block is being validated, stored and connected. After every kill it is
restarted and must report a best block and a `gettxoutsetinfo` (hash_serialized_3, txouts, total)
equal to the clean replay at the same height, and must not have lost any block that `submitblock`
had acknowledged. Set HASHFORGE_CRASH_SEED to replay one schedule; the seed is printed on failure.
"""

from __future__ import annotations

import os
import random
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from hashforge.consensus.block import Block
from hashforge.consensus.params import REGTEST
from hashforge.rpcclient import RPCClient, RPCClientError, RPCTransportError
from tests.helpers.chainbuild import BuiltChain, Snapshot, build_spending_chain, replay
from tests.helpers.nodeproc import NodeProcess

KILLS = 20  # the issue asks for >= 20 per CI run


@dataclass
class Reference:
    chain: BuiltChain
    snapshots: list[Snapshot | None]

    def at(self, height: int) -> Snapshot:
        snap = self.snapshots[height]
        assert snap is not None, f"no reference at height {height}"
        return snap


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    work = tmp_path_factory.mktemp("crash")
    built = build_spending_chain(work, n_spend_blocks=60)
    return Reference(built, replay(built.blocks, work / "replay", record_from=built.base_height))


def _check_against_reference(node: NodeProcess, ref: Reference) -> int:
    """The node's tip and UTXO set equal the clean replay at the node's height; returns the height."""
    height = node.call("getblockcount")
    snap = ref.at(height)
    assert node.call("getbestblockhash") == snap.block_hash_hex
    info = node.call("gettxoutsetinfo")
    assert info["height"] == height and info["bestblock"] == snap.block_hash_hex
    assert info["hash_serialized_3"] == snap.stats["hash"], f"UTXO set differs at height {height}"
    assert info["txouts"] == snap.stats["txouts"]
    assert Decimal(str(info["total_amount"])) * 100_000_000 == snap.stats["total_amount"]
    return int(height)


class Submitter(threading.Thread):
    """Submits blocks in order; records the highest one `submitblock` acknowledged before the kill."""

    def __init__(self, node: NodeProcess, blocks: list[Block], first: int) -> None:
        super().__init__(daemon=True)
        # its own client: the kill closes the NodeProcess's one under our feet
        self.rpc = RPCClient(node.url, cookie=node.datadir / ".cookie", timeout=60)
        self.blocks = blocks
        self.next = first
        self.acked = first - 1
        self.sent_at: float | None = None  # when the last block started going out
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while self.next < len(self.blocks):
                self.sent_at = time.monotonic()
                result = self.rpc.call("submitblock", self.blocks[self.next].serialize().hex())
                assert result is None, f"block {self.next}: {result}"
                self.acked = self.next
                self.next += 1
        except RPCTransportError as e:  # the node died under the call: expected
            self.error = e
        except (RPCClientError, AssertionError) as e:  # the node answered, wrongly
            self.error = AssertionError(f"block {self.next}: {e}")
        finally:
            self.rpc.close()


@pytest.fixture
def crash_seed() -> Iterator[int]:
    seed = int(os.environ.get("HASHFORGE_CRASH_SEED", random.randrange(1 << 32)))
    yield seed


def test_sigkill_while_connecting_recovers_to_a_clean_replay(reference: Reference, tmp_path: Path, crash_seed: int) -> None:
    rng = random.Random(crash_seed)
    blocks = reference.chain.blocks
    datadir = tmp_path / "regtest"
    shutil.copytree(reference.chain.seed_dir, datadir)
    node = NodeProcess(datadir)
    kills = 0
    acked = reference.chain.base_height
    per_block = 0.02  # seconds per submitblock, refined as we go
    outcomes = {"in-flight block lost": 0, "in-flight block kept": 0, "between blocks": 0}
    in_flight: int | None = None
    try:
        while True:
            node.start()
            height = _check_against_reference(node, reference)
            if in_flight is not None:
                key = "between blocks" if in_flight <= acked else (
                    "in-flight block kept" if height >= in_flight else "in-flight block lost")
                outcomes[key] += 1
            assert height >= acked, f"seed {crash_seed}: block {acked} was acknowledged, node restarted at {height}"
            if height == reference.chain.height and kills >= KILLS:
                break
            remaining = max(1, KILLS - kills)
            left = reference.chain.height - height
            if left == 0:
                # Every block is in: start the tail again on a datadir one block short, so the
                # remaining kills still land while a block is connected.
                node.kill()
                shutil.rmtree(datadir)
                shutil.copytree(reference.chain.seed_dir, datadir)
                acked = reference.chain.base_height
                in_flight = None
                continue
            # Let a few blocks through, then kill at a random moment within the next one's connect.
            # on average left/remaining blocks per round (the in-flight one often lands too)
            through = rng.randint(0, max(0, min(left - 1, 2 * left // remaining - 1)))
            sub = Submitter(node, blocks, height + 1)
            started = time.monotonic()
            sub.start()
            while sub.is_alive() and sub.next <= height + through:
                time.sleep(0.001)
            if sub.next > height + 1:
                per_block = 0.8 * per_block + 0.2 * (time.monotonic() - started) / (sub.next - height - 1)
            time.sleep(rng.uniform(0, 1.5 * per_block))
            node.kill()
            sub.join(10)
            assert not sub.is_alive()
            if isinstance(sub.error, AssertionError):
                raise AssertionError(f"seed {crash_seed}: {sub.error}")
            acked = max(acked, sub.acked)
            in_flight = sub.next
            kills += 1
        assert kills >= KILLS
        print(f"seed {crash_seed}: {kills} kills, {outcomes}")
    except BaseException:
        print(f"crash schedule seed: HASHFORGE_CRASH_SEED={crash_seed}; node log tail:\n{node.log()}")
        raise
    finally:
        node.kill()


def test_torn_write_at_the_end_of_a_block_file_still_starts(reference: Reference, tmp_path: Path) -> None:
    """A crash in the middle of appending a block leaves a partial record at the end of the newest
    blk file (the index never points at it). The node starts, keeps its tip, appends after the
    garbage, and reads everything back after another restart."""
    blocks = reference.chain.blocks
    base = reference.chain.base_height
    datadir = tmp_path / "regtest"
    shutil.copytree(reference.chain.seed_dir, datadir)
    blk = sorted((datadir / "blocks").glob("blk*.dat"))[-1]
    raw = blocks[base + 1].serialize()
    for torn in (
        REGTEST.message_start[:2],  # part of the frame's magic
        REGTEST.message_start + len(raw).to_bytes(4, "little") + raw[: len(raw) // 2],  # half a block
    ):
        with open(blk, "ab") as f:
            f.write(torn)
    node = NodeProcess(datadir)
    try:
        node.start()
        assert _check_against_reference(node, reference) == base
        for h in (base + 1, base + 2):
            assert node.call("submitblock", blocks[h].serialize().hex()) is None
        assert node.stop() == 0
        node.start()
        assert _check_against_reference(node, reference) == base + 2
        # every stored block reads back, the one written after the torn record included
        for h in (base, base + 1, base + 2):
            assert node.call("getblock", blocks[h].hash_hex, 0) == blocks[h].serialize().hex()
    finally:
        node.kill()


def test_a_second_node_on_the_same_datadir_is_refused(reference: Reference, tmp_path: Path) -> None:
    """Two processes appending to the same blk file would corrupt it; the datadir lock (an flock,
    dropped by the kernel when its holder dies) refuses the second and frees after a SIGKILL."""
    datadir = tmp_path / "regtest"
    shutil.copytree(reference.chain.seed_dir, datadir)
    first = NodeProcess(datadir)
    second = NodeProcess(datadir)
    try:
        first.start()
        with pytest.raises(RuntimeError, match="in use by another hashforge node"):
            second.start()
        first.kill()
        second.start()
        assert second.call("getblockcount") == reference.chain.base_height
    finally:
        first.kill()
        second.kill()
