"""/v1/ops/profit: the profitability calculator (hashforge.ops.profit) over query parameters, its
presets, the coin comparison and the live inputs (our node's difficulty/subsidy/fees, our pool's or
miner's measured hash rate). Bad input is a 400 problem naming the parameter."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query

from hashforge.httpedge.access import ReadAccess
from hashforge.ops.profit import units
from hashforge.ops.profit.jsonview import compare_json, presets_json, report_json
from hashforge.ops.profit.service import CalcRequest, compare, comparison_machine, measured_hashrate
from hashforge.ops.profit.units import InputError
from hashforge.services.ops_profit import BENCH_SECONDS, bad_input, load_presets, node_live, report

from ..errors import problem_responses
from .ops_deps import OpsDep
from .ops_profit_models import Comparison, PresetList, ProfitReport
from .ops_profit_models import LiveInputs as LiveModel

router = APIRouter(tags=["ops"], responses=problem_responses(400, 422))
Text = Annotated[str | None, Query(max_length=64)]
Months = Annotated[int, Query(ge=1, le=240, description="Projection length in months.")]


@router.get("", summary="Profitability of a machine: coins/day, revenue, cost, profit, break-even, projection",
            responses=problem_responses(500, 502, 503))
async def profit(
    _: ReadAccess, ops: OpsDep,
    preset: Annotated[str | None, Query(max_length=64, description="Hardware preset key (see /presets).")] = None,
    hashrate: Annotated[str | None, Query(max_length=64, description="e.g. 200TH/s; overrides the preset.")] = None,
    power: Annotated[str | None, Query(max_length=64, description="e.g. 3500W.")] = None,
    difficulty: Annotated[str | None, Query(max_length=64, description="Default: the node's.")] = None,
    subsidy: Annotated[str | None, Query(max_length=64, description="Coins per block; default: the node's next.")] = None,
    fees: Annotated[str | None, Query(max_length=64, description="Coins per block; default: recent average.")] = None,
    price_usd: Annotated[str | None, Query(max_length=64, description="Coin price; default: reference.")] = None,
    electricity: Annotated[str | None, Query(max_length=64, description="USD per kWh; default 0.10.")] = None,
    pool_fee: Annotated[str | None, Query(max_length=64, description="Percent.")] = None,
    hardware_cost: Annotated[str | None, Query(max_length=64, description="USD, for break-even days.")] = None,
    coin: Annotated[str | None, Query(max_length=16, description="Reference coin for missing figures.")] = None,
    growth: Annotated[str | None, Query(max_length=64, description="Difficulty growth per month, percent.")] = None,
    months: Months = 12,
    live: Annotated[bool, Query(description="Take difficulty, subsidy and fees from the node.")] = True,
    measured: Annotated[bool, Query(description="Use our pool's/miner's hash rate when none is given.")] = False,
    merge: Annotated[str | None, Query(max_length=16, description="Merge-mined aux coin (doge with ltc).")] = None,
    merge_difficulty: Annotated[str | None, Query(max_length=64, description="Aux chain difficulty.")] = None,
    merge_subsidy: Annotated[str | None, Query(max_length=64, description="Aux coins per block.")] = None,
    merge_fees: Annotated[str | None, Query(max_length=64, description="Aux coins of fees per block.")] = None,
    merge_price_usd: Annotated[str | None, Query(max_length=64, description="Aux coin price.")] = None,
) -> ProfitReport:
    req = CalcRequest(preset=preset, hashrate=hashrate, power=power, difficulty=difficulty, subsidy=subsidy,
                      fees=fees, price=price_usd, electricity=electricity, pool_fee=pool_fee,
                      hardware_cost=hardware_cost, coin=coin, months=months, growth=growth, merge=merge,
                      merge_difficulty=merge_difficulty, merge_subsidy=merge_subsidy, merge_fees=merge_fees,
                      merge_price=merge_price_usd)
    r = await report(ops, req, live=live, measured=measured)
    return ProfitReport.model_validate(report_json(r))


@router.get("/presets", summary="Hardware and coin presets (shipped, plus OPS_DIR/presets.toml)")
async def presets(_: ReadAccess, ops: OpsDep) -> PresetList:
    return PresetList.model_validate(presets_json(load_presets(ops)))


@router.get("/compare", summary="Coins/algorithms compared for one machine (SHA-256d vs scrypt chains)")
async def compare_coins(
    _: ReadAccess, ops: OpsDep,
    preset: Text = None, hashrate: Text = None, power: Text = None,
    algorithm: Annotated[str | None, Query(pattern="^(sha256d|scrypt)$")] = None,
    electricity: Annotated[str, Query(max_length=64)] = "0.10",
    pool_fee: Annotated[str, Query(max_length=64)] = "0",
) -> Comparison:
    p = load_presets(ops)
    try:
        algo, rate, watts = await asyncio.to_thread(
            comparison_machine, p, preset, hashrate, power, algorithm, BENCH_SECONDS)
        rows = compare(p, algo, rate, watts, units.money("electricity", electricity),
                       units.percent("pool_fee", pool_fee))
    except InputError as e:
        raise bad_input(e) from None
    return Comparison.model_validate(compare_json(algo, rate, watts, rows))


@router.get("/live", summary="Live inputs: the node's difficulty, next subsidy, recent fees; measured hash rate",
            responses=problem_responses(502, 503))
async def live_endpoint(_: ReadAccess, ops: OpsDep) -> LiveModel:
    from hashforge.ops.profit.calc import to_json

    li = await node_live(ops)
    rate = await measured_hashrate(ops.components)
    return LiveModel.model_validate({"live": to_json(li), "measured_hashrate_hps": None if rate is None else rate[0],
                                     "measured_source": None if rate is None else rate[1]})
