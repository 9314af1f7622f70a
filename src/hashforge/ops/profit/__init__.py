"""Profitability: expected coins per day, revenue, cost, profit, break-even and projections.

`calc` is the pure calculator, `presets` the hardware/coin data (presets.toml, user-extendable),
`service` turns user text + live node data + measured hash rate into a calculation, `cli` is
`hashforge calc`.
"""

from __future__ import annotations

from .calc import Chain, Inputs, Projection, Result, calculate, hashes_per_block, project
from .presets import PresetError, Presets
from .service import CalcRequest, LiveInputs, Report, build, compare, live_inputs, measured_hashrate
from .units import InputError

__all__ = [
    "CalcRequest", "Chain", "InputError", "Inputs", "LiveInputs", "PresetError", "Presets", "Projection", "Report",
    "Result", "build", "calculate", "compare", "hashes_per_block", "live_inputs", "measured_hashrate", "project",
]
