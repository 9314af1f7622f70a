"""The chainstate cache (--dbcache), block-file replay, --reindex and submitblock durability.

A regtest chain with real spends (tests/helpers/chainbuild.py) is connected with a cache small
enough to flush many times, rebuilt from the block files alone (`reindex`, blocks stored out of
order included), and fed to a real node process that is killed right after `submitblock` answers.
Each must end with the tip and UTXO set of a clean replay.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hashforge.consensus.block import Block, BlockHeader, merkle_root
from hashforge.consensus.params import REGTEST, TESTNET4
from hashforge.consensus.pow import HeaderInfo, get_compact, get_next_work_required, mine_header
from hashforge.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from hashforge.node.chain import DEFAULT_ASSUME_VALID, ChainManager, parse_assume_valid
from tests.helpers.chainbuild import (
    BASE_HEIGHT,
    OTHER_KEY,
    BuiltChain,
    Snapshot,
    build_spending_chain,
    make_block,
    replay,
    utxo_snapshot,
)
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.regtest import RegtestEnv
from tests.helpers.txbuilder import Key, Utxo, sign_tx, spend


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuiltChain, list[Snapshot | None]]:
    work = tmp_path_factory.mktemp("cache")
    chain = build_spending_chain(work, n_spend_blocks=30)
    return chain, replay(chain.blocks, work / "replay", record_from=chain.base_height)


def test_a_small_cache_flushes_often_and_matches_a_clean_replay(built: tuple[BuiltChain, list[Snapshot | None]], tmp_path: Path) -> None:
    chain_data, snaps = built
    datadir = tmp_path / "d"
    shutil.copytree(chain_data.seed_dir, datadir)
    chain = ChainManager(REGTEST, datadir)
    chain.db.cache_bytes = 14_000  # a few dozen coins (COIN_ENTRY_BYTES each): flushes every few blocks
    try:
        for block in chain_data.blocks[chain_data.base_height + 1 :]:
            assert chain.process_block(block) is None
        assert chain.db.flushes >= 5
        assert chain.db.cache_usage() < 14_000 + 20_000  # at most one block's worth over
        assert utxo_snapshot(chain) == snaps[chain_data.height]
    finally:
        chain.close()
    again = ChainManager(REGTEST, datadir)
    try:
        assert utxo_snapshot(again) == snaps[chain_data.height]
    finally:
        again.close()


def test_nothing_is_written_per_block_with_a_large_cache(built: tuple[BuiltChain, list[Snapshot | None]], tmp_path: Path) -> None:
    chain_data, snaps = built
    datadir = tmp_path / "d"
    shutil.copytree(chain_data.seed_dir, datadir)
    chain = ChainManager(REGTEST, datadir, dbcache_mib=64)
    try:
        before = chain.db.flushes
        for block in chain_data.blocks[chain_data.base_height + 1 :]:
            assert chain.process_block(block) is None
        assert chain.db.flushes == before and chain.db.dirty
        # reads see the cache: an output created in the last block, the undo data, the txindex
        last = chain_data.blocks[-1]
        tx = last.vtx[1]
        assert chain.get_coin(tx.vin[0].prevout) is None
        assert chain.db.get_undo(last.hash) is not None
        assert chain.db.tx_block(tx.txid) == last.hash
    finally:
        chain.close()  # a clean shutdown flushes
    again = ChainManager(REGTEST, datadir)
    try:
        assert utxo_snapshot(again) == snaps[chain_data.height]
    finally:
        again.close()


def test_reindex_rebuilds_index_and_chainstate_from_blocks_stored_out_of_order(
    built: tuple[BuiltChain, list[Snapshot | None]], tmp_path: Path
) -> None:
    """Headers first, then the blocks in random order (as parallel download stores them): the block
    files hold children before parents. A reindex sorts them out and connects the whole chain."""
    chain_data, snaps = built
    datadir = tmp_path / "d"
    shutil.copytree(chain_data.seed_dir, datadir)
    chain = ChainManager(REGTEST, datadir)
    rest = chain_data.blocks[chain_data.base_height + 1 :]
    for block in rest:
        chain.accept_header(block.header)
    for block in random.Random(7).sample(rest, len(rest)):
        chain.accept_block(block, durable=False)
    chain.activate_best_chain()
    assert utxo_snapshot(chain) == snaps[chain_data.height]
    chain.close()
    (datadir / "chainstate.sqlite").write_bytes(b"not a database any more")
    rebuilt = ChainManager(REGTEST, datadir, reindex=True)
    try:
        assert rebuilt.height == chain_data.height
        assert utxo_snapshot(rebuilt) == snaps[chain_data.height]
    finally:
        rebuilt.close()
    reopened = ChainManager(REGTEST, datadir)
    try:
        assert utxo_snapshot(reopened) == snaps[chain_data.height]
        # everything reads back from where the reindex found it
        for h in (0, chain_data.base_height, chain_data.height):
            assert reopened.get_block_raw(reopened.active[h]) == chain_data.blocks[h].serialize()
    finally:
        reopened.close()


def test_a_block_submitblock_acknowledged_survives_sigkill(built: tuple[BuiltChain, list[Snapshot | None]], tmp_path: Path) -> None:
    """Killed right after submitblock answered (no flush in between: the cache is large), the
    node comes back with every acknowledged block, from the block files."""
    chain_data, snaps = built
    datadir = tmp_path / "regtest"
    shutil.copytree(chain_data.seed_dir, datadir)
    node = NodeProcess(datadir, extra_args=["--dbcache", "100"])
    try:
        node.start()
        last = chain_data.base_height + 5
        for h in range(chain_data.base_height + 1, last + 1):
            assert node.call("submitblock", chain_data.blocks[h].serialize().hex()) is None
        node.kill()
        node.start()
        snap = snaps[last]
        assert snap is not None
        assert node.call("getbestblockhash") == snap.block_hash_hex
        assert node.call("gettxoutsetinfo")["hash_serialized_3"] == snap.stats["hash"]
    finally:
        node.kill()


def test_dbcache_must_not_be_negative(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hashforge", "node", "--datadir", str(tmp_path), "--dbcache", "-5"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "--dbcache must be 0 or more MiB, not -5" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_min_difficulty_walk_and_median_time_shortcuts_equal_the_consensus_rule(tmp_path: Path) -> None:
    """next_bits remembers testnet's walk back over min-difficulty blocks; on a testnet4 header
    tree (index entries only, made up bits and times) it answers as get_next_work_required does."""
    chain = ChainManager(TESTNET4, tmp_path)
    try:
        rng = random.Random(3)
        limit = get_compact(TESTNET4.pow_limit)
        entries = [chain.tip]
        for i in range(3 * TESTNET4.difficulty_adjustment_interval // 2):
            prev = entries[rng.randrange(max(0, len(entries) - 3), len(entries))]  # a few forks
            bits = limit if rng.random() < 0.8 else 0x1C0FFFFF
            header = BlockHeader(0x20000000, prev.hash, rng.randbytes(32), prev.header.time + rng.choice((60, 2000)), bits, i)
            entries.append(chain._add_header(header))
        for prev in rng.sample(entries, 300):
            for t in (prev.header.time + 1, prev.header.time + 5000):

                def info(height: int, prev: object = prev) -> HeaderInfo:
                    return HeaderInfo.from_header(prev.ancestor(height).header, height)  # type: ignore[attr-defined]

                expected = get_next_work_required(TESTNET4, HeaderInfo.from_header(prev.header, prev.height), t, info)
                assert chain.next_bits(prev, t) == expected
        # the remembered median time past too, asked in any order
        for e in rng.sample(entries, 300) + entries[-50:]:
            assert chain.median_time_past(e) == e.median_time_past()
    finally:
        chain.close()


def test_connecting_blocks_logs_progress_lines(
    built: tuple[BuiltChain, list[Snapshot | None]], tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashforge.node.chain as chain_module

    monkeypatch.setattr(chain_module, "SYNC_LOG_INTERVAL_S", 0.0)  # a line per block
    chain_data, _ = built
    datadir = tmp_path / "d"
    shutil.copytree(chain_data.seed_dir, datadir)
    chain = ChainManager(REGTEST, datadir)
    try:
        rest = chain_data.blocks[chain_data.base_height + 1 :]
        for block in rest:
            chain.accept_header(block.header)  # the best header is known ahead of the blocks
        caplog.set_level("INFO", logger="hashforge.node.chain")
        for block in rest[:3]:
            assert chain.process_block(block) is None
    finally:
        chain.close()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("height ")]
    assert len(lines) == 3
    first = chain_data.base_height + 1
    assert lines[0].startswith(f"height {first} of {chain_data.height}, progress 1.000000, ")  # regtest: Core's 1.0
    assert "blocks/s" in lines[0] and "tx/s" in lines[0] and "left, cache " in lines[0] and " coins)" in lines[0]


def _chain_with_a_bad_signature(n_after: int) -> tuple[list[Block], int]:
    """Regtest blocks from genesis: block 102 spends block 1's coinbase with a signature over the
    wrong digest (invalid under every rule), then `n_after` empty blocks. Returns (blocks, 102)."""
    key = Key.from_int(0xA55)
    blocks = [REGTEST.genesis]
    for h in range(1, 102):
        blocks.append(make_block(blocks[-1], h, pay_to=key.p2wpkh))
    cb = blocks[1].vtx[0]
    good = sign_tx([Utxo(OutPoint(cb.txid, 0), cb.vout[0], key)], [TxOut(cb.vout[0].value - 1_000, key.p2wpkh)])
    vin = good.vin[0]
    bad = Transaction(good.version, (TxIn(vin.prevout, vin.script_sig, vin.sequence, (key.sign(b"\x01" * 32), vin.witness[1])),), good.vout, good.locktime)
    blocks.append(make_block(blocks[-1], 102, [bad], pay_to=key.p2wpkh))
    for h in range(103, 103 + n_after):
        blocks.append(make_block(blocks[-1], h, pay_to=key.p2wpkh))
    return blocks, 102


def test_assumevalid_skips_scripts_only_below_the_assumed_block_and_two_weeks_deep(tmp_path: Path) -> None:
    blocks, bad = _chain_with_a_bad_signature(2_100)  # regtest: 2,016 blocks are two weeks of work
    av = blocks[bad + 10].hash_hex

    checked = ChainManager(REGTEST, tmp_path / "all", assume_valid="0")
    try:
        for b in blocks[1:bad]:
            assert checked.process_block(b) is None
        checked.process_block(blocks[bad])
        assert checked.height == bad - 1 and checked.index[blocks[bad].hash].failed
    finally:
        checked.close()

    # headers only up to the assumed-valid block itself: not two weeks deep, so scripts are checked
    shallow = ChainManager(REGTEST, tmp_path / "shallow", assume_valid=av)
    try:
        for b in blocks[1 : bad + 11]:
            shallow.accept_header(b.header)
        for b in blocks[1 : bad + 1]:
            shallow.process_block(b)
        assert shallow.height == bad - 1
    finally:
        shallow.close()

    assumed = ChainManager(REGTEST, tmp_path / "assumed", assume_valid=av)
    try:
        for b in blocks[1:]:
            assumed.accept_header(b.header)
        for b in blocks[1:]:
            assert assumed.process_block(b) is None
        assert assumed.height == len(blocks) - 1
    finally:
        assumed.close()


def test_assumevalid_defaults_per_network() -> None:
    assert parse_assume_valid(None, "regtest") is None
    assert parse_assume_valid("0", "mainnet") is None
    main = parse_assume_valid(None, "mainnet")
    assert main is not None and main[::-1].hex() == DEFAULT_ASSUME_VALID["mainnet"]
    assert parse_assume_valid(None, "testnet4") is not None and parse_assume_valid(None, "signet") is not None
    with pytest.raises(ValueError, match="64-digit block hash or 0"):
        parse_assume_valid("abc", "mainnet")


def test_bip30_lookups_come_from_one_batch_and_refuse_an_overwrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below BIP34 height (moved up here) a block whose coinbase repeats an unspent one's txid is
    refused (bad-txns-BIP30); its outputs are looked up with its inputs, not one query each."""
    params = replace(REGTEST, bip34_height=1_000_000)
    key = Key.from_int(0xB130)
    coinbase = Transaction(1, (TxIn(OutPoint(), b"\x01\x01", 0xFFFFFFFF),), (TxOut(50 * 100_000_000, key.p2wpkh),), 0)

    def on(parent: Block) -> Block:
        root, _ = merkle_root([coinbase.txid])
        header = mine_header(BlockHeader(0x20000000, parent.hash, root, parent.header.time + 600, parent.header.bits, 0), params)
        assert header is not None
        return Block(header, (coinbase,))

    chain = ChainManager(params, tmp_path, dbcache_mib=0)  # every block written through, the cache emptied
    try:
        first = on(params.genesis)
        assert chain.process_block(first) is None
        lookups: list[object] = []
        monkeypatch.setattr(chain.db, "get_coin", lambda op: lookups.append(op))
        second = on(first)
        chain.process_block(second)
        assert chain.height == 1 and chain.index[second.hash].failed
        assert lookups == []  # answered by the batch (PrefetchedCoins), not coin by coin
    finally:
        chain.close()


