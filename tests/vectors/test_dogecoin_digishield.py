"""Dogecoin's retarget on Dogecoin Core's own cases from real mainnet blocks
(tests/data/dogecoin/core_retarget_vectors.json, cited in tests/data/dogecoin/README.md): the limit at
height 239, the 240-block era at 9,599, and DigiShield from its start at 145,000 through its clamps,
both through hashforge's CalculateDogecoinNextWorkRequired and through the whole GetNextWorkRequired
(which picks the interval and asks for the period's first block itself)."""

from __future__ import annotations

from typing import Any

import pytest

from hashforge.consensus.params import DOGECOIN
from hashforge.consensus.pow import HeaderInfo, dogecoin_calculate_next_work, get_next_work_required
from tests.vectorfiles import load_json

CASES: list[dict[str, Any]] = load_json("dogecoin/core_retarget_vectors.json")["cases"]
BY_NAME = {c["case"]: c for c in CASES}
DIGISHIELD_START = 145_000


def _last(case: dict[str, Any]) -> HeaderInfo:
    return HeaderInfo(case["last_height"], case["last_time"], int(case["last_bits"], 16))


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_calculate_next_work_matches_dogecoin_core(case: dict[str, Any]) -> None:
    assert f"{dogecoin_calculate_next_work(_last(case), case['first_time'], DOGECOIN):08x}" == case["next_bits"]


@pytest.mark.parametrize("case", [c for c in CASES if c["last_height"] >= DIGISHIELD_START],
                         ids=[c["case"] for c in CASES if c["last_height"] >= DIGISHIELD_START])
def test_digishield_retargets_every_block_on_its_parent(case: dict[str, Any]) -> None:
    """From 145,000 on the interval is one block: the period's first block is the last one's parent."""
    asked: list[int] = []

    def ancestor(height: int) -> HeaderInfo:
        asked.append(height)
        return HeaderInfo(height, case["first_time"], 0)

    last = _last(case)
    assert f"{get_next_work_required(DOGECOIN, last, last.time + 60, ancestor):08x}" == case["next_bits"]
    assert asked == [last.height - 1]


def test_across_the_digishield_start() -> None:
    """The era of the new block decides (Core: GetConsensus(height) with hardfork_parameters' 60 s
    timespan from 145,000): block 144,999 is mid-period under the 240-block rule and keeps its parent's
    bits without looking back; block 145,000 already retargets on its parent. Then blocks 145,000 ..
    145,002 as Core's cases give them, chained: the bits computed for 145,001 are the ones its own
    retarget starts from, and both match Dogecoin Core."""
    first, second = BY_NAME["get_next_work_digishield"], BY_NAME["get_next_work_digishield_rounding"]
    times = {DIGISHIELD_START - 1: first["first_time"], DIGISHIELD_START: first["last_time"],
             DIGISHIELD_START + 1: second["last_time"]}
    asked: list[int] = []

    def ancestor(height: int) -> HeaderInfo:
        asked.append(height)
        return HeaderInfo(height, times.get(height, times[DIGISHIELD_START - 1] - 60), 0)

    bits = int(first["last_bits"], 16)
    mid_period = HeaderInfo(DIGISHIELD_START - 2, times[DIGISHIELD_START - 1] - 60, bits)
    assert get_next_work_required(DOGECOIN, mid_period, times[DIGISHIELD_START - 1], ancestor) == bits
    assert asked == []  # (144,999 % 240 = 39: no retarget, nothing looked up)
    get_next_work_required(DOGECOIN, HeaderInfo(DIGISHIELD_START - 1, times[DIGISHIELD_START - 1], bits),
                           times[DIGISHIELD_START], ancestor)
    assert asked == [DIGISHIELD_START - 2]  # 145,000: DigiShield, one block back

    block_145000 = HeaderInfo(DIGISHIELD_START, times[DIGISHIELD_START], bits)
    bits_145001 = get_next_work_required(DOGECOIN, block_145000, times[DIGISHIELD_START + 1], ancestor)
    assert f"{bits_145001:08x}" == first["next_bits"] == second["last_bits"]
    block_145001 = HeaderInfo(DIGISHIELD_START + 1, times[DIGISHIELD_START + 1], bits_145001)
    assert f"{get_next_work_required(DOGECOIN, block_145001, block_145001.time + 60, ancestor):08x}" \
        == second["next_bits"]
