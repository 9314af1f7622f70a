"""The wallet's raw block reader (for nodes without `getblock` verbosity 2) on real blocks:
Dogecoin mainnet AuxPoW blocks, Litecoin mainnet, and Litecoin regtest blocks with MWEB (HogEx).

Each read is checked against the block's own header: the transaction ids must rebuild its merkle
root, so a byte read wrong anywhere (AuxPoW, witness, MWEB flag) fails the test."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from hashforge.consensus.block import BlockHeader, merkle_root
from hashforge.consensus.params import DOGECOIN, LITECOIN, LITECOIN_REGTEST, ChainParams
from hashforge.consensus.serialize import DeserializationError
from hashforge.wallet.rawblocks import read_block, read_transaction
from tests.helpers.peers import SHARED_BIN

DATA = Path(__file__).resolve().parents[1] / "data"
MWEB_CHAIN = SHARED_BIN / "ltc_regtest_mweb_chain.hex"


def _check(raw: bytes, params: ChainParams) -> dict[str, Any]:
    block = read_block(raw, params)
    header = BlockHeader.from_bytes(raw[:80])
    assert block["hash"] == header.hash_hex
    root, _ = merkle_root([bytes.fromhex(t["txid"])[::-1] for t in block["tx"]])
    assert root == header.merkle_root
    assert "coinbase" in block["tx"][0]["vin"][0]
    return block


@pytest.mark.parametrize("name", ["dogecoin_block371337.bin", "dogecoin_block894863.bin", "dogecoin_block250000.bin"])
def test_dogecoin_blocks_with_and_without_auxpow(name: str) -> None:
    block = _check((DATA / "dogecoin" / name).read_bytes(), DOGECOIN)
    assert all(o["value"] >= 0 for t in block["tx"] for o in t["vout"])


def test_litecoin_mainnet_block() -> None:
    block = _check((DATA / "litecoin" / "litecoin_block1.bin").read_bytes(), LITECOIN)
    assert block["tx"][0]["vout"][0]["value"] == 50  # Litecoin's first subsidy, in LTC


@pytest.mark.skipif(not MWEB_CHAIN.exists(), reason=f"{MWEB_CHAIN} not found (../shared/bin)")
def test_litecoin_mweb_blocks_read_past_the_hogex_and_the_mweb_block() -> None:
    lines = MWEB_CHAIN.read_text().split()
    blocks = [_check(bytes.fromhex(line), LITECOIN_REGTEST) for line in lines[425:]]  # heights 426..
    # From MWEB activation (432) every block ends in the HogEx; before it there is none.
    assert [len(b["tx"]) for b in blocks[:6]] == [1] * 6
    assert all(len(b["tx"]) >= 2 for b in blocks[6:])
    # An MWEB transaction body among the canonical transactions is refused, not misread.
    mweb_body = bytes.fromhex("02000000" "0008" "01" + "00" * 36 + "00" + "ffffffff" "00" "01")
    with pytest.raises(DeserializationError, match="MWEB"):
        read_transaction(io.BytesIO(mweb_body))
