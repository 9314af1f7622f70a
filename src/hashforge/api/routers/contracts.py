"""`/v1/pool/contracts`: cloud-mining contracts over the pool's REST API (`/pool/contracts`).

Operators read with any read key (or anonymously on loopback) and write with `control`; a customer
key reads `/me` (its own contracts, allocations, earnings, payouts) and nothing else.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Path, Query, Request

from hashforge.httpedge.access import CUSTOMER_ROUTE, ControlAccess, CustomerAccess
from hashforge.httpedge.lookups import get_components
from hashforge.services.gateways.pool import PoolGateway
from hashforge.services.keys import KeyStore, KeyStoreError, Scope
from hashforge.services.paging import Page, cursor_int, decode_cursor, encode_cursor

from ..errors import ComponentFailed, Conflict, NotFound, problem_responses
from ..pagination import Cursor, Limit
from .contracts_models import (
    Allocation,
    Capacity,
    Contract,
    ContractIn,
    Customer,
    CustomerKey,
    CustomerKeyIn,
    Farm,
    Period,
)


def get_pool(request: Request) -> PoolGateway:
    gateway = get_components(request).gateway("pool")
    if gateway is None:
        raise NotFound("No pool is attached to this API.")
    return cast(PoolGateway, gateway)


PoolDep = Annotated[PoolGateway, Depends(get_pool)]
router = APIRouter(prefix="/contracts", responses=problem_responses(502, 503))
ContractId = Annotated[int, Path(ge=1, le=2**62)]
CustomerId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _shape(what: str, fn: Any) -> Any:
    try:
        return fn()
    except (KeyError, TypeError, ValueError):
        raise ComponentFailed(f"The pool's API answered {what} in an unexpected shape.") from None


def to_customer(raw: dict[str, Any]) -> Customer:
    return Customer(
        id=raw["id"], name=raw["name"], contracts=[Contract(**c) for c in raw["contracts"]],
        earned_sat=raw["earned_sat"], immature_sat=raw["immature_sat"], fees_sat=raw["fees_sat"],
        balances={a: {"payable_sat": b["payable"], "immature_sat": b["immature"], "paid_sat": b["paid"]}  # type: ignore[misc]
                  for a, b in raw["balances"].items()},
        payouts=[{"id": p["id"], "txid": p["txid"], "status": p["status"], "created_at": p["created_at"],  # type: ignore[misc]
                  "amount_sat": p["amount"], "address": p["address"]} for p in raw["payouts"]],
    )


async def _page(pool: PoolDep, path: str, collection: str, cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    offset = 0 if cursor is None else cursor_int(decode_cursor(collection, cursor), "o", 0, 2**40)
    rows = await pool.contracts("GET", path, {"limit": limit + 1, "offset": offset})
    nxt = encode_cursor(collection, o=offset + limit) if len(rows) > limit else None
    return rows[:limit], nxt


@router.get("", summary="Contracts sold, oldest first (or one customer's)")
async def listing(pool: PoolDep, customer: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None
                  ) -> list[Contract]:
    rows = await pool.contracts("GET", "", {"customer": customer} if customer else None)
    return cast(list[Contract], _shape("contracts", lambda: [Contract(**r) for r in rows]))


@router.post("", status_code=201, summary="Sell a contract (refused when it would over-sell the farm)",
             responses=problem_responses(400, 401, 403, 409, 422))
async def sell(pool: PoolDep, _caller: ControlAccess, body: ContractIn) -> Contract:
    raw = await pool.contracts("POST", "", body=body.model_dump(mode="json"))
    return cast(Contract, _shape("contracts", lambda: Contract(**raw)))


@router.get("/capacity", summary="The farm's measured hash rate against what is sold")
async def capacity(pool: PoolDep) -> Capacity:
    raw = await pool.contracts("GET", "/capacity")
    return cast(Capacity, _shape("capacity", lambda: Capacity(**{**raw, "farm": raw["farm"] if raw["farm"]["addresses"] else None})))


@router.get("/farm", summary="The operator's farm: its addresses, asserted capacity, window", responses=problem_responses(404))
async def farm(pool: PoolDep) -> Farm:
    raw = await pool.contracts("GET", "/farm")
    if not raw.get("addresses"):
        raise NotFound("No farm is configured yet (PUT /v1/pool/contracts/farm).")
    return cast(Farm, _shape("farm", lambda: Farm(**raw)))


@router.put("/farm", summary="Set the operator's farm", responses=problem_responses(400, 401, 403, 422))
async def set_farm(pool: PoolDep, _caller: ControlAccess, body: Farm) -> Farm:
    raw = await pool.contracts("PUT", "/farm", body=body.model_dump(mode="json"))
    return cast(Farm, _shape("farm", lambda: Farm(**raw)))


@router.get("/periods", summary="Allocation journal by accounting period, newest first (audit)",
            responses=problem_responses(400))
async def periods(pool: PoolDep, cursor: Cursor = None, limit: Limit = 20) -> Page[Period]:
    rows, nxt = await _page(pool, "/periods", "contract-periods", cursor, limit)
    return Page[Period](items=_shape("periods", lambda: [Period(**r) for r in rows]), limit=limit, next_cursor=nxt)


@router.get("/me", summary="The calling customer's contracts, earnings, balances and payouts",
            openapi_extra=CUSTOMER_ROUTE, responses=problem_responses(401, 403, 404))
async def me(pool: PoolDep, customer: CustomerAccess) -> Customer:
    raw = await pool.contracts("GET", f"/customers/{customer}")
    return cast(Customer, _shape("customer", lambda: to_customer(raw)))


@router.get("/me/{contract_id}/allocations", summary="Allocation journal of one of the caller's contracts",
            openapi_extra=CUSTOMER_ROUTE, responses=problem_responses(400, 401, 403, 404))
async def my_allocations(pool: PoolDep, customer: CustomerAccess, contract_id: ContractId, cursor: Cursor = None,
                         limit: Limit = 20) -> Page[Allocation]:
    raw = await pool.contracts("GET", f"/{contract_id}")
    if raw.get("customer_id") != customer:  # the same answer as for a contract that does not exist
        raise NotFound(f"You have no contract {contract_id}.")
    return await allocations(pool, contract_id, cursor, limit)


@router.get("/customers/{customer_id}", summary="One customer's contracts, earnings, balances and payouts",
            responses=problem_responses(404))
async def customer(pool: PoolDep, customer_id: CustomerId) -> Customer:
    raw = await pool.contracts("GET", f"/customers/{customer_id}")
    return cast(Customer, _shape("customer", lambda: to_customer(raw)))


@router.post("/customers/{customer_id}/keys", status_code=201, summary="Mint a key that reads only this customer",
             responses=problem_responses(400, 401, 403, 404, 409, 422))
async def customer_key(pool: PoolDep, _caller: ControlAccess, request: Request, customer_id: CustomerId,
                       body: CustomerKeyIn | None = None) -> CustomerKey:
    await pool.contracts("GET", f"/customers/{customer_id}")  # 404 for an unknown customer
    keys = cast(KeyStore, request.app.state.keys)
    name = (body.name if body and body.name else None) or f"customer-{customer_id}-{secrets.token_hex(3)}"
    try:
        key, token = keys.create(name, frozenset({Scope.CUSTOMER}), customer=customer_id)
    except KeyStoreError as e:
        raise Conflict(str(e)) from None
    return CustomerKey(name=key.name, customer_id=customer_id, token=token)


@router.get("/{contract_id}", summary="One contract: delivered hash rate, earnings, state", responses=problem_responses(404))
async def one(pool: PoolDep, contract_id: ContractId) -> Contract:
    raw = await pool.contracts("GET", f"/{contract_id}")
    return cast(Contract, _shape("contract", lambda: Contract(**raw)))


@router.post("/{contract_id}/cancel", summary="Cancel: the contract stops accruing now",
             responses=problem_responses(401, 403, 404, 409))
async def cancel(pool: PoolDep, _caller: ControlAccess, contract_id: ContractId) -> Contract:
    raw = await pool.contracts("POST", f"/{contract_id}/cancel")
    return cast(Contract, _shape("contract", lambda: Contract(**raw)))


@router.get("/{contract_id}/allocations", summary="A contract's allocation journal, newest first",
            responses=problem_responses(400, 404))
async def allocations(pool: PoolDep, contract_id: ContractId, cursor: Cursor = None, limit: Limit = 20) -> Page[Allocation]:
    rows, nxt = await _page(pool, f"/{contract_id}/allocations", f"contract-{contract_id}", cursor, limit)
    return Page[Allocation](items=_shape("allocations", lambda: [Allocation(**r) for r in rows]), limit=limit,
                            next_cursor=nxt)
