"""aserti3-2d: BCH's published test vectors, and how our devnets' difficulty follows the hash rate."""

from __future__ import annotations

import itertools

import pytest

from hashforge.consensus.params import DEVNET, SCRYPTNET, ChainParams
from hashforge.consensus.pow import (
    HeaderInfo,
    asert_target,
    bits_to_target,
    get_compact,
    get_next_work_required,
)

# BCH's aserti3-2d test vectors (bitcoin-cash-node qa-assets, test_vectors/aserti3-2d, run01..run10),
# all for 600 s spacing, a 2-day half-life and BCH's pow_limit. Rows are independent (ASERT is
# stateless beyond the anchor), so a selection of rows from each run is checked here:
# run -> ((anchor height, anchor parent time, anchor nBits), [(height, time, expected nBits)]).
BCH_SPACING = 600
BCH_HALF_LIFE = 2 * 24 * 3600
BCH_POW_LIMIT = (1 << 224) - 1

ASERT_VECTORS: dict[str, tuple[tuple[int, int, int], list[tuple[int, int, int]]]] = {
    "run01 steady 600 s blocks at the pow limit": (
        (1, 0, 0x1D00FFFF),
        [(2, 1200, 0x1D00FFFF), (3, 1800, 0x1D00FFFF), (7, 4200, 0x1D00FFFF), (11, 6600, 0x1D00FFFF)],
    ),
    "run02 steady 600 s blocks at 0x1a2b3c4d": (
        (1, 0, 0x1A2B3C4D),
        [(2, 1200, 0x1A2B3C4D), (6, 3600, 0x1A2B3C4D), (11, 6600, 0x1A2B3C4D)],
    ),
    "run03 steady 600 s blocks at the minimum target": (
        (1, 0, 0x01010000),
        [(2, 1200, 0x01010000), (11, 6600, 0x01010000)],
    ),
    "run04 half-life schedule jumps from the minimum target": (
        (1, 0, 0x01010000),
        [
            (2, 174000, 0x01020000),
            (3, 347400, 0x01040000),
            (7, 1041000, 0x01400000),
            (8, 1214400, 0x02008000),
            (101, 17340600, 0x0D100000),
            (200, 34507200, 0x1A008000),
            (224, 38668800, 0x1D008000),
            (225, 38842200, 0x1D00FFFF),
            (226, 39015600, 0x1D00FFFF),
        ],
    ),
    "run05 half-life height jumps without time from the pow limit": (
        (1, 0, 0x1D00FFFF),
        [
            (2, 0, 0x1D00FEC5),
            (290, 0, 0x1C7F62C0),
            (578, 0, 0x1C3FB160),
            (2306, 0, 0x1C00FEC5),
            (2594, 0, 0x1B7F62C0),
            (59906, 0, 0x0300FEC5),
            (60194, 0, 0x027F6200),
            (62210, 0, 0x0200FE00),
            (62498, 0, 0x017F0000),
            (63938, 0, 0x01030000),
            (64226, 0, 0x01010000),
            (64514, 0, 0x01010000),
        ],
    ),
    "run06 random solve times, stable hash rate": (
        (1, 0, 0x1802AEE8),
        [
            (2, 1200, 0x1802AEE8),
            (3, 1310, 0x1802AD91),
            (4, 1327, 0x1802ABF8),
            (9, 7099, 0x1802B39C),
            (10, 7099, 0x1802B1F2),
            (68, 43493, 0x1802B663),
            (126, 77005, 0x1802B2CB),
            (152, 88867, 0x1802A887),
            (301, 191306, 0x1802CD1D),
            (552, 338121, 0x1802C249),
            (607, 372218, 0x1802C568),
            (620, 378438, 0x1802C0EC),
        ],
    ),
    "run07 random solve times, rising hash rate": (
        (1, 0, 0x1802AEE8),
        [
            (12, 8141, 0x1802B181),
            (50, 16870, 0x18028BBB),
            (159, 22691, 0x1802011D),
            (160, 22709, 0x1801FFEA),
            (458, 29033, 0x1801004A),
            (459, 29064, 0x1800FFB4),
            (638, 31020, 0x1800A788),
        ],
    ),
    "run08 random solve times, falling hash rate": (
        (1, 0, 0x1802AEE8),
        [
            (22, 33606, 0x1802E994),
            (187, 1078358, 0x19008158),
            (281, 2529858, 0x1A00881C),
            (426, 5430357, 0x1C00A57C),
            (481, 6842136, 0x1D00A31A),
            (484, 6930238, 0x1D00E688),
            (485, 6993399, 0x1D00FFFF),
            (501, 7462933, 0x1D00FFFF),
        ],
    ),
    "run09 300 s blocks across the signed 32-bit height limit": (
        (2147483642, 1234567290, 0x1802AEE8),
        [
            (2147483643, 1234568190, 0x1802AE16),
            (2147483647, 1234569390, 0x1802AACD),
            (2147483648, 1234569690, 0x1802A9FA),
            (2147483652, 1234570890, 0x1802A6B7),
        ],
    ),
    "run10 900 s blocks across the signed 64-bit height and 32-bit time limits": (
        (9223372036854775802, 2147483047, 0x1802AEE8),
        [
            (9223372036854775803, 2147484547, 0x1802AFBB),
            (9223372036854775807, 2147488147, 0x1802B30E),
            (9223372036854775808, 2147489047, 0x1802B3E5),
            (9223372036854775812, 2147492647, 0x1802B73D),
        ],
    ),
}


