"""Real mainnet blocks: byte-exact round trips, merkle roots, proof of work, and full validation of 277647."""

from __future__ import annotations

import bz2
import itertools
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from hashforge.consensus.block import Block, BlockHeader
from hashforge.consensus.coins import Coin
from hashforge.consensus.params import MAINNET
from hashforge.consensus.serialize import DeserializationError
from hashforge.consensus.tx import OutPoint, TxOut
from hashforge.consensus.validation import (
    BlockValidationError,
    check_block,
    check_block_context,
    check_block_time,
    connect_block,
    run_script_checks,
)
from tests.vectorfiles import VECTORS, load_json, read_framed_blocks

BLOCK_277647 = "0000000000000000054a714e580b16c583701712ab91060e92dbde6eb1e052a8"


def _roundtrip_and_check(raw: bytes) -> Block:
    block = Block.from_bytes(raw)
    assert block.serialize() == raw, "re-serialization is not byte-identical"
    check_block(block, MAINNET)  # merkle root, mutation, PoW, sizes, coinbase, sigops
    return block


def test_blocks_0_to_255_link_and_validate() -> None:
    raws = read_framed_blocks("mainnet/btcd/blk_0_to_4.dat.bz2")[:1] + read_framed_blocks(
        "mainnet/btcd/blocks1-256.bz2"
    )
    assert len(raws) == 256
    blocks = [_roundtrip_and_check(r) for r in raws]
    assert blocks[0].hash == MAINNET.genesis_hash
    for prev, cur in itertools.pairwise(blocks):
        assert cur.header.prev_hash == prev.hash
    assert blocks[255].hash_hex.startswith("00000000d0a75c86")


def test_blk_0_to_4_is_a_valid_chain_on_genesis() -> None:
    # btcd's own difficulty-1 chain on the real genesis (not the historical blocks 1-4); the
    # side-chain blocks 3A-5A fork from its block 2.
    blocks = [_roundtrip_and_check(r) for r in read_framed_blocks("mainnet/btcd/blk_0_to_4.dat.bz2")]
    assert len(blocks) == 5
    assert blocks[0].hash == MAINNET.genesis_hash
    for prev, cur in itertools.pairwise(blocks):
        assert cur.header.prev_hash == prev.hash


@pytest.mark.parametrize(
    ("path", "expected_hash", "tx_count"),
    [
        ("mainnet/bitcoin-core/block413567.raw", "0000000000000000025aff8be8a55df8f89c77296db6198f272d6577325d4069", 1557),
        (
            "mainnet/btcd/block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.blk",
            "00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab",
            230,
        ),
    ],
)
def test_large_blocks(path: str, expected_hash: str, tx_count: int) -> None:
    block = _roundtrip_and_check((VECTORS / path).read_bytes())
    assert block.hash_hex == expected_hash
    assert len(block.vtx) == tx_count


def test_block_540107_witness_commitment() -> None:
    raw = (VECTORS / "mainnet/btcd/block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.blk").read_bytes()
    block = Block.from_bytes(raw)
    assert any(tx.has_witness for tx in block.vtx)
    # contextual checks include the BIP141 commitment and the weight limit
    check_block_context(block, 540107, block.header.time - 1, MAINNET)
    assert block.weight <= 4_000_000
    assert len(block.serialize_without_witness()) < len(raw)


def test_side_chain_blocks_have_valid_pow() -> None:
    side = [read_framed_blocks(f"mainnet/btcd/blk_{n}A.dat.bz2") for n in (3, 4, 5)]
    blocks = [_roundtrip_and_check(r[0]) for r in side]
    main = [Block.from_bytes(r) for r in read_framed_blocks("mainnet/btcd/blk_0_to_4.dat.bz2")]
    assert blocks[0].header.prev_hash == main[2].hash  # forks from block 2
    assert blocks[1].header.prev_hash == blocks[0].hash
    assert blocks[2].header.prev_hash == blocks[1].hash
    assert blocks[0].hash != main[3].hash


def test_headers_text_file_matches_blocks() -> None:
    lines = (VECTORS / "mainnet/btcd/blockheaders-mainnet-1-11.txt").read_text().split()
    blocks = read_framed_blocks("mainnet/btcd/blocks1-256.bz2")
    assert len(lines) == 11
    for line, raw in zip(lines, blocks, strict=False):
        assert BlockHeader.from_bytes(bytes.fromhex(line)).serialize() == raw[:80]


