"""verify_headers over small chains mined here: every rule, where it applies and where it can't."""

from __future__ import annotations

import dataclasses

import pytest

from hashforge.consensus.block import BlockHeader
from hashforge.consensus.headerchain import HeaderChainError, verify_headers
from hashforge.consensus.params import DEVNET, REGTEST, TESTNET3, ChainParams, create_genesis_block
from hashforge.consensus.pow import (
    HeaderInfo,
    block_proof,
    get_compact,
    get_next_work_required,
    mine_header,
    target_to_bits,
)

EASY_LIMIT = REGTEST.pow_limit  # 2^255 - 1: about two hashes per block


def _params_with_genesis(base: ChainParams, bits: int, **changes: object) -> ChainParams:
    draft = dataclasses.replace(base, pow_limit=EASY_LIMIT, **changes)  # type: ignore[arg-type]
    genesis = create_genesis_block(b"test " + base.name.encode(), b"\x51", 1_700_000_000, 0, bits)
    mined = mine_header(genesis.header, draft)
    assert mined is not None
    return dataclasses.replace(draft, genesis=dataclasses.replace(genesis, header=mined))


# A testnet3 with cheap proof of work and 10-block periods of 1 s blocks (the retarget multiplies
# the target by up to 40, which must not pass 2^256: Core's arithmetic would wrap, and so does ours).
MINI_TESTNET = _params_with_genesis(TESTNET3, 0x2000FFFF, pow_target_spacing=1, pow_target_timespan=10)
MINI_TESTNET4 = dataclasses.replace(MINI_TESTNET, enforce_bip94=True)
# The devnet's ASERT rules with cheap proof of work.
MINI_DEVNET = _params_with_genesis(DEVNET, get_compact(EASY_LIMIT))


def extend(
    params: ChainParams,
    chain: list[BlockHeader],
    time: int,
    bits: int | None = None,
    version: int = 0x20000000,
) -> BlockHeader:
    """Mines the next header on `chain` (which starts at genesis) with the rule's bits unless given."""
    infos = [HeaderInfo.from_header(h, i) for i, h in enumerate(chain)]
    if bits is None:
        bits = get_next_work_required(params, infos[-1], time, lambda h: infos[h])
    merkle = len(chain).to_bytes(32, "little")
    header = mine_header(BlockHeader(version, chain[-1].hash, merkle, time, bits, 0), params)
    assert header is not None
    chain.append(header)
    return header


def regtest_chain(n: int) -> list[BlockHeader]:
    chain = [REGTEST.genesis.header]
    for i in range(1, n + 1):
        extend(REGTEST, chain, REGTEST.genesis.header.time + 600 * i)
    return chain


def test_regtest_chain_from_genesis() -> None:
    chain = regtest_chain(30)
    seen: list[int] = []
    s = verify_headers(chain, REGTEST, 0, progress=seen.append)
    assert (s.count, s.first_height, s.last_height) == (31, 0, 30)
    assert s.tip_hash == chain[-1].hash
    assert s.chainwork == 31 * block_proof(0x207FFFFF) == 62
    assert (s.checked_pow, s.checked_links, s.checked_bits, s.checked_median_time) == (31, 30, 30, 30)
    assert s.checked_retargets == 0  # regtest never retargets
    assert seen == [31]


def test_run_starting_mid_chain_checks_what_it_can() -> None:
    chain = regtest_chain(30)
    s = verify_headers(chain[5:], REGTEST, 5)
    assert (s.first_height, s.count, s.checked_links) == (5, 26, 25)
    assert s.checked_median_time == 26 - 11  # needs 11 earlier headers in the run
    assert s.chainwork == 26 * 2


def test_broken_link() -> None:
    chain = regtest_chain(12)
    with pytest.raises(HeaderChainError) as e:
        verify_headers(chain[:6] + chain[7:], REGTEST, 0)
    assert (e.value.height, e.value.reason) == (6, "bad-prevblk")


def test_bad_proof_of_work() -> None:
    chain = regtest_chain(5)
    bad = dataclasses.replace(chain[3], nonce=chain[3].nonce)
    nonce = 0
    while int.from_bytes(bad.hash, "little") <= (1 << 255) - 1:
        nonce += 1
        bad = dataclasses.replace(chain[3], nonce=nonce)
    with pytest.raises(HeaderChainError, match="height 3: high-hash"):
        verify_headers([*chain[:3], bad, *chain[4:]], REGTEST, 0)


def test_bits_above_pow_limit_fail_as_high_hash() -> None:
    genesis = REGTEST.genesis.header
    header = BlockHeader(0x20000000, genesis.hash, b"\x00" * 32, genesis.time + 1, 0x2100FFFF, 0)
    with pytest.raises(HeaderChainError, match="height 1: high-hash"):
        verify_headers([genesis, header], REGTEST, 0)


def test_time_too_old() -> None:
    chain = regtest_chain(12)
    times = sorted(h.time for h in chain[1:12])
    extend(REGTEST, chain, times[5])  # equal to the median of the last 11: not after it
    with pytest.raises(HeaderChainError, match="height 13: time-too-old"):
        verify_headers(chain, REGTEST, 0)


def test_bad_version() -> None:
    chain = regtest_chain(2)
    extend(REGTEST, chain, chain[-1].time + 600, version=3)  # BIP65 (v4) is active from height 1
    with pytest.raises(HeaderChainError) as e:
        verify_headers(chain, REGTEST, 0)
    assert (e.value.height, e.value.reason) == (3, "bad-version(0x00000003)")


def test_bad_genesis() -> None:
    chain = regtest_chain(2)
    with pytest.raises(HeaderChainError, match="height 0: bad-genesis"):
        verify_headers(chain[1:], REGTEST, 0)


