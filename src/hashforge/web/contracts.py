"""Dashboard pages: cloud-mining contracts. /contracts is the operator's view (capacity gauge: sold
against the farm's measured hash rate; contracts; the allocation journal), /contracts/customers/ID
the operator's view of one customer, and /contracts/me a customer's own view (customer key only)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from hashforge.httpedge.access import CUSTOMER_ROUTE, CustomerAccess, ReadAccess
from hashforge.httpedge.lookups import ComponentsDep
from hashforge.services.errors import NotFound, ServiceError
from hashforge.services.gateways.pool import PoolGateway

router = APIRouter(include_in_schema=False)


async def _get(pool: PoolGateway, path: str, params: dict[str, Any] | None = None) -> Any:
    try:
        return await pool.contracts("GET", path, params)
    except NotFound:
        raise
    except ServiceError:
        return None


@router.get("/contracts", response_class=HTMLResponse)
async def operator(request: Request, _: ReadAccess, components: ComponentsDep) -> HTMLResponse:
    from .render import page

    pool: PoolGateway | None = components.gateway("pool")
    if pool is None:
        return page(request, "contracts.html", nav="contracts", capacity=None, contracts=None, periods=None)
    capacity, contracts, periods, stats = await asyncio.gather(
        _get(pool, "/capacity"), _get(pool, ""), _get(pool, "/periods", {"limit": 20}), _safe_stats(pool))
    scheme = (stats or {}).get("scheme")
    return page(request, "contracts.html", nav="contracts", capacity=capacity, contracts=contracts,
                 periods=periods, now=time.time(), scheme=scheme)


async def _safe_stats(pool: PoolGateway) -> dict[str, Any] | None:
    try:
        return await pool.stats()
    except ServiceError:
        return None


async def _customer_page(request: Request, components: Any, customer_id: str, own: bool) -> HTMLResponse:
    from .render import page

    pool: PoolGateway | None = components.gateway("pool")
    if pool is None:
        return page(request, "contracts_customer.html", nav="contracts", customer=None, own=own)
    try:
        customer = await _get(pool, f"/customers/{customer_id}")
    except NotFound:
        return page(request, "missing.html", 404, nav="contracts", what=f"customer {customer_id}")
    allocations: dict[int, Any] = {}
    if customer is not None:
        rows = await asyncio.gather(*(_get(pool, f"/{c['id']}/allocations", {"limit": 10})
                                      for c in customer["contracts"]))
        allocations = {c["id"]: r or [] for c, r in zip(customer["contracts"], rows, strict=True)}
    return page(request, "contracts_customer.html", nav="contracts", customer=customer, own=own,
                 allocations=allocations)


@router.get("/contracts/me", response_class=HTMLResponse, openapi_extra=CUSTOMER_ROUTE)
async def mine(request: Request, customer: CustomerAccess, components: ComponentsDep) -> HTMLResponse:
    return await _customer_page(request, components, customer, own=True)


@router.get("/contracts/customers/{customer_id}", response_class=HTMLResponse)
async def customer_view(request: Request, _: ReadAccess, components: ComponentsDep,
                        customer_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]) -> HTMLResponse:
    return await _customer_page(request, components, customer_id, own=False)
