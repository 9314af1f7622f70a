"""The pool's REST routes for contracts (`/pool/contracts`, mounted by pool/api.py behind its guard:
the pool's cookie, loopback Host, no foreign Origin, JSON writes; the public `/v1/pool/contracts` API
in front of it checks keys and customer bindings). Numbers are bounded here (422, never a 500).

GET  /pool/contracts                         all contracts (or ?customer=ID)
POST /pool/contracts                         sell one (400 bad input, 409 over capacity/no farm)
GET  /pool/contracts/capacity                farm hash rate (measured, asserted, sellable) vs sold
GET  /pool/contracts/farm, PUT .../farm      the operator's farm addresses, capacity, window
GET  /pool/contracts/periods                 the allocation journal by period (audit)
GET  /pool/contracts/customers/{id}          a customer's contracts, earnings, balances, payouts
GET  /pool/contracts/{id}                    one contract with delivered hash rate and earnings
POST /pool/contracts/{id}/cancel             stops accruing now
GET  /pool/contracts/{id}/allocations        that contract's journal rows
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from . import book
from . import farm as farms
from .errors import ContractError

T = TypeVar("T")
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**62)]


ContractId = Annotated[int, Path(ge=1, le=2**63 - 1)]  # SQLite's integer range: beyond it a 422, not an overflow


class SaleIn(BaseModel):
    """Every number is bounded here, so nothing out of range reaches the database (a 422, never a 500)."""

    customer_id: str = Field(max_length=64)
    customer_name: str = Field(max_length=128)
    payout_address: str = Field(max_length=128)
    hashrate_hps: int = Field(gt=0, le=book.MAX_HASHRATE)
    days: int = Field(ge=1, le=book.MAX_DAYS)
    start_time: float | None = Field(default=None, ge=book.EARLIEST_TIME, le=book.LATEST_TIME, allow_inf_nan=False)
    price_sat: int | None = Field(default=None, ge=0, le=book.MAX_SAT)
    price_fiat: Decimal | None = Field(default=None, ge=0, max_digits=30, allow_inf_nan=False)
    fiat_currency: str | None = Field(default=None, max_length=8)
    fee_sat_per_day: int = Field(default=0, ge=0, le=book.MAX_FEE_PER_DAY)
    fee_percent: Decimal = Field(default=Decimal(0), ge=0, lt=100, max_digits=12, allow_inf_nan=False)


class FarmIn(BaseModel):
    addresses: list[str] = Field(min_length=1, max_length=100)
    capacity_hps: int | None = Field(default=None, gt=0, le=book.MAX_HASHRATE)
    window_s: int = Field(default=farms.DEFAULT_WINDOW, ge=600, le=30 * 86400)


def contracts_router(engine: Engine, *, scrypt: bool, valid_address: Callable[[str], bool]) -> APIRouter:
    router = APIRouter(prefix="/contracts", tags=["contracts"])

    async def read(fn: Callable[..., T], *args: Any) -> T | JSONResponse:
        def run() -> T:
            with engine.connect() as conn:
                return fn(conn, *args)
        try:
            return await run_in_threadpool(run)
        except ContractError as e:
            return JSONResponse({"detail": str(e)}, status_code=e.status)

    async def write(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | JSONResponse:
        def run() -> T:
            with engine.begin() as conn:
                return fn(conn, *args, **kwargs)
        try:
            return await run_in_threadpool(run)
        except ContractError as e:
            return JSONResponse({"detail": str(e)}, status_code=e.status)

    @router.get("")
    async def listing(customer: str | None = None) -> Any:
        return await read(book.listing, customer)

    @router.post("", status_code=201)
    async def sell(body: SaleIn) -> Any:
        sale = book.Sale(**body.model_dump())
        return await write(book.sell, sale, scrypt=scrypt, valid_address=valid_address)

    @router.get("/capacity")
    async def capacity() -> Any:
        return await read(book.capacity, scrypt)

    @router.get("/farm")
    async def farm() -> Any:
        return await read(lambda conn: farms.load(conn).to_json())

    @router.put("/farm")
    async def set_farm(body: FarmIn) -> Any:
        for a in body.addresses:
            if not valid_address(a):
                return JSONResponse({"detail": f"{a!r} is not a valid address on this network"}, status_code=400)
        f = farms.Farm(tuple(body.addresses), body.capacity_hps, body.window_s)
        return await write(lambda conn: farms.save(conn, f).to_json())

    @router.get("/periods")
    async def periods(limit: Limit = 100, offset: Offset = 0) -> Any:
        return await read(book.periods, limit, offset)

    @router.get("/customers/{customer_id}")
    async def customer(customer_id: str) -> Any:
        return await read(book.customer, customer_id)

    @router.get("/{contract_id}")
    async def one(contract_id: ContractId) -> Any:
        return await read(book.get, contract_id)

    @router.post("/{contract_id}/cancel")
    async def cancel(contract_id: ContractId) -> Any:
        return await write(book.cancel, contract_id)

    @router.get("/{contract_id}/allocations")
    async def allocations(contract_id: ContractId, limit: Limit = 100, offset: Offset = 0) -> Any:
        return await read(book.allocations, contract_id, limit, offset)

    return router
