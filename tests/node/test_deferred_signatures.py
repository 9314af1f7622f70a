"""Blocks connected with their P2WPKH signatures deferred to the native queue (the inline default).

The verdict and the reject reason must be those of checking every signature in place: one bad
signature among 1,000 rejects the block, naming the first failing transaction in block order
whether it was found by the queue or on the chain thread, and the next block is unaffected.
Without the extension (HASHFORGE_NO_EXT=1) the same tests check the inline path alone.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hashforge.consensus.block import Block
from hashforge.consensus.params import REGTEST
from hashforge.consensus.sigqueue import native_available
from hashforge.consensus.tx import Transaction, TxIn, TxOut
from hashforge.node.chain import ChainManager
from tests.helpers.chainbuild import make_block, utxo_snapshot
from tests.helpers.regtest import RegtestEnv
from tests.helpers.txbuilder import Key, outputs_of, sign_tx, spend

DEST = Key.from_int(0xDEFE7)
N_SPENDS = 1000
N_P2PKH = 4


@dataclass(frozen=True)
class Setup:
    datadir: Path  # closed; its tip holds the outputs spent below
    parent: Block
    height: int
    spends: list[Transaction]  # N_SPENDS P2WPKH spends, then N_P2PKH P2PKH spends


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    work = tmp_path_factory.mktemp("deferred")
    env = RegtestEnv.create(work / "pre", 110)
    wide = spend(env.coinbase_utxo(1), env.key, fee=100_000, n_outputs=N_SPENDS)
    legacy = spend(env.coinbase_utxo(2), env.key, fee=10_000, n_outputs=N_P2PKH, p2pkh=True)
    parent = env.mine_with([wide, legacy])
    height = env.chain.height
    env.close()
    spends = [sign_tx([u], [TxOut(u.value - 500, DEST.p2wpkh)]) for u in outputs_of(wide, env.key)]
    legacy_utxos = [u for u in outputs_of(legacy, env.key) if u.out.script_pubkey == env.key.p2pkh]
    assert len(legacy_utxos) == N_P2PKH
    spends += [sign_tx([u], [TxOut(u.value - 500, DEST.p2wpkh)]) for u in legacy_utxos]
    return Setup(work / "pre", parent, height, spends)


def _not_builtin_map(fn: Callable[[Any], Any], items: list[Any]) -> Iterator[Any]:
    return map(fn, items)  # inline, but not `map` itself: no queue, every signature checked in place


@pytest.fixture
def open_chain(setup: Setup, tmp_path: Path) -> Iterator[Callable[..., ChainManager]]:
    opened: list[ChainManager] = []

    def make(name: str = "queue", script_map: Callable[..., Iterator[Any]] = map) -> ChainManager:
        shutil.copytree(setup.datadir, tmp_path / name)
        chain = ChainManager(REGTEST, tmp_path / name, script_map=script_map)
        opened.append(chain)
        return chain

    yield make
    for chain in opened:
        chain.close()


def forged(tx: Transaction) -> Transaction:
    """`tx` with one bit of its signature's S flipped: still strict DER, no longer valid."""
    txin = tx.vin[0]
    if txin.witness:
        sig, pub = txin.witness
        bad = sig[:-3] + bytes([sig[-3] ^ 1]) + sig[-2:]
        vin = (TxIn(txin.prevout, b"", txin.sequence, (bad, pub)),)
    else:
        ss = txin.script_sig  # <sig> <pubkey>: the signature's push comes first
        pos = ss[0] - 2
        vin = (TxIn(txin.prevout, ss[:pos] + bytes([ss[pos] ^ 1]) + ss[pos + 1 :], txin.sequence),)
    return Transaction(tx.version, vin, tx.vout, tx.locktime)


def block_with(setup: Setup, bad: dict[int, Callable[[Transaction], Transaction]]) -> Block:
    txs = [bad[n](tx) if n in bad else tx for n, tx in enumerate(setup.spends)]
    return make_block(setup.parent, setup.height + 1, txs)


def reject_reason(chain: ChainManager, block: Block, caplog: pytest.LogCaptureFixture) -> str:
    tip = chain.tip
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hashforge.node.chain"):
        assert chain.process_block(block) == "inconclusive"
    assert chain.tip is tip and chain.index[block.hash].failed
    [line] = [r.getMessage() for r in caplog.records if "is invalid" in r.getMessage()]
    return line.split("is invalid: ", 1)[1]


@pytest.mark.skipif(not native_available(), reason="signature queue not built (HASHFORGE_NO_EXT=1)")
def test_the_inline_default_defers_to_the_queue(open_chain: Callable[..., ChainManager]) -> None:
    assert open_chain()._inline_sig_queue() is not None
    assert open_chain("plain", _not_builtin_map)._inline_sig_queue() is None


def test_a_valid_block_connects_as_without_the_queue(setup: Setup, open_chain: Callable[..., ChainManager]) -> None:
    block = block_with(setup, {})
    chain, plain = open_chain(), open_chain("plain", _not_builtin_map)
    assert chain.process_block(block) is None
    assert plain.process_block(block) is None
    assert utxo_snapshot(chain) == utxo_snapshot(plain)


def test_one_bad_signature_among_1000_rejects_the_block(
    setup: Setup, open_chain: Callable[..., ChainManager], caplog: pytest.LogCaptureFixture
) -> None:
    block = block_with(setup, {537: forged})
    chain = open_chain()
    reason = reject_reason(chain, block, caplog)
    txid = block.vtx[1 + 537].txid_hex
    assert reason == f"mandatory-script-verify-flag-failed: input 0: EVAL_FALSE of {txid}"
    assert reason == reject_reason(open_chain("plain", _not_builtin_map), block, caplog)
    # The abandoned batch leaves nothing behind: the valid block connects next.
    assert chain.process_block(block_with(setup, {})) is None


@pytest.mark.parametrize(
    "bad",
    [
        {100: forged, 900: forged},  # both deferred
        {100: forged, N_SPENDS + 1: forged},  # deferred, then a P2PKH failing on the chain thread
        {50: forged, N_SPENDS: forged, 700: forged},  # the same, the order of the dict aside
    ],
    ids=["two-deferred", "deferred-then-inline", "three"],
)
def test_the_first_failure_in_block_order_is_reported(
    setup: Setup,
    open_chain: Callable[..., ChainManager],
    caplog: pytest.LogCaptureFixture,
    bad: dict[int, Callable[[Transaction], Transaction]],
) -> None:
    block = block_with(setup, bad)
    first = min(bad)
    reason = reject_reason(open_chain(), block, caplog)
    assert reason.endswith(f"of {block.vtx[1 + first].txid_hex}")
    assert reason == reject_reason(open_chain("plain", _not_builtin_map), block, caplog)


def test_an_inline_failure_before_a_deferred_one_is_reported(
    setup: Setup, open_chain: Callable[..., ChainManager], caplog: pytest.LogCaptureFixture
) -> None:
    # A P2PKH spend moved to the front fails on the chain thread; a later P2WPKH fails in the queue.
    txs = [forged(setup.spends[N_SPENDS]), *setup.spends[:300], forged(setup.spends[300])]
    block = make_block(setup.parent, setup.height + 1, txs)
    reason = reject_reason(open_chain(), block, caplog)
    assert reason.endswith(f"of {txs[0].txid_hex}")
    assert reason == reject_reason(open_chain("plain", _not_builtin_map), block, caplog)
