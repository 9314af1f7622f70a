"""`/v1/miner`: a miner over its cgminer API (`hashforge mine --api-listen`, cgminer, ASIC firmware).
Reads need read access; pool switching and enabling need the control scope. The cgminer API has no
throttle command, so duty cycle and throttle state are reported, not set (`hashforge mine --max-load`)."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Path, Request

from hashforge.httpedge.access import ControlAccess
from hashforge.httpedge.lookups import get_components
from hashforge.services import miner as service
from hashforge.services.gateways.miner import MinerGateway, MinerReply
from hashforge.services.miner_models import Action, Device, HashRate, MinerPool, MinerSummary
from hashforge.services.paging import Page

from ..errors import NotFound, problem_responses
from ..pagination import Cursor, Limit

router = APIRouter(responses=problem_responses(502, 503))
PoolId = Annotated[int, Path(ge=0, le=9999, description="The miner's pool number (cgminer's POOL).")]


def get_miner(request: Request) -> MinerGateway:
    gateway = get_components(request).gateway("miner")
    if gateway is None:
        raise NotFound("No miner is attached to this API.")
    return cast(MinerGateway, gateway)


MinerDep = Annotated[MinerGateway, Depends(get_miner)]


@router.get("/summary", summary="Hash rate (5 s, 1 min, 5 min, 15 min, average), shares, errors")
async def summary(miner: MinerDep) -> MinerSummary:
    return await service.summary(miner)


@router.get("/hashrate", summary="The miner's hash rate over 5 s, 1 min, 5 min, 15 min and since it started")
async def rate(miner: MinerDep) -> HashRate:
    return await service.rate(miner)


@router.get("/devices", summary="Devices (CPU, GPU, ...): state, temperature, hash rate, shares",
            responses=problem_responses(400))
async def devices(miner: MinerDep, cursor: Cursor = None, limit: Limit = 20) -> Page[Device]:
    return await service.devices(miner, cursor, limit)


@router.get("/pools", summary="The miner's pools, in its priority order", responses=problem_responses(400))
async def pools(miner: MinerDep, cursor: Cursor = None, limit: Limit = 20) -> Page[MinerPool]:
    return await service.pools(miner, cursor, limit)


def _action(reply: MinerReply) -> Action:
    return Action(ok=True, changed=reply.status == "S", message=" ".join(reply.message.split())[:300])


@router.post("/pools/{pool_id}/switch", summary="Mine on this pool first (control scope)",
             responses=problem_responses(404))
async def switch_pool(miner: MinerDep, pool_id: PoolId, _: ControlAccess) -> Action:
    return _action(await miner.pool_action("switchpool", pool_id))


@router.post("/pools/{pool_id}/enable", summary="Enable a pool (control scope)", responses=problem_responses(404))
async def enable_pool(miner: MinerDep, pool_id: PoolId, _: ControlAccess) -> Action:
    return _action(await miner.pool_action("enablepool", pool_id))


@router.post("/pools/{pool_id}/disable", summary="Disable a pool; the last enabled one cannot be (control scope)",
             responses=problem_responses(404, 409))
async def disable_pool(miner: MinerDep, pool_id: PoolId, _: ControlAccess) -> Action:
    return _action(await miner.pool_action("disablepool", pool_id))
