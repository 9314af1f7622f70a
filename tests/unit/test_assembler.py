"""Block templates: package selection by ancestor fee rate, limits, coinbase, validity on a real chain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hashforge.consensus.block import witness_commitment_index
from hashforge.consensus.params import REGTEST
from hashforge.consensus.pow import bits_to_target, block_subsidy, decode_bip34_height
from hashforge.consensus.tx import Transaction
from hashforge.node.assembler import (
    COINBASE_RESERVED_WEIGHT,
    VERSIONBITS_TOP_BITS,
    BlockAssembler,
    mine_block,
    template_to_block,
)
from tests.helpers.regtest import RegtestEnv
from tests.helpers.txbuilder import Key, outputs_of, spend

OTHER = Key.from_int(7)


@pytest.fixture(scope="module")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    d = tmp_path_factory.mktemp("regtest") / "chain"
    env = RegtestEnv.create(d)
    now = env.clock.now
    env.close()
    return d, now


@pytest.fixture
def env(template_dir: tuple[Path, int], tmp_path: Path) -> Iterator[RegtestEnv]:
    d, now = template_dir
    e = RegtestEnv.clone(d, tmp_path / "chain", now)
    yield e
    e.close()


def add(env: RegtestEnv, tx: Transaction) -> Transaction:
    r = env.mempool.accept(tx)
    assert r.allowed, r.reject_message
    return tx


def test_template_header_fields(env: RegtestEnv) -> None:
    tip = env.chain.tip
    env.clock.now = tip.header.time - 3600  # a clock behind the chain: curtime is MTP + 1 at least
    t = env.assembler.create_template(env.key.p2wpkh)
    assert t.previous_block_hash == tip.hash and t.height == tip.height + 1
    assert t.mintime == tip.median_time_past() + 1 and t.curtime == t.mintime
    assert t.bits == env.chain.next_bits(tip, t.curtime) and t.target == bits_to_target(t.bits)
    assert t.version == VERSIONBITS_TOP_BITS
    assert t.transactions == () and t.fees == 0
    assert t.coinbase_value == block_subsidy(t.height, REGTEST)
    assert t.segwit_active and t.rules == ("csv", "!segwit", "taproot")
    assert t.longpollid == tip.hash[::-1].hex() + str(env.mempool.transactions_updated)
    env.clock.now = tip.header.time + 10_000
    assert env.assembler.create_template().curtime == tip.header.time + 10_000


def test_coinbase_has_bip34_height_commitment_and_reserved_value(env: RegtestEnv) -> None:
    t = env.assembler.create_template(env.key.p2wpkh, extra_nonce=5, coinbase_flags=b"/hashforge/")
    cb = t.coinbase_tx
    assert cb is not None and cb.is_coinbase()
    assert decode_bip34_height(cb.vin[0].script_sig) == t.height
    assert cb.vin[0].script_sig.endswith(b"\x55/hashforge/")  # OP_5, then the flags
    assert cb.vin[0].witness == (b"\x00" * 32,)
    assert cb.vout[0].value == t.coinbase_value and cb.vout[0].script_pubkey == env.key.p2wpkh
    assert witness_commitment_index(cb) == 1 and cb.vout[1].script_pubkey == t.default_witness_commitment
    # Without a payout script there is no coinbase; a pool brings its own.
    bare = env.assembler.create_template()
    assert bare.coinbase_tx is None
    with pytest.raises(ValueError):
        template_to_block(bare)
    block = template_to_block(bare, bare.coinbase(OTHER.p2wpkh))
    assert block.vtx[0].vout[0].script_pubkey == OTHER.p2wpkh


def test_cpfp_package_goes_before_a_middling_transaction(env: RegtestEnv) -> None:
    parent = add(env, spend(env.coinbase_utxo(1), env.key, 120))  # ~1 sat/vB
    child = add(env, spend(outputs_of(parent, env.key)[0], OTHER, 20_000))  # pays for both
    middling = add(env, spend(env.coinbase_utxo(2), OTHER, 3_000))  # ~27 sat/vB
    t = env.assembler.create_template(env.key.p2wpkh)
    assert [x.txid for x in t.transactions] == [parent.txid, child.txid, middling.txid]
    assert [x.depends for x in t.transactions] == [(), (1,), ()]
    assert [x.fee for x in t.transactions] == [120, 20_000, 3_000]
    assert t.fees == 23_120
    # With room for two transactions only, the package wins the space.
    room = COINBASE_RESERVED_WEIGHT + 4 * (parent.vsize + child.vsize) + 100
    tight = BlockAssembler(env.chain, env.mempool, REGTEST, block_max_weight=room, clock=env.clock)
    assert [x.txid for x in tight.create_template().transactions] == [parent.txid, child.txid]


def test_modified_descendant_scores_after_parent_is_included(env: RegtestEnv) -> None:
    parent = add(env, spend(env.coinbase_utxo(1), env.key, 200, n_outputs=2))  # ~1.2 sat/vB
    a, b = outputs_of(parent, env.key)
    rich = add(env, spend(a, OTHER, 11_000))  # package (parent + rich) ~40 sat/vB
    mid = add(env, spend(b, OTHER, 3_300))  # alone ~30 sat/vB, package with parent ~12 sat/vB
    other = add(env, spend(env.coinbase_utxo(2), OTHER, 2_200))  # ~20 sat/vB
    t = env.assembler.create_template(env.key.p2wpkh)
    # Once parent is in, mid's modified score (its own rate) beats other's.
    assert [x.txid for x in t.transactions] == [parent.txid, rich.txid, mid.txid, other.txid]
    assert [x.depends for x in t.transactions] == [(), (1,), (1,), ()]


def test_weight_limit_keeps_the_best_paying(env: RegtestEnv) -> None:
    fees = [1000 * (i + 1) for i in range(10)]
    txs = [add(env, spend(env.coinbase_utxo(i + 1), OTHER, f)) for i, f in enumerate(fees)]
    room = COINBASE_RESERVED_WEIGHT + sum(4 * t.vsize for t in txs[-4:]) + 1
    tight = BlockAssembler(env.chain, env.mempool, REGTEST, block_max_weight=room, clock=env.clock)
    t = tight.create_template(env.key.p2wpkh)
    assert [x.txid for x in t.transactions] == [tx.txid for tx in reversed(txs[-4:])]
    block = mine_block(t, REGTEST)
    assert block.weight <= room
    assert env.chain.process_block(block) is None
    assert len(env.mempool) == 6


def test_template_block_is_valid_and_pays_subsidy_plus_fees(env: RegtestEnv) -> None:
    a = add(env, spend(env.coinbase_utxo(1), env.key, 1500, n_outputs=3))
    b = add(env, spend(outputs_of(a, env.key)[1], OTHER, 2500))
    c = add(env, spend(env.coinbase_utxo(2), OTHER, 4000, p2pkh=True))
    t = env.assembler.create_template(env.key.p2wpkh)
    assert {x.txid for x in t.transactions} == {a.txid, b.txid, c.txid}
    assert t.fees == 8000 and t.coinbase_value == block_subsidy(t.height, REGTEST) + 8000
    by_id = {x.txid: x for x in t.transactions}
    assert by_id[c.txid].sigop_cost == 4 + 1  # its P2PKH output (legacy, x4) + its P2WPKH input
    assert by_id[a.txid].sigop_cost == 1  # one P2WPKH input
    assert all(x.weight == x.tx.weight for x in t.transactions)
    block = mine_block(t, REGTEST)
    assert block.vtx[0].value_out() == t.coinbase_value
    assert witness_commitment_index(block.vtx[0]) is not None
    assert env.chain.process_block(block) is None
    assert env.chain.tip.hash == block.hash and len(env.mempool) == 0
    # The next template starts from the new tip.
    assert env.assembler.create_template().previous_block_hash == block.hash


def test_many_blocks_from_templates_stay_valid(env: RegtestEnv) -> None:
    utxo = env.coinbase_utxo(1)
    for _ in range(3):
        tx = add(env, spend(utxo, env.key, 1000, n_outputs=2))
        utxo = outputs_of(tx, env.key)[0]
        add(env, spend(outputs_of(tx, env.key)[1], OTHER, 5000))
        (block,) = env.mine()
        assert len(block.vtx) == 3
