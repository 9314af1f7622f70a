"""Calculations as JSON-ready dicts (CLI `--json` and the API's models share them): Decimals as
text rounded to 12 significant digits, satoshis as integers, never floats."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .calc import sig, to_json
from .presets import Presets
from .service import CompareRow, Report


def report_json(r: Report) -> dict[str, Any]:
    """The calculation as JSON: Decimals as text (12 significant digits), satoshis as integers;
    `coin` is the ticker of every coin figure of `result`, `merged` the per-coin merged revenue."""
    i = r.inputs
    return {
        "hardware": None if r.hardware is None else {
            "key": r.hardware.key, "name": r.hardware.name, "algorithm": r.hardware.algorithm},
        "algorithm": r.algorithm,
        "inputs": {
            "hashrate_hps": sig(i.hashrate_hps), "power_w": sig(i.power_w), "difficulty": sig(i.difficulty),
            "subsidy_sat": i.subsidy_sat, "fees_sat": i.fees_sat, "price_usd": sig(i.price),
            "electricity_usd_per_kwh": sig(i.electricity), "pool_fee_pct": sig(i.pool_fee_pct),
            "hardware_cost_usd": sig(i.hardware_cost),
        },
        "sources": r.sources,
        "result": to_json(r.result),
        "chain": {"height": r.chain.height, "halving_interval": r.chain.halving_interval,
                  "block_time_s": r.chain.block_time_s},
        "live": None if r.live is None else to_json(r.live),
        "projection": to_json(r.projection),
        "notes": r.notes,
        "coin": r.symbol,
        "merged": None if r.merged is None else {**to_json(r.merged), "sources": r.merge_sources},
    }


def compare_json(algorithm: str, hashrate_hps: Decimal, power_w: Decimal, rows: list[CompareRow]) -> dict[str, Any]:
    return {
        "algorithm": algorithm, "hashrate_hps": sig(hashrate_hps), "power_w": sig(power_w),
        "coins": [{"coin": r.coin.key, "name": r.coin.name, "symbol": r.coin.symbol, "algorithm": r.coin.algorithm,
                   "mineable": r.mineable, "reason": r.reason, "as_of": r.coin.as_of,
                   "result": None if r.result is None else to_json(r.result)} for r in rows],
    }


def presets_json(p: Presets) -> dict[str, Any]:
    return {"hardware": [{**to_json(h), "measured": h.measured} for h in p.hardware.values()],
            "coins": [to_json(c) for c in p.coins.values()]}