def test_scripts_checked_at_mempool_acceptance_are_not_run_again_in_the_block(tmp_path: Path) -> None:
    env = RegtestEnv.create(tmp_path / "env", BASE_HEIGHT)
    try:
        chain = env.chain
        ran: list[bytes] = []

        def counting_map(fn: Any, checks: Any) -> Any:
            checks = list(checks)
            ran.extend(c.tx.txid for c in checks)
            return map(fn, checks)

        chain.script_map = counting_map
        via_mempool = spend(env.coinbase_utxo(1), OTHER_KEY, fee=2_000)
        assert env.mempool.accept(via_mempool).allowed
        assert len(chain.script_cache) == 1
        (block,) = env.mine()
        assert via_mempool.txid in {t.txid for t in block.vtx}
        assert ran == [] and chain.script_cache.hits == 1 and len(chain.script_cache) == 0
        # a transaction the mempool never saw is checked when its block connects
        direct = spend(env.coinbase_utxo(2), OTHER_KEY, fee=2_000)
        tip = chain.get_block(chain.tip)
        assert chain.process_block(make_block(tip, chain.height + 1, [direct], time_offset=1)) is None
        assert ran == [direct.txid]
    finally:
        env.close()


def test_cached_coins_pack_and_unpack_exactly() -> None:
    """The cache holds each coin as its flags and Coin.serialize() bytes: every field comes back,
    at the compact-size widths a height or script length can take, and a spent coin is its flags."""
    from hashforge.consensus.coins import Coin
    from hashforge.consensus.tx import TxOut
    from hashforge.node.chainstate import DIRTY, FRESH, pack_coin, unpack_coin

    for height, script in ((0, b""), (126, b"\x51"), (0x7FFF, b"\x00" * 300), (0x7FFFFFFF, b"\x6a" * 70_000)):
        for coinbase in (False, True):
            coin = Coin(TxOut(21_000_000 * 100_000_000, script), height, coinbase)
            packed = pack_coin(coin, DIRTY | FRESH)
            assert packed[0] == DIRTY | FRESH and unpack_coin(packed) == coin
    assert pack_coin(None, DIRTY) == bytes((DIRTY,)) and unpack_coin(pack_coin(None, DIRTY)) is None
