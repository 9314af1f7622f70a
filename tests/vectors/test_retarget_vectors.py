"""Real mainnet retargets (ckb-spv boundary headers) and the alternate-mainnet chain's coinbases."""

from __future__ import annotations

from typing import Any

import pytest

from hashforge.consensus.block import BlockHeader
from hashforge.consensus.params import MAINNET
from hashforge.consensus.pow import (
    HeaderInfo,
    block_proof,
    calculate_next_work_required,
    check_proof_of_work,
    decode_bip34_height,
    get_next_work_required,
)
from hashforge.consensus.tx import Transaction
from tests.vectorfiles import VECTORS, load_json

INTERVAL = 2016


@pytest.fixture(scope="module")
def boundary() -> dict[int, dict[str, Any]]:
    data = load_json("mainnet/ckb-spv/mainnet_retarget_boundary_headers.json")
    return {int(h): entry for h, entry in data["headers"].items()}


def _info(entry: dict[str, Any], height: int) -> HeaderInfo:
    header = BlockHeader.from_bytes(bytes.fromhex(entry["header"]))
    return HeaderInfo.from_header(header, height)


def test_file_headers_are_consistent(boundary: dict[int, dict[str, Any]]) -> None:
    assert len(boundary) == 827
    for height, entry in boundary.items():
        header = BlockHeader.from_bytes(bytes.fromhex(entry["header"]))
        assert header.hash_hex == entry["hash"], height
        assert header.bits == int(entry["bits"], 16) and header.time == entry["time"], height
        assert check_proof_of_work(header.hash, header.bits, MAINNET), height
        if height - 1 in boundary:
            assert header.prev_hash[::-1].hex() == boundary[height - 1]["hash"], height


def test_all_413_retargets_recompute_exactly(boundary: dict[int, dict[str, Any]]) -> None:
    retargets = sorted(h for h in boundary if h > 0 and h % INTERVAL == 0)
    assert len(retargets) == 413
    changed = 0
    for height in retargets:
        first = _info(boundary[height - INTERVAL], height - INTERVAL)
        last = _info(boundary[height - 1], height - 1)
        expected = _info(boundary[height], height).bits
        assert calculate_next_work_required(last, first, MAINNET) == expected, height
        # The same through the general entry point, with only the two ancestors it may ask for.
        known = {first.height: first, last.height: last}
        assert get_next_work_required(MAINNET, last, 0, known.__getitem__) == expected
        changed += last.bits != expected
    assert changed > 380  # nearly every period changed difficulty


def test_first_real_difficulty_change_at_32256(boundary: dict[int, dict[str, Any]]) -> None:
    assert _info(boundary[32255], 32255).bits == 0x1D00FFFF
    assert _info(boundary[32256], 32256).bits == 0x1D00D86A
    for height in range(INTERVAL, 32256, INTERVAL):
        assert _info(boundary[height], height).bits == 0x1D00FFFF, "clamped to pow_limit before 32256"


def test_chainwork_matches_block_proof_sums(boundary: dict[int, dict[str, Any]]) -> None:
    """The file's cumulative chainwork equals our block_proof sums: across each boundary pair
    (one block) and across each period (2015 blocks of the period's nBits: mainnet never changes
    nBits inside a period)."""
    work = {h: int(e["chainwork"], 16) for h, e in boundary.items()}
    assert work[0] == block_proof(MAINNET.genesis.header.bits) == 0x100010001
    for height in sorted(work):
        if height == 0:
            continue
        bits = _info(boundary[height], height).bits
        if height % INTERVAL == 0:  # first block of a period, one block after the previous entry
            assert work[height] - work[height - 1] == block_proof(bits), height
        else:  # last block of a period: 2015 blocks after the period's first
            start = height - (INTERVAL - 1)
            assert work[height] - work[start] == (INTERVAL - 1) * block_proof(bits), height
    tip = max(work)
    assert tip == 832608
    assert work[tip] > 1 << 94  # mainnet's chainwork passed 2^94 in 2024


def test_stale_headers_have_valid_pow_but_are_not_the_main_chain(
    boundary: dict[int, dict[str, Any]],
) -> None:
    stale = load_json("mainnet/ckb-spv/mainnet_retarget_boundary_headers.json")["stale_headers"]
    assert len(stale) == 2
    for height, entry in stale.items():
        header = BlockHeader.from_bytes(bytes.fromhex(entry["header"]))
        assert header.hash_hex == entry["hash"]
        assert check_proof_of_work(header.hash, header.bits, MAINNET), height


def test_mainnet_alt_coinbases_carry_their_bip34_height() -> None:
    coinbases = load_json("bitcoin-core/mainnet_alt_coinbases.json")["coinbase_tx_hex"]
    assert len(coinbases) == 2016
    for height, tx_hex in enumerate(coinbases, start=1):
        tx = Transaction.from_hex(tx_hex)
        assert decode_bip34_height(tx.vin[0].script_sig) == height


def test_mainnet_alt_merkle_roots_are_the_coinbase_txids() -> None:
    raw = (VECTORS / "bitcoin-core/mainnet_alt_headers_0_2016.bin").read_bytes()
    coinbases = load_json("bitcoin-core/mainnet_alt_coinbases.json")["coinbase_tx_hex"]
    for height in (1, 16, 17, 1000, 2016):
        header = BlockHeader.from_bytes(raw[80 * height : 80 * height + 80])
        assert header.merkle_root == Transaction.from_hex(coinbases[height - 1]).txid
