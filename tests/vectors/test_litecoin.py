"""Litecoin on real data (tests/data/litecoin/README.md cites each file): parameters against Litecoin
Core 0.21's chainparams.cpp, its own address/key vectors and retarget vectors, a real block."""

from __future__ import annotations

from io import BytesIO

import pytest

from hashforge.consensus.address import decode_address, decode_wif, encode_wif, script_to_address
from hashforge.consensus.block import Block
from hashforge.consensus.headerchain import verify_headers
from hashforge.consensus.params import (
    LITECOIN,
    LITECOIN_REGTEST,
    LITECOIN_TESTNET4,
    DifficultyRule,
    PowAlgorithm,
    get_params,
)
from hashforge.consensus.pow import (
    HeaderInfo,
    block_subsidy,
    check_header_pow,
    get_next_work_required,
    litecoin_calculate_next_work,
)
from tests.vectorfiles import VECTORS, load_json

CHAINS = {"main": LITECOIN, "test": LITECOIN_TESTNET4, "regtest": LITECOIN_REGTEST}


@pytest.mark.parametrize(
    ("name", "genesis", "magic", "port", "rpc", "hrp", "prefixes", "heights"),
    [
        ("litecoin", "12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2", "fbc0b6db", 9333, 9332, "ltc",
         (48, 50, 5, 176), (710000, 918684, 811879, 1201536, 1201536)),
        ("litecoin-testnet4", "4966625a4b2851d9fdee139e56211a0d88575f59ed816ff5e6a63deb4e3e29a0", "fdd2c8f1", 19335, 19332, "tltc",
         (111, 58, 196, 239), (76, 76, 76, 6048, 6048)),
        ("litecoin-regtest", "530827f38f93b43ed12af0b3ad25a288dc02ed74d6d7857862df51fc56c416f9", "fabfb5da", 19444, 19443, "rltc",
         (111, 58, 196, 239), (500, 1351, 1251, 432, 0)),
    ],
)
def test_params_match_litecoin_core(
    name: str, genesis: str, magic: str, port: int, rpc: int, hrp: str,
    prefixes: tuple[int, int, int, int], heights: tuple[int, ...],
) -> None:
    p = get_params(name)
    assert p.genesis.hash_hex == genesis
    assert p.genesis.header.merkle_root[::-1].hex() == "97ddfbbae6be97fd6cdf3e7ca13232a3afff2353e29badfab7f73011edd4ced9"
    assert (p.message_start.hex(), p.default_port, p.rpc_port, p.bech32_hrp) == (magic, port, rpc, hrp)
    assert (p.base58_pubkey_prefix, p.base58_script_prefix, p.base58_script_prefix_legacy,
            p.base58_secret_prefix) == prefixes
    assert (p.bip34_height, p.bip65_height, p.bip66_height, p.csv_height, p.segwit_height) == heights
    assert (p.pow_target_timespan, p.pow_target_spacing, p.difficulty_adjustment_interval) == (302_400, 150, 2016)
    assert p.pow_algorithm is PowAlgorithm.SCRYPT and p.difficulty_rule is DifficultyRule.LITECOIN


def test_subsidy_halves_every_840000_blocks() -> None:
    assert block_subsidy(0, LITECOIN) == block_subsidy(839_999, LITECOIN) == 50 * 100_000_000
    assert block_subsidy(840_000, LITECOIN) == 25 * 100_000_000
    assert block_subsidy(2_520_000, LITECOIN) == 625_000_000
    assert block_subsidy(150, LITECOIN_REGTEST) == 25 * 100_000_000


def test_key_io_vectors_of_litecoin_core() -> None:
    seen = set()
    for text, payload, meta in load_json("litecoin/key_io_valid.json"):
        params = CHAINS[meta["chain"]]
        if meta["isPrivkey"]:
            key, compressed = decode_wif(text, params)
            assert (key.hex(), compressed) == (payload, meta["isCompressed"])
            assert encode_wif(key, params, compressed) == text
        else:
            script = bytes.fromhex(payload)
            assert decode_address(text, params).script_pubkey == script, text
            assert script_to_address(script, params) in (text, text.lower()), text
        seen.add((meta["chain"], text[0].lower() if not meta["isPrivkey"] else "wif"))
    assert {("main", "l"), ("main", "m"), ("test", "t"), ("test", "q"), ("regtest", "r")} <= seen


# Litecoin Core src/test/pow_tests.cpp: (height of last, its time, its nBits, first block time, result).
POW_VECTORS = [
    (280223, 1358378777, 0x1C0AC141, 1358118740, 0x1C093F8D),  # get_next_work
    (2015, 1318480354, 0x1E0FFFF0, 1317972665, 0x1E0FFFFF),  # pow limit (and the 1-bit shift)
    (578591, 1401757934, 0x1B075CF1, 1401682934, 0x1B01D73C),  # lower limit of the timespan
    (1001951, 1464900315, 0x1B015318, 1463690315, 0x1B054C60),  # upper limit of the timespan
]


@pytest.mark.parametrize(("height", "time", "bits", "first_time", "expected"), POW_VECTORS)
def test_retarget_vectors_of_litecoin_core(height: int, time: int, bits: int, first_time: int, expected: int) -> None:
    assert litecoin_calculate_next_work(HeaderInfo(height, time, bits), first_time, LITECOIN) == expected


def test_retarget_looks_back_the_full_interval() -> None:
    """The first retarget measures from genesis (2015 intervals), every later one from the last
    block of the period before (2016 intervals), unlike Bitcoin."""
    asked: list[int] = []

    def ancestor(h: int) -> HeaderInfo:
        asked.append(h)
        return HeaderInfo(h, 1_317_972_665 + 150 * h, 0x1C0AC141)

    for last in (2015, 4031, 6047):
        get_next_work_required(LITECOIN, HeaderInfo(last, 1_317_972_665 + 150 * last, 0x1C0AC141), 0, ancestor)
    assert asked == [0, 2015, 4031]


def test_real_block_1() -> None:
    block = Block.from_bytes((VECTORS / "litecoin" / "litecoin_block1.bin").read_bytes())
    assert block.hash_hex == "80ca095ed10b02e53d769eb6eaf92cd04e9e0759e5be4a8477b42911ba49c78f"
    assert block.header.prev_hash == LITECOIN.genesis_hash
    assert check_header_pow(block.header, LITECOIN)
    assert block.compute_merkle_root() == (block.header.merkle_root, False)
    assert sum(o.value for o in block.vtx[0].vout) == block_subsidy(1, LITECOIN)
    summary = verify_headers([LITECOIN.genesis.header, block.header], LITECOIN, 0)
    assert (summary.checked_pow, summary.checked_links, summary.checked_bits) == (2, 1, 1)
    assert BytesIO(block.serialize()).read() == (VECTORS / "litecoin" / "litecoin_block1.bin").read_bytes()
