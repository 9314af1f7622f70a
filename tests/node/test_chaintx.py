"""Verification progress as Core estimates it, and the cumulative transaction counts behind it.

- `guess_verification_progress` with Core v31.99's mainnet ChainTxData at synthetic points whose
  answer is plain arithmetic (half the data's count at the data's time is 0.5; twice the count by
  the data's rate, 0.5 again; a block within two hours of now counts 600 s per block behind the
  best header), plus the edges (unknown count 0.0, regtest's zero data 1.0, never above 1.0);
- a real regtest chain manager: each block's `chain_tx` is its ancestors' transactions plus its
  own, 0 for a header without data (and its descendants), the same after a restart (recomputed as
  the index loads), and the sync log line shows the progress the chain reports.
The side-by-side check against bitcoind is in tests/integration/test_bitcoind.py.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from hashforge.consensus.params import MAINNET, REGTEST, SIGNET, TESTNET4, ChainTxData
from hashforge.node.chain import ChainManager
from hashforge.node.chaintx import guess_verification_progress
from tests.helpers.chainbuild import make_block
from tests.helpers.regtest import RegtestEnv
from tests.helpers.txbuilder import Key, spend

DATA = MAINNET.chain_tx_data
SPACING = MAINNET.pow_target_spacing
DAY = 24 * 60 * 60


def progress(chain_tx: int, block_time: int, now: int, height: int = 900_000, best: int = 950_000, data: ChainTxData = DATA) -> float:
    return guess_verification_progress(data, chain_tx, block_time, height, best, SPACING, now)


def test_core_v31_chain_tx_data_per_network() -> None:
    assert (DATA.time, DATA.tx_count, DATA.tx_rate) == (1772055173, 1315805869, 5.40111006496122)
    assert TESTNET4.chain_tx_data.tx_count == 14191421 and SIGNET.chain_tx_data.tx_count == 28676833
    assert REGTEST.chain_tx_data == ChainTxData(0, 0, 0.0)


def test_below_the_data_point_progress_is_against_the_extrapolated_total() -> None:
    # at the data's own time, half its transactions is half way
    assert progress(DATA.tx_count // 2, 1_500_000_000, DATA.time) == pytest.approx(0.5, abs=1e-9)
    # a day later the network has added a day of transactions at the data's rate
    later = DATA.time + DAY
    assert progress(DATA.tx_count // 2, 1_500_000_000, later) == pytest.approx(
        (DATA.tx_count // 2) / (DATA.tx_count + DAY * 5.40111006496122), rel=1e-12
    )
    # once the network has doubled its count at that rate, the data's count is half way
    doubled = DATA.time + round(DATA.tx_count / DATA.tx_rate)
    assert progress(DATA.tx_count, 1_500_000_000, doubled) == pytest.approx(0.5, abs=1e-6)


def test_past_the_data_point_progress_extrapolates_from_the_block_itself() -> None:
    chain_tx = DATA.tx_count + 10_000_000
    now = DATA.time + 100 * DAY
    old_block = now - 3 * DAY  # more than two hours old: its own time counts
    assert progress(chain_tx, old_block, now) == pytest.approx(chain_tx / (chain_tx + 3 * DAY * DATA.tx_rate), rel=1e-12)
    # within two hours of now: 600 s per block behind the best header, whatever the header says
    recent = now - 90 * 60
    assert progress(chain_tx, recent, now, height=949_994, best=950_000) == pytest.approx(
        chain_tx / (chain_tx + 6 * SPACING * DATA.tx_rate), rel=1e-12
    )
    # the best header itself, recent: exactly 1.0 (Core quantizes the end this way)
    assert progress(chain_tx, now + 30 * 60, now, height=950_000, best=950_000) == 1.0


def test_edges() -> None:
    assert progress(0, DATA.time, DATA.time) == 0.0  # count not known: Core's 0.0
    # a block stamped three hours ahead of the clock would make it more than 1.0: never above
    assert progress(DATA.tx_count * 2, DATA.time + 3 * 60 * 60, DATA.time, height=950_000) == 1.0
    zero = ChainTxData()
    assert progress(5, 1_296_688_602, 1_800_000_000, data=zero) == 1.0  # regtest: any known count is 1.0


@pytest.fixture
def env(tmp_path: Path) -> RegtestEnv:
    e = RegtestEnv.create(tmp_path / "chain", 104)
    # two blocks with transactions: 3 and 2 spends besides the coinbase
    for heights in ((1, 2, 3), (4, 5)):
        for h in heights:
            assert e.mempool.accept(spend(e.coinbase_utxo(h), Key.from_int(0x5EED), fee=10_000)).allowed
        e.mine(1)
    return e


def test_chain_tx_counts_every_transaction_and_survives_a_restart(env: RegtestEnv) -> None:
    chain = env.chain
    expected = 0
    for entry, block in zip(chain.active, env.blocks, strict=True):
        expected += len(block.vtx)
        assert entry.chain_tx == expected
    assert chain.tip.chain_tx == 107 + 5  # genesis and 106 coinbases, 5 spends
    assert chain.verification_progress() == 1.0  # regtest's zero ChainTxData
    counts = [e.chain_tx for e in chain.active]
    env.close()
    reopened = ChainManager(REGTEST, env.datadir)
    try:
        assert [e.chain_tx for e in reopened.active] == counts
    finally:
        reopened.close()


def test_a_header_without_data_has_no_count_nor_do_its_descendants(env: RegtestEnv) -> None:
    chain = env.chain
    tip_block = env.blocks[-1]
    b1 = make_block(tip_block, chain.height + 1, time_offset=1)
    b2 = make_block(b1, chain.height + 2, time_offset=2)
    env.clock.now = max(env.clock.now, b2.header.time)
    chain.accept_header(b1.header)
    assert chain.accept_block(b2).chain_tx == 0  # its parent's data is missing
    assert chain.index[b1.hash].chain_tx == 0
    assert chain.verification_progress(chain.index[b1.hash]) == 0.0
    assert chain.process_block(b1) is None
    assert chain.index[b1.hash].chain_tx == chain.index[tip_block.hash].chain_tx + 1
    assert chain.tip.hash == b2.hash and chain.tip.chain_tx == chain.index[b1.hash].chain_tx + 1


def test_the_sync_log_line_shows_the_chains_progress(
    env: RegtestEnv, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ChainTxData saying the network is ten times the chain's size, the line says ~0.1."""
    import hashforge.node.chain as chain_module

    monkeypatch.setattr(chain_module, "SYNC_LOG_INTERVAL_S", 0.0)
    tip_block, tip_tx = env.blocks[-1], env.chain.tip.chain_tx
    env.close()
    now = env.clock.now
    data = ChainTxData(time=now, tx_count=tip_tx * 10, tx_rate=1.0)
    chain = ChainManager(replace(REGTEST, chain_tx_data=data), env.datadir, clock=lambda: float(now))
    try:
        caplog.set_level(logging.INFO, logger="hashforge.node.chain")
        block = make_block(tip_block, chain.height + 1, time_offset=1)
        assert chain.process_block(block) is None
        expected = (tip_tx + 1) / (tip_tx * 10)
        assert chain.verification_progress() == pytest.approx(expected)
    finally:
        chain.close()
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("height ")]
    assert f"progress {expected:.6f}," in line
