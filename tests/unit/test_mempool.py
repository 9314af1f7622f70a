"""Mempool acceptance, RBF, package limits, eviction, block connect and reorg on a real regtest chain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hashforge.consensus.params import REGTEST
from hashforge.consensus.script import push_data
from hashforge.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from hashforge.node.mempool import MEMPOOL_HEIGHT, Mempool, MempoolAcceptResult, TxResult
from hashforge.node.policy import DEFAULT_INCREMENTAL_RELAY_FEE, DEFAULT_MIN_RELAY_TX_FEE
from tests.helpers.regtest import RegtestEnv
from tests.helpers.txbuilder import SEQUENCE_RBF, Key, Utxo, outputs_of, sign_tx, spend

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
    e.mempool.check()
    e.close()


def ok(pool: Mempool, tx: Transaction) -> MempoolAcceptResult:
    r = pool.accept(tx)
    assert r.allowed, r.reject_message
    return r


def rejected(pool: Mempool, tx: Transaction, reason: str) -> MempoolAcceptResult:
    r = pool.accept(tx)
    assert not r.allowed, f"accepted; expected {reason}"
    assert r.reject_reason == reason, r.reject_message
    return r


# --- acceptance ------------------------------------------------------------------------------------


def test_accepts_valid_p2wpkh_and_p2pkh_spends(env: RegtestEnv) -> None:
    pool = env.mempool
    tx = spend(env.coinbase_utxo(1), OTHER, 1000, n_outputs=2)
    r = ok(pool, tx)
    assert (r.txid, r.wtxid, r.vsize, r.fee) == (tx.txid, tx.wtxid, tx.vsize, 1000)
    legacy = spend(env.coinbase_utxo(2), OTHER, 5000, p2pkh=True)
    ok(pool, legacy)
    # ... and a P2PKH output spent while still unconfirmed
    child = spend(outputs_of(legacy, OTHER)[0], OTHER, 5000)
    ok(pool, child)
    info = pool.info()
    assert info.size == 3
    assert info.bytes == tx.vsize + legacy.vsize + child.vsize
    assert info.total_fee == 11_000
    assert info.minrelaytxfee == info.mempoolminfee == DEFAULT_MIN_RELAY_TX_FEE == 100  # 0.1 sat/vB (Core 30+)
    assert pool.spent_by(tx.vin[0].prevout) == tx.txid
    assert pool.spent_by(OutPoint(tx.txid, 0)) is None
    coin = pool.get_coin(OutPoint(tx.txid, 1))
    assert coin is not None and coin.height == MEMPOOL_HEIGHT and coin.out == tx.vout[1]
    assert pool.get_coin(legacy.vin[0].prevout) is None  # spent in the pool
    entry = pool.get(child.txid)
    assert entry is not None and entry.parents == {legacy.txid}
    assert pool.ancestors(child.txid) == {legacy.txid}
    assert pool.descendants(legacy.txid) == {child.txid}
    assert entry.height == env.chain.height and entry.time == env.clock.now


def test_test_only_changes_nothing(env: RegtestEnv) -> None:
    tx = spend(env.coinbase_utxo(1), OTHER, 1000)
    r = env.mempool.accept(tx, test_only=True)
    assert r.allowed and r.fee == 1000
    assert len(env.mempool) == 0


def test_several_op_returns_are_standard(env: RegtestEnv) -> None:
    """Core 30+: any number of OP_RETURN outputs, up to -datacarriersize bytes together."""
    data = [TxOut(0, b"\x6a" + push_data(bytes([n]) * 200)) for n in range(3)]
    ok(env.mempool, spend(env.coinbase_utxo(1), OTHER, 2000, extra_outputs=data))


@pytest.mark.parametrize(
    ("make", "reason", "kind"),
    [
        (lambda u: spend(u, OTHER, 1000, version=4), "version", TxResult.NOT_STANDARD),
        (lambda u: spend(u, OTHER, 1000, extra_outputs=[TxOut(100, OTHER.p2wpkh)]), "dust", TxResult.NOT_STANDARD),
        (lambda u: spend(u, OTHER, 1000, extra_outputs=[TxOut(1000, b"\x51")]), "scriptpubkey", TxResult.NOT_STANDARD),
        (lambda u: spend(u, OTHER, 1000, n_outputs=3300), "tx-size", TxResult.NOT_STANDARD),
        (lambda u: spend(u, OTHER, 10), "min relay fee not met", TxResult.MEMPOOL_POLICY),  # < 0.1 sat/vB
        (lambda u: spend(u, OTHER, -1), "bad-txns-in-belowout", TxResult.CONSENSUS),
        (
            lambda u: sign_tx([u], [TxOut(0, b"\x6a")]),
            "tx-size-small",
            TxResult.NOT_STANDARD,
        ),
    ],
)
def test_standardness_and_fee_rejections(env: RegtestEnv, make: object, reason: str, kind: TxResult) -> None:
    assert callable(make)
    r = rejected(env.mempool, make(env.coinbase_utxo(1)), reason)
    assert r.result is kind


def test_rejects_coinbase_and_context_free_failures(env: RegtestEnv) -> None:
    rejected(env.mempool, env.blocks[5].vtx[0], "coinbase")
    empty = Transaction(2, (), (TxOut(1000, OTHER.p2wpkh),))
    rejected(env.mempool, empty, "bad-txns-vin-empty")


def test_already_in_mempool_and_already_known(env: RegtestEnv) -> None:
    tx = spend(env.coinbase_utxo(1), OTHER, 1000)
    ok(env.mempool, tx)
    r = rejected(env.mempool, tx, "txn-already-in-mempool")
    assert r.result is TxResult.CONFLICT
    env.mine()
    assert len(env.mempool) == 0
    rejected(env.mempool, tx, "txn-already-known")


def test_missing_inputs(env: RegtestEnv) -> None:
    ghost = Utxo(OutPoint(b"\x11" * 32, 0), TxOut(50_000, env.key.p2wpkh), env.key)
    r = rejected(env.mempool, spend(ghost, OTHER, 1000), "missing-inputs")
    assert r.result is TxResult.MISSING_INPUTS


def test_premature_coinbase_spend(env: RegtestEnv) -> None:
    # Spending at height 111: block 12's coinbase has 99 confirmations' worth of depth.
    r = rejected(env.mempool, spend(env.coinbase_utxo(12), OTHER, 1000), "bad-txns-premature-spend-of-coinbase")
    assert r.debug == "tried to spend coinbase at depth 99"
    assert r.result is TxResult.PREMATURE_SPEND
    ok(env.mempool, spend(env.coinbase_utxo(11), OTHER, 1000))


def test_non_final_locktime(env: RegtestEnv) -> None:
    next_height = env.chain.height + 1
    late = spend(env.coinbase_utxo(1), OTHER, 1000, locktime=next_height, sequence=0xFFFFFFFE)
    rejected(env.mempool, late, "non-final")
    ok(env.mempool, spend(env.coinbase_utxo(2), OTHER, 1000, locktime=next_height - 1, sequence=0xFFFFFFFE))
    # A final sequence disables the lock time.
    ok(env.mempool, spend(env.coinbase_utxo(3), OTHER, 1000, locktime=next_height + 5))


def test_bip68_relative_lock(env: RegtestEnv) -> None:
    parent = spend(env.coinbase_utxo(1), env.key, 1000)
    ok(env.mempool, parent)
    env.mine()
    utxo = outputs_of(parent, env.key)[0]
    # Confirmed once: a 2-block relative lock is not yet satisfied for the next block.
    rejected(env.mempool, spend(utxo, OTHER, 1000, sequence=2), "non-BIP68-final")
    ok(env.mempool, spend(utxo, OTHER, 1000, sequence=1))


def test_script_failures_mandatory_and_non_mandatory(env: RegtestEnv) -> None:
    good = spend(env.coinbase_utxo(1), OTHER, 1000)
    tampered = Transaction(good.version, good.vin, (TxOut(good.vout[0].value - 1, OTHER.p2wpkh),), good.locktime)
    r = rejected(
        env.mempool,
        tampered,
        "mandatory-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)",
    )
    assert r.result is TxResult.CONSENSUS
    # A P2PKH scriptSig with a non-minimal push is valid by consensus but not standard.
    parent = spend(env.coinbase_utxo(2), env.key, 1000, p2pkh=True)
    ok(env.mempool, parent)
    legacy = sign_tx(outputs_of(parent, env.key), [TxOut(parent.vout[0].value - 1000, OTHER.p2wpkh)])
    sig_push, _ = _split_pushes(legacy.vin[0].script_sig)
    sig = sig_push[1:]
    bloated = b"\x4c" + bytes([len(sig)]) + sig + push_data(env.key.pubkey)
    nonminimal = Transaction(legacy.version, (TxIn(legacy.vin[0].prevout, bloated, legacy.vin[0].sequence),), legacy.vout)
    r = rejected(env.mempool, nonminimal, "non-mandatory-script-verify-flag (Data push larger than necessary)")
    assert r.result is TxResult.NOT_STANDARD
    ok(env.mempool, legacy)


def _split_pushes(script_sig: bytes) -> tuple[bytes, bytes]:
    n = script_sig[0]
    return script_sig[: 1 + n], script_sig[1 + n :]


def test_nonstandard_inputs_and_witness(env: RegtestEnv) -> None:
    # An OP_TRUE output can only be created in a block (not standard), then not spent in the pool.
    funding = sign_tx([env.coinbase_utxo(1)], [TxOut(10_000, b"\x51"), TxOut(49 * 10**8, env.key.p2wpkh)])
    env.mine_with([funding])
    op_true = Transaction(2, (TxIn(OutPoint(funding.txid, 0)),), (TxOut(5_000, OTHER.p2wpkh),))
    r = rejected(env.mempool, op_true, "bad-txns-nonstandard-inputs")
    assert r.result is TxResult.INPUTS_NOT_STANDARD
    # P2WSH <OP_DROP OP_TRUE> spent with an 81-byte stack item: nonstandard witness.
    from hashforge.consensus.address import p2wsh_script
    from hashforge.consensus.hashes import sha256

    script = b"\x75\x51"
    p2wsh = sign_tx(outputs_of(funding, env.key), [TxOut(10_000, p2wsh_script(sha256(script)))])
    ok(env.mempool, p2wsh)
    prev = OutPoint(p2wsh.txid, 0)
    big = Transaction(2, (TxIn(prev, b"", 0xFFFFFFFF, (b"x" * 81, script)),), (TxOut(8_000, OTHER.p2wpkh),))
    r = rejected(env.mempool, big, "bad-witness-nonstandard")
    assert r.result is TxResult.WITNESS_MUTATED
    ok(env.mempool, Transaction(2, (TxIn(prev, b"", 0xFFFFFFFF, (b"x" * 80, script)),), (TxOut(8_000, OTHER.p2wpkh),)))


def test_truc_version_rules(env: RegtestEnv) -> None:
    parent = spend(env.coinbase_utxo(1), env.key, 1000, n_outputs=2)
    ok(env.mempool, parent)
    r = rejected(env.mempool, spend(outputs_of(parent, env.key)[0], OTHER, 1000, version=3), "TRUC-violation")
    assert "cannot spend from non-version=3" in r.debug
    v3 = spend(env.coinbase_utxo(2), env.key, 1000, n_outputs=2, version=3)
    ok(env.mempool, v3)
    a, b = outputs_of(v3, env.key)
    ok(env.mempool, spend(a, OTHER, 1000, version=3))
    r = rejected(env.mempool, spend(b, OTHER, 1000, version=3), "TRUC-violation")
    assert "descendant count limit" in r.debug


# --- replace-by-fee --------------------------------------------------------------------------------


def test_full_rbf_replaces_conflict_and_its_descendants(env: RegtestEnv) -> None:
    pool = env.mempool
    original = spend(env.coinbase_utxo(1), env.key, 1000)  # does not signal BIP125
    ok(pool, original)
    child = spend(outputs_of(original, env.key)[0], OTHER, 1000)
    ok(pool, child)
    replacement = spend(env.coinbase_utxo(1), OTHER, 5000)
    r = ok(pool, replacement)
    assert set(r.replaced) == {original.txid, child.txid}
    assert set(pool.txids()) == {replacement.txid}


def test_rbf_failures(env: RegtestEnv) -> None:
    pool = env.mempool
    original = spend(env.coinbase_utxo(1), env.key, 10_000, n_outputs=3)
    ok(pool, original)
    # Rule 6: the fee rate must beat the conflict's.
    r = rejected(pool, spend(env.coinbase_utxo(1), OTHER, 9_000, n_outputs=3), "insufficient fee")
    assert "new feerate" in r.debug and r.result is TxResult.RECONSIDERABLE
    # Rule 3: total fee must not drop; here a smaller tx with a higher rate but a lower fee.
    r = rejected(pool, spend(env.coinbase_utxo(1), OTHER, 9_999), "insufficient fee")
    assert "less fees than conflicting txs" in r.debug
    # Rule 4: the extra fee must pay for the replacement's own relay (incremental fee).
    r = rejected(pool, spend(env.coinbase_utxo(1), OTHER, 10_005), "insufficient fee")
    assert "not enough additional fees to relay" in r.debug
    # Rule 2: no new unconfirmed inputs.
    other = spend(env.coinbase_utxo(2), env.key, 1000)
    ok(pool, other)
    two = sign_tx([env.coinbase_utxo(1), outputs_of(other, env.key)[0]], [TxOut(99 * 10**8, OTHER.p2wpkh)])
    rejected(pool, two, "replacement-adds-unconfirmed")
    ok(pool, spend(env.coinbase_utxo(1), OTHER, 20_000))


def test_rbf_refuses_too_many_replacements(env: RegtestEnv) -> None:
    pool = env.mempool
    fan = spend(env.coinbase_utxo(1), env.key, 20_000, n_outputs=101)
    env.mine_with([fan])
    outs = outputs_of(fan, env.key)
    for u in outs:
        ok(pool, spend(u, OTHER, 200))
    big = spend(outs, OTHER, 10**6)
    r = rejected(pool, big, "too many potential replacements")
    assert "(101 > 100)" in r.debug
    ok(pool, spend(outs[:100], OTHER, 10**6))


def test_opt_in_rbf_when_full_rbf_is_off(env: RegtestEnv) -> None:
    pool = Mempool(env.chain, REGTEST, full_rbf=False, clock=env.clock, subscribe=False)
    plain = spend(env.coinbase_utxo(1), env.key, 1000)
    ok(pool, plain)
    r = rejected(pool, spend(env.coinbase_utxo(1), OTHER, 50_000), "txn-mempool-conflict")
    assert r.result is TxResult.CONFLICT
    signaling = spend(env.coinbase_utxo(2), env.key, 1000, sequence=SEQUENCE_RBF)
    ok(pool, signaling)
    ok(pool, spend(env.coinbase_utxo(2), OTHER, 50_000))


def test_spends_conflicting_tx(env: RegtestEnv) -> None:
    pool = env.mempool
    parent = spend(env.coinbase_utxo(1), env.key, 1000)
    ok(pool, parent)
    both = sign_tx([env.coinbase_utxo(1), outputs_of(parent, env.key)[0]], [TxOut(60 * 10**8, OTHER.p2wpkh)])
    rejected(pool, both, "bad-txns-spends-conflicting-tx")


# --- chains and limits -----------------------------------------------------------------------------


def test_chain_of_unconfirmed_spends_and_ancestor_limit(env: RegtestEnv) -> None:
    pool = env.mempool
    utxo = env.coinbase_utxo(1)
    chain = []
    for _ in range(25):
        tx = spend(utxo, env.key, 1000)
        ok(pool, tx)
        chain.append(tx)
        utxo = outputs_of(tx, env.key)[0]
    r = rejected(pool, spend(utxo, env.key, 1000), "too-long-mempool-chain")
    assert r.debug == "too many unconfirmed ancestors [limit: 25]"
    first, last = pool.get(chain[0].txid), pool.get(chain[-1].txid)
    assert first is not None and last is not None
    assert first.desc_count == 25 and last.anc_count == 25
    assert last.anc_fee == 25_000 and first.desc_size == sum(t.vsize for t in chain)
    # The chain confirms; the pool empties and a block holds them in order.
    env.mine()
    assert len(pool) == 0
    assert [t.txid for t in env.blocks[-1].vtx[1:]] == [t.txid for t in chain]


def test_descendant_limit_with_cpfp_carve_out(env: RegtestEnv) -> None:
    pool = env.mempool
    parent = spend(env.coinbase_utxo(1), env.key, 5000, n_outputs=27)
    ok(pool, parent)
    outs = outputs_of(parent, env.key)
    for u in outs[:24]:
        ok(pool, spend(u, OTHER, 1000))
    # The 25th descendant exceeds the limit, but the carve-out admits one small extra child.
    ok(pool, spend(outs[24], OTHER, 1000))
    r = rejected(pool, spend(outs[25], OTHER, 1000), "too-long-mempool-chain")
    assert r.debug.startswith("too many descendants for tx")


# --- size limit and eviction -----------------------------------------------------------------------


def test_eviction_raises_and_decays_min_fee(env: RegtestEnv) -> None:
    probe = spend(env.coinbase_utxo(10), OTHER, 1000)
    pool = Mempool(env.chain, REGTEST, clock=env.clock, subscribe=False)
    ok(pool, probe)
    one = pool.usage
    small = Mempool(env.chain, REGTEST, max_size_bytes=3 * one + 10, clock=env.clock)
    txs = [spend(env.coinbase_utxo(h), OTHER, fee) for h, fee in ((1, 3000), (2, 5000), (3, 7000))]
    for tx in txs:
        ok(small, tx)
    # Higher fee rate than the cheapest: it goes in, the 3000-sat transaction goes out.
    rich = spend(env.coinbase_utxo(4), OTHER, 9000)
    ok(small, rich)
    assert txs[0].txid not in small and len(small) == 3
    evicted_rate = 3000 * 1000 // txs[0].vsize + DEFAULT_INCREMENTAL_RELAY_FEE
    assert small.info().mempoolminfee == evicted_rate
    r = rejected(small, spend(env.coinbase_utxo(5), OTHER, 2000), "mempool min fee not met")
    assert r.result is TxResult.RECONSIDERABLE
    # The rolling minimum decays only after a block, then halves every 12 h (faster when empty-ish).
    env.clock.now += 10 * 3600
    assert small.info().mempoolminfee == evicted_rate
    env.mine_with([e.tx for e in small])
    assert len(small) == 0  # all confirmed
    env.clock.now += 3 * 3600  # the pool is empty: half-life 3 h
    assert small.min_fee().sat_per_kvb == round(evicted_rate / 2)
    env.clock.now += 30 * 3600  # below half the incremental fee (50 sat/kvB) it drops to zero
    assert small.info().mempoolminfee == DEFAULT_MIN_RELAY_TX_FEE  # decayed away; min relay remains


def test_mempool_full_when_the_new_tx_is_the_worst(env: RegtestEnv) -> None:
    probe = Mempool(env.chain, REGTEST, clock=env.clock, subscribe=False)
    ok(probe, spend(env.coinbase_utxo(10), OTHER, 1000))
    small = Mempool(env.chain, REGTEST, max_size_bytes=2 * probe.usage + 10, clock=env.clock, subscribe=False)
    ok(small, spend(env.coinbase_utxo(1), OTHER, 8000))
    ok(small, spend(env.coinbase_utxo(2), OTHER, 9000))
    r = rejected(small, spend(env.coinbase_utxo(3), OTHER, 2000), "mempool full")
    assert r.result is TxResult.RECONSIDERABLE
    assert len(small) == 2


def test_eviction_takes_descendants_and_uses_descendant_score(env: RegtestEnv) -> None:
    probe = Mempool(env.chain, REGTEST, clock=env.clock, subscribe=False)
    ok(probe, spend(env.coinbase_utxo(10), OTHER, 1000))
    small = Mempool(env.chain, REGTEST, max_size_bytes=3 * probe.usage + 10, clock=env.clock, subscribe=False)
    parent = spend(env.coinbase_utxo(1), env.key, 1000)
    ok(small, parent)
    # The child pays for its parent: the package's rate beats the middle transaction's.
    child = spend(outputs_of(parent, env.key)[0], OTHER, 20_000)
    ok(small, child)
    middle = spend(env.coinbase_utxo(2), OTHER, 3000)
    ok(small, middle)
    ok(small, spend(env.coinbase_utxo(3), OTHER, 9000))
    assert middle.txid not in small and parent.txid in small and child.txid in small


def test_expiry(env: RegtestEnv) -> None:
    pool = env.mempool
    parent = spend(env.coinbase_utxo(1), env.key, 1000)
    ok(pool, parent)
    env.clock.now += 337 * 3600
    child = spend(outputs_of(parent, env.key)[0], OTHER, 1000)
    # Accepted, but LimitMempoolSize then expires the parent and with it the child (as in Core).
    rejected(pool, child, "mempool full")
    assert len(pool) == 0


# --- blocks and reorgs -----------------------------------------------------------------------------


def test_block_removes_included_and_conflicting(env: RegtestEnv) -> None:
    pool = env.mempool
    a = spend(env.coinbase_utxo(1), env.key, 1000)
    ok(pool, a)
    a_child = spend(outputs_of(a, env.key)[0], OTHER, 1000)
    ok(pool, a_child)
    b = spend(env.coinbase_utxo(2), env.key, 1000)
    ok(pool, b)
    b_child = spend(outputs_of(b, env.key)[0], OTHER, 1000)
    ok(pool, b_child)
    double_spend = spend(env.coinbase_utxo(1), OTHER, 3000)
    env.mine_with([double_spend, b])
    # a (and its child) conflicted with the block; b confirmed and its child stays, now parentless.
    assert set(pool.txids()) == {b_child.txid}
    entry = pool.get(b_child.txid)
    assert entry is not None and entry.parents == set() and entry.anc_count == 1


def test_reorg_returns_transactions_to_the_pool(env: RegtestEnv) -> None:
    pool = env.mempool
    a = spend(env.coinbase_utxo(1), env.key, 1000)
    ok(pool, a)
    b = spend(outputs_of(a, env.key)[0], env.key, 2000)
    ok(pool, b)
    (block,) = env.mine()
    assert [t.txid for t in block.vtx[1:]] == [a.txid, b.txid]
    assert len(pool) == 0
    # A grandchild enters on top of the confirmed chain ...
    c = spend(outputs_of(b, env.key)[0], OTHER, 3000)
    ok(pool, c)
    # ... and after the block is invalidated all three are back, linked as a package.
    env.chain.invalidate_block(env.chain.tip)
    assert set(pool.txids()) == {a.txid, b.txid, c.txid}
    entry = pool.get(c.txid)
    assert entry is not None and entry.anc_count == 3 and entry.anc_fee == 6000
    parent_entry = pool.get(a.txid)
    assert parent_entry is not None and parent_entry.desc_count == 3
    pool.check()


def test_reorg_drops_spends_of_coinbases_that_become_immature(env: RegtestEnv) -> None:
    pool = env.mempool
    env.mine()  # tip 111: block 12's coinbase is spendable in block 112
    tx = spend(env.coinbase_utxo(12), OTHER, 1000)
    ok(pool, tx)
    env.chain.invalidate_block(env.chain.tip)
    assert tx.txid not in pool


def test_reorg_to_a_competing_chain_resolves_double_spends(env: RegtestEnv, tmp_path: Path) -> None:
    pool = env.mempool
    a = spend(env.coinbase_utxo(1), env.key, 1000)
    ok(pool, a)
    (block_a,) = env.mine()
    assert a.txid in {t.txid for t in block_a.vtx}
    # A competing branch from the same parent spends the same coin differently, and is longer.
    env.chain.invalidate_block(env.chain.tip)
    assert a.txid in pool
    double = spend(env.coinbase_utxo(1), OTHER, 5000)
    env.mine_with([double])
    env.mine()
    assert a.txid not in pool and len(pool) == 0
    env.chain.reconsider_block(env.chain.index[block_a.hash])
    assert env.chain.tip.height == 112  # the branch with double_spend has more work
    pool.check()


def test_reorg_onto_a_branch_that_double_spends(env: RegtestEnv) -> None:
    pool = env.mempool
    fork = env.chain.tip
    a = spend(env.coinbase_utxo(1), env.key, 1000)
    ok(pool, a)
    (block_a,) = env.mine()
    c = spend(outputs_of(a, env.key)[0], OTHER, 1000)
    ok(pool, c)
    keep = spend(env.coinbase_utxo(2), OTHER, 1000)
    ok(pool, keep)
    # A longer branch from the fork spends a's input differently: a cannot come back, nor can c.
    double = spend(env.coinbase_utxo(1), OTHER, 7000)
    b1 = env.mine_with([double], parent=fork)
    assert env.chain.tip.hash == block_a.hash  # equal work: the first seen stays
    env.mine_with([], parent=env.chain.index[b1.hash])
    assert env.chain.tip.height == fork.height + 2
    assert env.chain.get_coin(OutPoint(double.txid, 0)) is not None
    assert set(pool.txids()) == {keep.txid}
    pool.check()


def test_same_txid_different_witness(env: RegtestEnv) -> None:
    from hashforge.consensus.address import p2wsh_script
    from hashforge.consensus.hashes import sha256

    script = b"\x75\x51"  # OP_DROP OP_TRUE
    fund = spend(env.coinbase_utxo(1), OTHER, 1000, extra_outputs=[TxOut(10_000, p2wsh_script(sha256(script)))])
    ok(env.mempool, fund)
    prev = OutPoint(fund.txid, 1)
    one = Transaction(2, (TxIn(prev, b"", 0xFFFFFFFF, (b"a", script)),), (TxOut(8_000, OTHER.p2wpkh),))
    two = Transaction(2, (TxIn(prev, b"", 0xFFFFFFFF, (b"b", script)),), (TxOut(8_000, OTHER.p2wpkh),))
    assert one.txid == two.txid and one.wtxid != two.wtxid
    ok(env.mempool, one)
    r = rejected(env.mempool, two, "txn-same-nonwitness-data-in-mempool")
    assert r.result is TxResult.CONFLICT


def test_fee_estimates_need_data_then_follow_blocks(env: RegtestEnv) -> None:
    pool = env.mempool
    est = pool.estimate_smart_fee(6)
    assert est.sat_per_kvb is None and est.errors == ("Insufficient data or no feerate found",)
    with pytest.raises(ValueError):
        pool.estimate_smart_fee(0)
    fan = spend([env.coinbase_utxo(1), env.coinbase_utxo(2)], env.key, 10_000, n_outputs=300)
    env.mine_with([fan])
    utxos = outputs_of(fan, env.key)
    for i in range(12):
        for j in range(20):
            ok(pool, spend(utxos[i * 20 + j], OTHER, 2000 + 100 * j))
        env.mine()
    est = pool.estimate_smart_fee(2)
    assert est.sat_per_kvb is not None and est.errors == ()
    assert 1000 <= est.sat_per_kvb <= 50_000
    assert est.blocks == 2
    assert pool.estimate_smart_fee(1).blocks == 2  # a 1-block target is answered for 2, as in Core
    far = pool.estimate_smart_fee(1008, conservative=True)
    assert far.blocks == pool.estimator.max_usable_target == 5  # half the 11 blocks with data
    assert far.sat_per_kvb is not None