@pytest.mark.parametrize("run", sorted(ASERT_VECTORS))
def test_bch_aserti3_2d_vectors(run: str) -> None:
    (anchor_height, anchor_parent_time, anchor_bits), rows = ASERT_VECTORS[run]
    for height, time, expected in rows:
        target = asert_target(
            bits_to_target(anchor_bits),
            anchor_parent_time,
            anchor_height,
            time,
            height,
            BCH_SPACING,
            BCH_HALF_LIFE,
            BCH_POW_LIMIT,
        )
        assert get_compact(target) == expected, (run, height, time)


def test_exponent_truncates_toward_zero_like_cpp() -> None:
    # One block at time 0: exponent = -1200 * 65536 / 172800 = -455.1 -> -455 (C++), not -456.
    target = asert_target(bits_to_target(0x1D00FFFF), 0, 1, 0, 2, 600, 172800, BCH_POW_LIMIT)
    assert get_compact(target) == 0x1D00FEC5


def test_one_half_life_off_schedule_halves_or_doubles_exactly() -> None:
    ref = 1 << 200
    args = dict(anchor_parent_time=0, anchor_height=1, target_spacing=30, half_life=600, pow_limit=1 << 230)
    on_time = asert_target(ref, eval_time=30 * 11, eval_height=11, **args)  # type: ignore[arg-type]
    behind = asert_target(ref, eval_time=30 * 11 + 600, eval_height=11, **args)  # type: ignore[arg-type]
    ahead = asert_target(ref, eval_time=30 * 11 - 600, eval_height=11, **args)  # type: ignore[arg-type]
    assert (on_time, behind, ahead) == (ref, 2 * ref, ref // 2)


def test_target_is_clamped_to_one_and_pow_limit() -> None:
    assert asert_target(1, 0, 1, 0, 10**6, 600, 3600, BCH_POW_LIMIT) == 1
    assert asert_target(BCH_POW_LIMIT, 0, 1, 10**9, 2, 600, 3600, BCH_POW_LIMIT) == BCH_POW_LIMIT
    with pytest.raises(ValueError):
        asert_target(0, 0, 1, 0, 2, 600, 3600, BCH_POW_LIMIT)


# --- our devnets ---------------------------------------------------------------------------------


def _devnet_chain(params: ChainParams, solve_times: list[int]) -> list[HeaderInfo]:
    """Heights 0..n with the given solve times after block 1, each carrying the bits ASERT asks for."""
    genesis = params.genesis.header
    chain = [HeaderInfo(0, genesis.time, genesis.bits)]
    block1_time = genesis.time + 86400 * 365  # the network starts long after its genesis
    lookup = lambda h: chain[h]  # noqa: E731
    times = [block1_time]
    for dt in solve_times:
        times.append(times[-1] + dt)
    for t in times:
        bits = get_next_work_required(params, chain[-1], t, lookup)
        chain.append(HeaderInfo(len(chain), t, bits))
    return chain


@pytest.mark.parametrize("params", [DEVNET, SCRYPTNET], ids=lambda p: p.name)
def test_devnet_starts_at_pow_limit_and_holds_it_on_schedule(params: ChainParams) -> None:
    chain = _devnet_chain(params, [30] * 50)
    limit_bits = get_compact(params.pow_limit)
    assert chain[1].bits == limit_bits  # block 1, the anchor, is mined at pow_limit
    assert all(info.bits == limit_bits for info in chain), "30 s blocks keep the easiest target"


@pytest.mark.parametrize("params", [DEVNET, SCRYPTNET], ids=lambda p: p.name)
def test_devnet_faster_blocks_raise_difficulty(params: ChainParams) -> None:
    chain = _devnet_chain(params, [1] * 100)
    targets = [bits_to_target(i.bits) for i in chain[2:]]
    assert all(b < a for a, b in itertools.pairwise(targets)), "each fast block lowers the target"
    # 100 blocks 29 s early each: ~2900 s ahead of schedule, ~4.8 half-lives, target / ~28.
    ratio = bits_to_target(chain[1].bits) / targets[-1]
    assert 2 ** 4.7 < ratio < 2 ** 4.9


def test_devnet_slower_blocks_lower_difficulty_back_to_the_limit() -> None:
    chain = _devnet_chain(DEVNET, [1] * 100 + [300] * 9)
    # chain[102] came 300 s after its parent: from chain[103] on each target reflects a slow block.
    targets = [bits_to_target(i.bits) for i in chain[102:]]
    assert all(b > a for a, b in itertools.pairwise(targets)), "each slow block raises the target"
    recovered = _devnet_chain(DEVNET, [1] * 100 + [600] * 20)
    assert recovered[-1].bits == get_compact(DEVNET.pow_limit)


def test_devnet_schedule_starts_at_block_one_not_genesis() -> None:
    # Genesis is a year older than block 1 here; a genesis anchor would pin the target at the
    # limit for good. With block 1 as the anchor, fast blocks still raise the difficulty.
    chain = _devnet_chain(DEVNET, [10] * 20)
    assert bits_to_target(chain[-1].bits) < DEVNET.pow_limit // 1.5


def test_devnet_asert_needs_the_anchor() -> None:
    last = HeaderInfo(10, 10**9, 0x1E3FFFFF)

    def no_ancestors(height: int) -> HeaderInfo:
        raise KeyError(height)

    with pytest.raises(LookupError):
        get_next_work_required(DEVNET, last, 10**9 + 30, no_ancestors)
