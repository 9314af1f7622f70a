"""Proof of work: compact encoding, difficulty, chainwork, PoW checks and the Bitcoin retarget rules."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import pytest

from hashforge.consensus.block import BlockHeader
from hashforge.consensus.params import MAINNET, REGTEST, SCRYPTNET, TESTNET3, TESTNET4, get_params
from hashforge.consensus.pow import (
    DIFF1_TARGET,
    HeaderInfo,
    InvalidCompactError,
    bits_to_target,
    block_proof,
    calculate_next_work_required,
    check_proof_of_work,
    derive_target,
    difficulty,
    difficulty_exact,
    get_compact,
    get_next_work_required,
    median_time_past,
    mine_header,
    pow_hash,
    set_compact,
    target_difficulty,
    target_to_bits,
)

# --- compact encoding: the cases of Core's arith_uint256 tests (src/test/arith_uint256_tests.cpp) --

# (nBits, value, negative, overflow, GetCompact(value, negative))
COMPACT_CASES = [
    (0x00000000, 0, False, False, 0x00000000),
    (0x00123456, 0, False, False, 0x00000000),
    (0x01003456, 0, False, False, 0x00000000),
    (0x02000056, 0, False, False, 0x00000000),
    (0x03000000, 0, False, False, 0x00000000),
    (0x04000000, 0, False, False, 0x00000000),
    (0x00923456, 0, False, False, 0x00000000),
    (0x01803456, 0, False, False, 0x00000000),
    (0x02800056, 0, False, False, 0x00000000),
    (0x03800000, 0, False, False, 0x00000000),
    (0x04800000, 0, False, False, 0x00000000),
    (0x01123456, 0x12, False, False, 0x01120000),
    (0x01FEDCBA, 0x7E, True, False, 0x01FE0000),
    (0x02123456, 0x1234, False, False, 0x02123400),
    (0x03123456, 0x123456, False, False, 0x03123456),
    (0x04123456, 0x12345600, False, False, 0x04123456),
    (0x04923456, 0x12345600, True, False, 0x04923456),
    (0x05009234, 0x92340000, False, False, 0x05009234),
    (0x20123456, 0x123456 << (8 * 29), False, False, 0x20123456),
]


@pytest.mark.parametrize(("bits", "value", "negative", "overflow", "compact"), COMPACT_CASES)
def test_set_and_get_compact_match_core(
    bits: int, value: int, negative: bool, overflow: bool, compact: int
) -> None:
    decoded = set_compact(bits)
    assert decoded == (value, negative, overflow)
    assert get_compact(decoded.target, decoded.negative) == compact


def test_overflow_flag() -> None:
    assert set_compact(0xFF123456).overflow
    assert set_compact(0x23000001).overflow is True  # size 35 > 34
    assert set_compact(0x22000001).overflow is False  # 1 << 248
    assert set_compact(0x22000100).overflow is True  # word > 0xff and size > 33
    assert set_compact(0x21010000).overflow is True  # word > 0xffff and size > 32
    assert set_compact(0x21008000).overflow is False


def test_bits_to_target_rejects_negative_and_overflow() -> None:
    with pytest.raises(InvalidCompactError):
        bits_to_target(0x04923456)
    with pytest.raises(InvalidCompactError):
        bits_to_target(0xFF123456)
    assert bits_to_target(0x1D00FFFF) == DIFF1_TARGET
    assert target_to_bits(DIFF1_TARGET) == 0x1D00FFFF
    assert target_to_bits(MAINNET.pow_limit) == 0x1D00FFFF  # precision below 3 bytes is dropped
    assert target_to_bits(0x80) == 0x02008000  # mantissa kept below the sign bit


def test_derive_target_range() -> None:
    assert derive_target(0x1D00FFFF, MAINNET.pow_limit) == DIFF1_TARGET
    assert derive_target(0x1D010000, MAINNET.pow_limit) is None  # above pow_limit
    assert derive_target(0x00000000, MAINNET.pow_limit) is None  # zero
    assert derive_target(0x1C800000, MAINNET.pow_limit) is None  # negative
    assert derive_target(0x207FFFFF, REGTEST.pow_limit) is not None


# --- difficulty and chainwork ----------------------------------------------------------------------


def test_difficulty_as_core_getdifficulty() -> None:
    assert difficulty(0x1D00FFFF) == 1.0
    assert difficulty(0x1C3FFFC0) == pytest.approx(4.0, rel=1e-4)
    assert difficulty_exact(0x1C3FFFC0) == Fraction(0xFFFF * 256, 0x3FFFC0)
    # Block 413567 (May 2016): nBits 18058436, difficulty 199312067531.243.
    assert difficulty(0x18058436) == pytest.approx(199312067531.243, rel=1e-12)
    assert difficulty(0x18058436) == pytest.approx(float(difficulty_exact(0x18058436)), rel=1e-15)
    assert difficulty_exact(0x18058436) == target_difficulty(bits_to_target(0x18058436))
    assert difficulty(0x207FFFFF) == pytest.approx(4.656542373906925e-10)
    assert difficulty(0x1D000000) == float("inf")


def test_block_proof_is_two_to_256_over_target_plus_one() -> None:
    assert block_proof(0x1D00FFFF) == 0x100010001  # Core's chainwork of the genesis block
    assert block_proof(0x207FFFFF) == 2  # regtest
    assert block_proof(0x04923456) == 0  # negative
    assert block_proof(0xFF123456) == 0  # overflow
    assert block_proof(0) == 0
    target = bits_to_target(0x17053894)
    assert block_proof(0x17053894) == ((1 << 256) - 1 - target) // (target + 1) + 1  # Core's form


# --- proof-of-work check --------------------------------------------------------------------------


def test_check_proof_of_work_boundaries() -> None:
    target = DIFF1_TARGET
    at_target = target.to_bytes(32, "little")
    above = (target + 1).to_bytes(32, "little")
    assert check_proof_of_work(at_target, 0x1D00FFFF, MAINNET)
    assert not check_proof_of_work(above, 0x1D00FFFF, MAINNET)
    assert not check_proof_of_work(b"\x00" * 32, 0x1D010000, MAINNET)  # bits above pow_limit
    assert not check_proof_of_work(b"\x00" * 32, 0x1C800000, MAINNET)  # negative bits
    assert check_proof_of_work(MAINNET.genesis.hash, MAINNET.genesis.header.bits, MAINNET)


def test_scrypt_networks_check_the_scrypt_hash_not_the_block_hash() -> None:
    header = SCRYPTNET.genesis.header
    assert pow_hash(header, SCRYPTNET) != header.hash
    assert check_proof_of_work(pow_hash(header, SCRYPTNET), header.bits, SCRYPTNET)
    assert not check_proof_of_work(header.hash, header.bits, SCRYPTNET)


def test_litecoin_genesis_scrypt_hash() -> None:
    # Litecoin's genesis header: its PoW hash is scrypt(1024,1,1), far below its nBits 1e0ffff0.
    merkle = bytes.fromhex("97ddfbbae6be97fd6cdf3e7ca13232a3afff2353e29badfab7f73011edd4ced9")[::-1]
    header = BlockHeader(1, b"\x00" * 32, merkle, 1317972665, 0x1E0FFFF0, 2084524493)
    assert header.hash_hex == "12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2"
    assert (
        pow_hash(header, SCRYPTNET)[::-1].hex()
        == "0000050c34a64b415b6b15b37f2216634b5b1669cb9a2e38d76f7213b0671e00"
    )
    assert check_proof_of_work(pow_hash(header, SCRYPTNET), header.bits, SCRYPTNET)


def test_mine_header_finds_the_first_valid_nonce() -> None:
    params = get_params("devnet")
    template = BlockHeader(0x20000000, params.genesis.hash, b"\x11" * 32, params.genesis.header.time + 30, 0x1E3FFFFF, 0)
    found = mine_header(template, params, max_nonce=10_000_000)
    assert found is not None
    assert check_proof_of_work(found.hash, found.bits, params)
    again = mine_header(template, params, max_nonce=found.nonce)
    assert again == found
    if found.nonce > 0:
        assert mine_header(template, params, max_nonce=found.nonce - 1) is None


# --- median time past -------------------------------------------------------------------------------


def test_median_time_past() -> None:
    assert median_time_past([5]) == 5
    assert median_time_past([1, 2]) == 2  # Core takes the upper middle of an even count
    assert median_time_past(list(range(100, 0, -1))) == 6  # only the last 11: 11..1 -> 6
    assert median_time_past([3, 9, 1, 7, 5]) == 5
    with pytest.raises(ValueError):
        median_time_past([])


# --- Bitcoin retarget -------------------------------------------------------------------------------


def test_first_mainnet_alt_retarget_clamps_to_four_times() -> None:
    # mainnet_alt: 2015 intervals took 241817 s, below a quarter of two weeks (302400 s).
    first = HeaderInfo(0, 1231006505, 0x1D00FFFF)
    last = HeaderInfo(2015, 1231006505 + 241817, 0x1D00FFFF)
    assert calculate_next_work_required(last, first, MAINNET) == 0x1C3FFFC0


def test_retarget_clamps_and_caps() -> None:
    bits = 0x1B0404CB
    first = HeaderInfo(30240, 0, bits)
    tiny = calculate_next_work_required(HeaderInfo(32255, 1, bits), first, MAINNET)
    assert tiny == target_to_bits(bits_to_target(bits) // 4)
    huge = calculate_next_work_required(HeaderInfo(32255, 10**8, bits), first, MAINNET)
    assert huge == target_to_bits(bits_to_target(bits) * 4)
    # Slow blocks at minimum difficulty stay capped at pow_limit.
    capped = calculate_next_work_required(HeaderInfo(2015, 10**8, 0x1D00FFFF), HeaderInfo(0, 0, 0x1D00FFFF), MAINNET)
    assert capped == 0x1D00FFFF
    # Exactly two weeks over 2015 intervals keeps the target (up to compact rounding).
    same = calculate_next_work_required(HeaderInfo(4031, 1209600, bits), HeaderInfo(2016, 0, bits), MAINNET)
    assert same == bits


def _lookup(infos: list[HeaderInfo]) -> Callable[[int], HeaderInfo]:
    by_height = {i.height: i for i in infos}
    return lambda h: by_height[h]


def test_mainnet_ignores_block_time_between_retargets() -> None:
    last = HeaderInfo(100, 1000, 0x1C3FFFC0)
    assert get_next_work_required(MAINNET, last, 10**9, _lookup([last])) == 0x1C3FFFC0


def test_testnet_twenty_minute_rule() -> None:
    last = HeaderInfo(10083, 5000, 0x1C3FFFC0)
    lookup = _lookup([last])
    assert get_next_work_required(TESTNET3, last, 5000 + 1201, lookup) == 0x1D00FFFF
    # Exactly 20 minutes is not enough: the rule needs strictly more.
    assert get_next_work_required(TESTNET3, last, 5000 + 1200, lookup) == 0x1C3FFFC0


def test_testnet_walks_back_to_the_last_ordinary_block() -> None:
    chain = [
        HeaderInfo(10083, 1000, 0x1C3FFFC0),
        HeaderInfo(10084, 3000, 0x1D00FFFF),  # min-difficulty blocks
        HeaderInfo(10085, 5000, 0x1D00FFFF),
        HeaderInfo(10086, 7000, 0x1D00FFFF),
    ]
    assert get_next_work_required(TESTNET3, chain[-1], 7100, _lookup(chain)) == 0x1C3FFFC0


def test_testnet_walk_back_stops_at_the_period_start() -> None:
    # 10080 = 5 * 2016: the walk never goes past a boundary block, even one at min difficulty.
    chain = [
        HeaderInfo(10079, 0, 0x1C3FFFC0),
        HeaderInfo(10080, 100, 0x1D00FFFF),
        HeaderInfo(10081, 200, 0x1D00FFFF),
        HeaderInfo(10082, 300, 0x1D00FFFF),
    ]
    assert get_next_work_required(TESTNET3, chain[-1], 400, _lookup(chain)) == 0x1D00FFFF


def test_testnet3_retarget_scales_the_last_block_but_bip94_the_first() -> None:
    first = HeaderInfo(2016, 0, 0x1C3FFFC0)
    last = HeaderInfo(4031, 1209600, 0x1D00FFFF)  # the period ended on a min-difficulty block
    lookup = _lookup([first, last])
    assert get_next_work_required(TESTNET3, last, 1209600 + 60, lookup) == 0x1D00FFFF
    assert get_next_work_required(TESTNET4, last, 1209600 + 60, lookup) == 0x1C3FFFC0


def test_regtest_never_retargets_but_allows_min_difficulty() -> None:
    interval = REGTEST.difficulty_adjustment_interval
    assert interval == 144
    last = HeaderInfo(interval - 1, 10**6, 0x2000FFFF)
    first = HeaderInfo(0, 0, 0x2000FFFF)
    assert get_next_work_required(REGTEST, last, 10**6 + 1, _lookup([first, last])) == 0x2000FFFF
    mid = HeaderInfo(5, 1000, 0x2000FFFF)
    assert get_next_work_required(REGTEST, mid, 1000 + 1201, _lookup([mid])) == 0x207FFFFF


def test_header_info_from_header() -> None:
    h = MAINNET.genesis.header
    assert HeaderInfo.from_header(h, 0) == HeaderInfo(0, h.time, h.bits)


def test_retarget_product_wraps_at_2_256_like_arith_uint256() -> None:
    # Unreachable with real parameters (targets < 2^224), but exact: Core's `bnNew *= timespan`
    # is a 256-bit product, and so is ours.
    import dataclasses

    params = dataclasses.replace(MAINNET, pow_limit=REGTEST.pow_limit)
    last = HeaderInfo(2015, 10**8, 0x207FFFFF)
    first = HeaderInfo(0, 0, 0x207FFFFF)
    timespan = params.pow_target_timespan
    wrapped = ((bits_to_target(0x207FFFFF) * 4 * timespan) % (1 << 256)) // timespan
    assert calculate_next_work_required(last, first, params) == target_to_bits(wrapped)