class _DictView:
    def __init__(self, coins: dict[OutPoint, Coin]) -> None:
        self.coins = coins

    def get_coin(self, outpoint: OutPoint) -> Coin | None:
        return self.coins.get(outpoint)


def _load_277647() -> tuple[Block, dict[OutPoint, Coin]]:
    raw = read_framed_blocks("mainnet/btcd/277647.dat.bz2")[0]
    block = _roundtrip_and_check(raw)
    coins = {}
    for u in load_json("mainnet/btcd/277647_utxos.json")["utxos"]:
        coins[OutPoint(bytes.fromhex(u["txid"])[::-1], u["vout"])] = Coin(
            TxOut(u["value"], bytes.fromhex(u["script_pubkey"])), u["height"], u["coinbase"]
        )
    return block, coins


def test_block_277647_fully_validated() -> None:
    block, coins = _load_277647()
    assert block.hash_hex == BLOCK_277647
    check_block_context(block, 277647, block.header.time - 1, MAINNET)
    result = connect_block(block, 277647, _DictView(coins), MAINNET)
    n_inputs = sum(len(tx.vin) for tx in block.vtx[1:])
    assert n_inputs == 732
    assert len(result.script_checks) == len(block.vtx) - 1
    assert len(result.spent) == n_inputs
    assert result.fees == block.vtx[0].value_out() - 25 * 100_000_000
    with ThreadPoolExecutor(2) as pool:
        run_script_checks(result.script_checks, pool.map)


def test_block_277647_bad_signature_rejected() -> None:
    block, coins = _load_277647()
    # Give one spent coin another owner's script (same value): its signature no longer verifies.
    victim = block.vtx[1].vin[0].prevout
    other = block.vtx[2].vin[0].prevout
    old = coins[victim]
    assert coins[other].out.script_pubkey != old.out.script_pubkey
    coins[victim] = Coin(TxOut(old.out.value, coins[other].out.script_pubkey), old.height, old.is_coinbase)
    result = connect_block(block, 277647, _DictView(coins), MAINNET)
    with pytest.raises(BlockValidationError, match="mandatory-script-verify-flag-failed"):
        run_script_checks(result.script_checks)


def test_block_277647_missing_input_and_overpay() -> None:
    block, coins = _load_277647()
    first = next(iter(coins))
    del coins[first]
    with pytest.raises(BlockValidationError, match="bad-txns-inputs-missingorspent"):
        connect_block(block, 277647, _DictView(coins), MAINNET)
    _, coins = _load_277647()
    # Pretend the block is from the third halving era: the coinbase now pays more than allowed.
    with pytest.raises(BlockValidationError, match="bad-cb-amount"):
        connect_block(block, 630000, _DictView(coins), MAINNET)


def _checkblock_cases(name: str) -> list[tuple[str, bool, bool, int, str]]:
    return [tuple(c) for c in json.loads((VECTORS / "python-bitcoinlib" / name).read_text()) if len(c) == 5]  # type: ignore[misc]


@pytest.mark.parametrize("case", _checkblock_cases("checkblock_valid.json"), ids=lambda c: c[0])
def test_checkblock_valid(case: tuple[str, bool, bool, int, str]) -> None:
    _, is_header, check_pow, cur_time, hexdata = case
    data = bytes.fromhex(hexdata)
    if is_header:
        header = BlockHeader.from_bytes(data)
    else:
        block = Block.from_bytes(data)
        check_block(block, MAINNET, check_pow=check_pow)
        header = block.header
    check_block_time(header, cur_time)


@pytest.mark.parametrize("case", _checkblock_cases("checkblock_invalid.json"), ids=lambda c: c[0])
def test_checkblock_invalid(case: tuple[str, bool, bool, int, str]) -> None:
    _, _is_header, check_pow, cur_time, hexdata = case
    data = bytes.fromhex(hexdata)
    with pytest.raises((BlockValidationError, DeserializationError)):
        block = Block.from_bytes(data)
        check_block(block, MAINNET, check_pow=check_pow)
        check_block_time(block.header, cur_time)


def test_bz2_files_decompress() -> None:
    # guards the framing reader itself: every record starts with mainnet magic
    raw = bz2.decompress((VECTORS / "mainnet/btcd/blocks1-256.bz2").read_bytes())
    assert raw[:4] == bytes.fromhex("f9beb4d9")