def test_empty_run_and_negative_height() -> None:
    with pytest.raises(ValueError):
        verify_headers([], REGTEST, 0)
    with pytest.raises(ValueError):
        verify_headers(regtest_chain(1), REGTEST, -1)


# --- Bitcoin retarget and testnet's min-difficulty rule, on 10-block periods --------------------


def mini_testnet_chain(params: ChainParams = MINI_TESTNET) -> list[BlockHeader]:
    g = params.genesis.header
    chain = [g]
    for i in range(1, 10):  # the first period: 9 s over 9 intervals of a 10 s timespan
        extend(params, chain, g.time + i)
    extend(params, chain, chain[-1].time + 1)  # height 10: retarget to 9/10 of the target
    extend(params, chain, chain[-1].time + 1)  # 11
    extend(params, chain, chain[-1].time + 3)  # 12: more than twice the spacing: min difficulty
    extend(params, chain, chain[-1].time + 5)  # 13: again
    extend(params, chain, chain[-1].time + 1)  # 14: back to block 11's bits
    return chain


RETARGET_BITS = target_to_bits((0xFFFF << 232) * 9 // 10)


def test_mini_testnet_rules_are_exercised() -> None:
    chain = mini_testnet_chain()
    limit_bits = get_compact(EASY_LIMIT)
    assert chain[9].bits == chain[0].bits == 0x2000FFFF
    assert chain[10].bits == RETARGET_BITS != 0x2000FFFF
    assert chain[12].bits == chain[13].bits == limit_bits
    assert chain[14].bits == chain[11].bits == chain[10].bits
    s = verify_headers(chain, MINI_TESTNET, 0)
    assert (s.checked_bits, s.checked_retargets, s.checked_timewarp) == (14, 1, 0)


def test_mini_testnet_wrong_retarget_names_height_and_rule() -> None:
    chain = mini_testnet_chain()[:10]
    extend(MINI_TESTNET, chain, chain[-1].time + 1, bits=0x2000FFFF)
    with pytest.raises(HeaderChainError) as e:
        verify_headers(chain, MINI_TESTNET, 0)
    assert str(e.value) == f"height 10: bad-diffbits: expected {RETARGET_BITS:08x}, got 2000ffff"


def test_mini_testnet_min_difficulty_needs_the_time_gap() -> None:
    chain = mini_testnet_chain()[:12]
    extend(MINI_TESTNET, chain, chain[-1].time + 2, bits=get_compact(EASY_LIMIT))
    with pytest.raises(HeaderChainError, match=f"height 12: bad-diffbits: expected {RETARGET_BITS:08x}"):
        verify_headers(chain, MINI_TESTNET, 0)


def test_walk_back_before_the_run_is_not_checked() -> None:
    chain = mini_testnet_chain()
    # From height 13, block 14's walk back needs block 11, which is not in the run.
    s = verify_headers(chain[13:], MINI_TESTNET, 13)
    assert (s.count, s.checked_links, s.checked_bits) == (2, 1, 0)
    s = verify_headers(chain[11:], MINI_TESTNET, 11)
    assert s.checked_bits == 3


def test_retarget_needs_the_period_start() -> None:
    chain = mini_testnet_chain()
    assert verify_headers(chain[1:], MINI_TESTNET, 1).checked_retargets == 0
    assert verify_headers(chain[0:], MINI_TESTNET, 0).checked_retargets == 1


def test_bip94_timewarp_rule() -> None:
    g = MINI_TESTNET4.genesis.header
    chain = [g]
    for i in range(1, 10):
        extend(MINI_TESTNET4, chain, g.time + 200 * i)
    extend(MINI_TESTNET4, chain, chain[-1].time - 601)  # the period's first block, too early
    with pytest.raises(HeaderChainError, match="height 10: time-timewarp-attack"):
        verify_headers(chain, MINI_TESTNET4, 0)
    chain[-1:] = []
    extend(MINI_TESTNET4, chain, chain[-1].time - 600)  # exactly the allowed limit
    assert verify_headers(chain, MINI_TESTNET4, 0).checked_timewarp == 1


# --- ASERT (devnet rules) -----------------------------------------------------------------------


def mini_devnet_chain(n: int, solve_time: int) -> list[BlockHeader]:
    g = MINI_DEVNET.genesis.header
    chain = [g]
    extend(MINI_DEVNET, chain, g.time + 10**6)  # block 1, the anchor: the network starts later
    for _ in range(n - 1):
        extend(MINI_DEVNET, chain, chain[-1].time + solve_time)
    return chain


def test_asert_chain_verifies_and_follows_the_hash_rate() -> None:
    chain = mini_devnet_chain(40, 1)
    assert chain[1].bits == get_compact(EASY_LIMIT)
    assert chain[-1].bits != chain[1].bits
    s = verify_headers(chain, MINI_DEVNET, 0)
    assert s.checked_bits == 40
    assert s.chainwork > 41 * 2


def test_asert_without_the_anchor_is_not_checked() -> None:
    chain = mini_devnet_chain(10, 1)
    assert verify_headers(chain[2:], MINI_DEVNET, 2).checked_bits == 0
    assert verify_headers(chain[1:], MINI_DEVNET, 1).checked_bits == 9


def test_asert_wrong_bits() -> None:
    chain = mini_devnet_chain(10, 1)
    extend(MINI_DEVNET, chain, chain[-1].time + 1, bits=chain[1].bits)
    with pytest.raises(HeaderChainError) as e:
        verify_headers(chain, MINI_DEVNET, 0)
    assert (e.value.height, e.value.reason) == (11, "bad-diffbits")
    assert e.value.detail.endswith(f"got {chain[1].bits:08x}")
