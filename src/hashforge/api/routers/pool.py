"""`/v1/pool`: the pool, read over its own REST API (`hashforge pool --api-port`), reshaped to our
conventions (cursor pages, declared models, problem+json). Mounted only when `--pool-api` is given.

The reads themselves are hashforge.services.pool (the dashboard shows the same); here: HTTP only.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Path, Query, Request

from hashforge.httpedge.lookups import NodeDep, get_components
from hashforge.services import pool as service
from hashforge.services.gateways.pool import MAX_WINDOW, PoolGateway
from hashforge.services.paging import Page
from hashforge.services.pool_models import (
    Earnings,
    HashratePoint,
    MinerStats,
    Payment,
    PoolBlock,
    PoolStats,
    Worker,
    WorkerDetail,
)

from ..deps import SettingsDep
from ..errors import NotFound, problem_responses
from ..pagination import Cursor, Limit
from . import contracts

router = APIRouter(responses=problem_responses(502, 503))
router.include_router(contracts.router)  # /v1/pool/contracts

Window = Annotated[int, Query(ge=60, le=MAX_WINDOW, description="Seconds the hash rate is averaged over.")]
AddressPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{14,128}$", description="A payout address.")]
WorkerPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9]{14,128}\.[A-Za-z0-9_-]{1,64}$", description="ADDRESS.worker")
]


def get_pool(request: Request) -> PoolGateway:
    gateway = get_components(request).gateway("pool")
    if gateway is None:  # the router is only mounted with a gateway; defensive
        raise NotFound("No pool is attached to this API.")
    return cast(PoolGateway, gateway)


PoolDep = Annotated[PoolGateway, Depends(get_pool)]


@router.get("/stats", summary="Pool hash rate, miners, workers, blocks, round effort")
async def stats(pool: PoolDep, window: Window = 600) -> PoolStats:
    return await service.stats(pool, window)


@router.get("/workers", summary="Workers seen in the last day, by name", responses=problem_responses(400))
async def workers(pool: PoolDep, cursor: Cursor = None, limit: Limit = 20, window: Window = 600) -> Page[Worker]:
    return await service.workers(pool, cursor, limit, window)


@router.get("/workers/{name}", summary="One worker: rate, status, its address's balance, its blocks",
            responses=problem_responses(404))
async def worker(pool: PoolDep, name: WorkerPath, window: Window = 600) -> WorkerDetail:
    return await service.worker(pool, name, window)


@router.get("/miners/{address}", summary="One payout address: rate, balance, workers, recent blocks and payments",
            responses=problem_responses(404))
async def miner(pool: PoolDep, address: AddressPath, window: Window = 600) -> MinerStats:
    return await service.miner(pool, address, window)


@router.get("/blocks", summary="Blocks the pool found, newest first", responses=problem_responses(400))
async def blocks(pool: PoolDep, cursor: Cursor = None, limit: Limit = 20) -> Page[PoolBlock]:
    return await service.blocks(pool, cursor, limit)


@router.get("/payments", summary="Payout transactions, newest first", responses=problem_responses(400))
async def payments(pool: PoolDep, cursor: Cursor = None, limit: Limit = 20) -> Page[Payment]:
    return await service.payments(pool, cursor, limit)


@router.get("/hashrate", summary="Pool (or one address's) hash rate per bucket, newest first",
            responses=problem_responses(400))
async def hashrate(
    pool: PoolDep, cursor: Cursor = None, limit: Limit = 20,
    bucket: Annotated[int, Query(ge=10, le=86400, description="Seconds per point.")] = 600,
    address: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9]{14,128}$", description="Only this address.")] = None,
) -> Page[HashratePoint]:
    return await service.hashrate(pool, cursor, limit, bucket, address)


@router.get("/earnings", summary="Estimated earnings at the pool's hash rate (or a given one)")
async def earnings(
    pool: PoolDep, node: NodeDep, settings: SettingsDep, window: Window = 600,
    hashrate_hps: Annotated[float | None, Query(ge=0, le=1e24, description="Estimate for this rate instead.")] = None,
) -> Earnings:
    return await service.earnings(pool, node, settings.network, window, hashrate_hps)
