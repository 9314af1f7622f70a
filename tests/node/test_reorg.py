"""Deep reorganizations with undo data, on real regtest chains built in-process.

Two branches grow from the same 110-block chain in separate datadirs, so neither chain manager sees
the other's blocks while they are built: A (the node's chain, 102 blocks, its transactions mined at
various depths plus a few left in the mempool) and B (103 blocks, with a double spend of one of A's
coins). B's blocks are then handed to A's chain manager, which must disconnect all 102 blocks with
their undo data and connect B's: A's transactions go back to the mempool, except those that
conflict with B (and their descendants), those B confirmed, and spends of A's own coinbases; the
UTXO set must equal a clean replay of B. Then A grows past B and the node reorganizes back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hashforge.consensus.block import Block
from hashforge.consensus.params import REGTEST
from hashforge.consensus.pow import block_subsidy
from hashforge.consensus.tx import Transaction
from hashforge.consensus.validation import BlockValidationError
from hashforge.node.chain import STATUS_FAILED
from tests.helpers.chainbuild import Snapshot, make_block, replay, utxo_snapshot
from tests.helpers.regtest import MINER_KEY, RegtestEnv
from tests.helpers.txbuilder import Key, Utxo, outputs_of, spend

ALICE = Key.from_int(0xA11CE)
BOB = Key.from_int(0xB0B)
B_MINER = Key.from_int(0xB10C)
FORK_HEIGHT = 110


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    d = tmp_path_factory.mktemp("reorg") / "chain"
    env = RegtestEnv.create(d, FORK_HEIGHT)
    now = env.clock.now
    env.close()
    return d, now


@pytest.fixture
def envs(template: tuple[Path, int], tmp_path: Path) -> Iterator[tuple[RegtestEnv, RegtestEnv]]:
    d, now = template
    a = RegtestEnv.clone(d, tmp_path / "a", now)
    b = RegtestEnv.clone(d, tmp_path / "b", now + 1)
    b.key = B_MINER  # B's coinbases must differ from A's at the same height
    yield a, b
    a.close()
    b.close()


def common_coinbase(env: RegtestEnv, height: int) -> Utxo:
    return outputs_of(env.chain.get_block(env.chain.active[height]).vtx[0], MINER_KEY)[0]


def accept(env: RegtestEnv, *txs: Transaction) -> None:
    for tx in txs:
        r = env.mempool.accept(tx)
        assert r.allowed, r.reject_message


def grow(env: RegtestEnv, n: int, plan: dict[int, list[Transaction]]) -> list[Block]:
    """Mines `n` blocks; before block i (0-based from the fork) the transactions in plan[i] enter
    the mempool, and each block must confirm them."""
    out = []
    for i in range(n):
        accept(env, *plan.get(i, []))
        (block,) = env.mine()
        assert {t.txid for t in plan.get(i, [])} <= {t.txid for t in block.vtx}
        out.append(block)
    return out


def feed(env: RegtestEnv, blocks: list[Block]) -> list[str | None]:
    results: list[str | None] = []
    for block in blocks:
        try:
            results.append(env.chain.process_block(block))
        except BlockValidationError as e:
            results.append(e.reason)
    return results


def clean_replay(common: list[Block], branch: list[Block], tmp: Path) -> Snapshot:
    snaps = replay([*common, *branch], tmp, record_from=len(common) + len(branch) - 1)
    last = snaps[-1]
    assert last is not None
    return last


def test_deep_reorg_with_mempool_return_and_double_spends(envs: tuple[RegtestEnv, RegtestEnv], tmp_path: Path) -> None:
    a, b = envs
    common = list(a.blocks)
    x = common_coinbase(a, 1)  # double spent: by t_a on A, by d on B
    shared = spend(common_coinbase(a, 2), BOB, 2_000)  # confirmed on both branches
    t_a = spend(x, ALICE, 1_000, n_outputs=2)
    t_a_child = spend(outputs_of(t_a, ALICE)[0], BOB, 1_000)
    t3 = spend(common_coinbase(a, 3), ALICE, 1_500, n_outputs=2)
    t3_child = spend(outputs_of(t3, ALICE)[1], BOB, 1_500, p2pkh=True)
    t4 = spend(common_coinbase(a, 4), BOB, 3_000, p2pkh=True)
    t5 = spend([common_coinbase(a, 5), common_coinbase(a, 6)], ALICE, 4_000)
    t5_child = spend(outputs_of(t5, ALICE)[0], ALICE, 2_500)
    plan_a = {0: [t_a, t3], 1: [t_a_child], 30: [shared, t3_child], 60: [t4], 99: [t5], 100: [t5_child]}
    blocks_a = grow(a, 101, plan_a)
    # At height 211 the coinbase of A's first block matures: a spend of it is mined in A's last block.
    spends_a_coinbase = spend(outputs_of(blocks_a[0].vtx[0], MINER_KEY)[0], BOB, 1_000)
    blocks_a += grow(a, 1, {0: [spends_a_coinbase]})
    # Unconfirmed at the time of the reorg: one independent, one child of a soon-conflicted tx.
    m_independent = spend(common_coinbase(a, 7), BOB, 1_000)
    m_conflicted = spend(outputs_of(t_a, ALICE)[1], BOB, 1_000)
    accept(a, m_independent, m_conflicted)
    assert a.chain.height == FORK_HEIGHT + 102

    d = spend(x, BOB, 9_000)
    u = spend(common_coinbase(b, 8), ALICE, 1_000)
    blocks_b = grow(b, 103, {4: [d], 10: [shared], 50: [u]})

    disconnected: list[int] = []
    a.chain.events.disconnected.append(lambda block, entry: disconnected.append(entry.height))
    results = feed(a, blocks_b)
    assert disconnected == list(range(FORK_HEIGHT + 102, FORK_HEIGHT, -1))
    assert results[:102] == ["inconclusive"] * 102  # not more work than A until the last one
    assert results[102] is None
    assert a.chain.tip.hash == blocks_b[-1].hash and a.chain.height == FORK_HEIGHT + 103
    pool = a.mempool
    pool.finish_reorg()
    assert set(pool.txids()) == {t.txid for t in (t3, t3_child, t4, t5, t5_child, m_independent)}
    e = pool.get(t5_child.txid)
    assert e is not None and e.anc_count == 2 and e.parents == {t5.txid}
    pool.check()
    assert a.chain.get_coin(d.vin[0].prevout) is None
    assert utxo_snapshot(a.chain) == clean_replay(common, blocks_b, tmp_path / "replay_b")
    tips = {e.hash for e in a.chain.tips()}
    assert blocks_a[-1].hash in tips and blocks_b[-1].hash in tips

    # A grows past B again: 103 blocks disconnect; B's own transaction u returns, d cannot (t_a).
    more_a = [a.mine_with([], parent=a.chain.index[blocks_a[-1].hash])]
    assert a.chain.tip.hash == blocks_b[-1].hash  # equal work: the first seen stays
    more_a.append(a.mine_with([], parent=a.chain.index[more_a[0].hash]))
    assert a.chain.tip.hash == more_a[-1].hash
    pool.finish_reorg()
    assert set(pool.txids()) == {u.txid, m_independent.txid}
    pool.check()
    assert utxo_snapshot(a.chain) == clean_replay(common, blocks_a + more_a, tmp_path / "replay_a")


def test_reorg_onto_a_branch_with_an_invalid_block_returns_to_the_old_chain(
    envs: tuple[RegtestEnv, RegtestEnv], tmp_path: Path
) -> None:
    a, b = envs
    common = list(a.blocks)
    t1 = spend(common_coinbase(a, 1), ALICE, 1_000)
    t2 = spend(outputs_of(t1, ALICE)[0], BOB, 1_000)
    blocks_a = grow(a, 100, {0: [t1], 70: [t2]})
    pending = spend(common_coinbase(a, 3), BOB, 1_000)
    accept(a, pending)
    before = utxo_snapshot(a.chain)
    # B: 60 good blocks, then one whose coinbase claims too much, then 50 more on top of it.
    good = grow(b, 60, {5: [spend(common_coinbase(b, 1), BOB, 5_000)]})
    height = FORK_HEIGHT + 61
    bad = make_block(good[-1], height, coinbase_value=block_subsidy(height, REGTEST) + 1, tag=b"bad")
    tail = [bad]
    for i in range(50):
        tail.append(make_block(tail[-1], height + 1 + i))
    disconnected: list[int] = []
    a.chain.events.disconnected.append(lambda block, entry: disconnected.append(entry.height))
    results = feed(a, good + tail)
    # all of A went, B's 60 valid blocks came and went again when block 61 failed
    assert len(disconnected) == 100 + 60
    # descendants of the invalid block are refused (their parents are not even indexed after the first)
    assert set(results) <= {"inconclusive", "bad-prevblk", "prev-blk-not-found"}, set(results)
    assert results[60:62] == ["inconclusive", "inconclusive"]
    assert a.chain.tip.hash == blocks_a[-1].hash
    assert a.chain.index[bad.hash].status & STATUS_FAILED
    assert utxo_snapshot(a.chain) == before == clean_replay(common, blocks_a, tmp_path / "replay_a")
    a.mempool.finish_reorg()
    assert set(a.mempool.txids()) == {pending.txid}
    a.mempool.check()

