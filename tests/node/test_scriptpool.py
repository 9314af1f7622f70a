"""Signature checks on worker processes (`--script-workers process`) give the same verdicts as inline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hashforge.consensus.block import Block
from hashforge.consensus.params import REGTEST
from hashforge.consensus.tx import Transaction, TxIn, TxOut
from hashforge.node.chain import ChainManager
from hashforge.node.scriptpool import MIN_PARALLEL_CHECKS, make_script_executor
from tests.helpers.chainbuild import make_block, utxo_snapshot
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.regtest import RegtestEnv
from tests.helpers.txbuilder import Key, outputs_of, sign_tx, spend

DEST = Key.from_int(0x5C21)
N_TXS = 2 * MIN_PARALLEL_CHECKS


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Block, list[Transaction]]:
    """A datadir whose tip holds N_TXS spendable outputs, the (valid) block spending them, and its txs."""
    work = tmp_path_factory.mktemp("scriptpool")
    env = RegtestEnv.create(work / "pre", 110)
    fanout = spend(env.coinbase_utxo(1), env.key, fee=50_000, n_outputs=N_TXS)
    parent = env.mine_with([fanout])
    height = env.chain.height
    env.close()
    txs = [sign_tx([u], [TxOut(u.value - 1_000, DEST.p2wpkh)]) for u in outputs_of(fanout, env.key)]
    return work / "pre", make_block(parent, height + 1, txs), txs


@pytest.fixture
def process_chain(setup: tuple[Path, Block, list[Transaction]], tmp_path: Path) -> Iterator[ChainManager]:
    import shutil

    shutil.copytree(setup[0], tmp_path / "d")
    pool, script_map = make_script_executor("process", 2)
    assert pool is not None
    chain = ChainManager(REGTEST, tmp_path / "d", script_map=script_map)
    yield chain
    chain.close()
    pool.shutdown()


def test_valid_block_on_worker_processes_matches_inline(
    setup: tuple[Path, Block, list[Transaction]], process_chain: ChainManager, tmp_path: Path
) -> None:
    import shutil

    _, block, _ = setup
    assert process_chain.process_block(block) is None
    shutil.copytree(setup[0], tmp_path / "inline")
    inline = ChainManager(REGTEST, tmp_path / "inline")
    try:
        assert inline.process_block(block) is None
        assert utxo_snapshot(inline) == utxo_snapshot(process_chain)
    finally:
        inline.close()


def test_a_bad_signature_found_by_a_worker_rejects_the_block(
    setup: tuple[Path, Block, list[Transaction]], process_chain: ChainManager
) -> None:
    txs = setup[2]
    bad_tx = txs[-1]
    sig, pub = bad_tx.vin[0].witness
    forged = sig[:10] + bytes([sig[10] ^ 1]) + sig[11:]
    vin = (TxIn(bad_tx.vin[0].prevout, b"", bad_tx.vin[0].sequence, (forged, pub)),)
    broken = [*txs[:-1], Transaction(bad_tx.version, vin, bad_tx.vout, bad_tx.locktime)]
    parent = process_chain.get_block(process_chain.tip)
    bad = make_block(parent, process_chain.height + 1, broken)
    tip = process_chain.tip
    assert process_chain.process_block(bad) == "inconclusive"
    assert process_chain.tip is tip and process_chain.index[bad.hash].failed


def test_node_runs_with_process_workers(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path / "regtest", extra_args=["--script-workers", "process", "--script-threads", "2"])
    try:
        node.start()
        from hashforge.consensus.address import script_to_address

        address = script_to_address(DEST.p2wpkh, REGTEST)
        assert len(node.call("generatetoaddress", 3, address)) == 3
        assert node.stop() == 0
    finally:
        node.kill()


def test_inline_is_the_chain_threads_own_map() -> None:
    """The default: no pool, the checks run where the block connects (a thread pool only adds GIL hand-offs)."""
    assert make_script_executor("inline", 2) == (None, map)
    pool, _ = make_script_executor("thread", 2)
    assert pool is not None
    pool.shutdown()
    with pytest.raises(ValueError, match="'inline', 'thread' or 'process'"):
        make_script_executor("fibers", 2)
