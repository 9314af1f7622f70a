"""The profitability calculator as `/v1/ops/profit` and the dashboard's /profit page serve it: presets
from the ops directory, live inputs from the API's node (cached per tip), measured hash rate."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hashforge.ops.gateway import OpsGateway
from hashforge.ops.profit import presets as presets_mod
from hashforge.ops.profit.presets import PresetError, Presets
from hashforge.ops.profit.service import (
    CalcRequest,
    LiveInputs,
    Report,
    bench_hashrate,
    build,
    live_inputs,
    measured_hashrate,
)
from hashforge.ops.profit.units import InputError
from hashforge.rpcclient import RPCClientError, RPCTransportError

from .errors import NodeFailed, NodeUnavailable, ServiceError

QUERY_NAME = {"price": "price_usd", "fees_per_block": "fees", "merge_price": "merge_price_usd"}
BENCH_SECONDS = 1.0

class BadCalcInput(ServiceError):
    status, kind, title = 400, "bad-calculator-input", "Invalid calculator input"


class BadPresets(ServiceError):
    status, kind, title = 500, "bad-presets", "The presets file is invalid"


def bad_input(e: InputError) -> BadCalcInput:
    return BadCalcInput(f"{QUERY_NAME.get(e.field, e.field)}: {e.message}")


@dataclass
class _LiveCache:
    best: str | None = None
    value: LiveInputs | None = None


def load_presets(ops: OpsGateway) -> Presets:
    try:
        return presets_mod.load_for_ops_dir(ops.dir)
    except PresetError as e:
        raise BadPresets(str(e)) from None


async def node_live(ops: OpsGateway) -> LiveInputs:
    """Live inputs from the API's node, recomputed only when the tip changes."""
    rpc = ops.components.node.rpc
    cache = ops.service("profit-live", lambda _: _LiveCache())
    try:
        best = await rpc.call("getbestblockhash")
        if cache.best != best or cache.value is None:
            cache.value, cache.best = await live_inputs(rpc.call, "node", coin=ops.params.coin), best
    except RPCTransportError:
        raise NodeUnavailable("The node did not answer; it may be starting or stopped.") from None
    except RPCClientError as e:
        raise NodeFailed(f"The node refused {e.method} (code {e.code}).") from None
    return cache.value


async def report(ops: OpsGateway, req: CalcRequest, *, live: bool, measured: bool) -> Report:
    """The calculation the API and the dashboard serve (raises BadCalcInput, node problems)."""
    presets = load_presets(ops)
    live_in = await node_live(ops) if live else None
    rate = await measured_hashrate(ops.components) if measured and not req.hashrate else None
    try:
        return await asyncio.to_thread(build, req, presets, live_in, rate,
                                       lambda algo: bench_hashrate(algo, BENCH_SECONDS))
    except InputError as e:
        raise bad_input(e) from None


