"""Who may call each route and page, read from the assembled app (every component attached): each
one names its access dependency (hashforge.httpedge.access) unless it is on the short public list,
every /v1 write needs control or spend, and customer keys reach exactly the customer routes.

It catches a route or page that lost its guard (a moved import, a new page without `ReadAccess`),
which per-route HTTP tests only catch for the routes they happen to call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant

from hashforge.api.app import create_app
from hashforge.api.routers import miner, ops, pool, wallet
from hashforge.api.settings import ApiSettings
from hashforge.httpedge import access
from hashforge.rpcclient import AsyncRPCClient
from hashforge.services.keys import KeyStore
from hashforge.services.node import NodeGateway
from hashforge.services.registry import ComponentAPI, Components

PUBLIC = {"GET /v1/health", "GET /login", "POST /login", "GET /login/status", "GET /logout", "POST /logout"}
CUSTOMER_ROUTES = {"GET /contracts/me", "GET /v1/pool/contracts/me", "GET /v1/pool/contracts/me/{contract_id}/allocations"}
GUARDS = {access.require_read: "read", access.require_control: "control", access.require_spend: "spend",
          access.require_customer: "customer"}


def _guards(dependant: Dependant) -> set[str]:
    found = set()
    for sub in dependant.dependencies:
        if sub.call in GUARDS:
            found.add(GUARDS[sub.call])
        found |= _guards(sub)
    return found


def _routes(app: FastAPI) -> dict[str, tuple[set[str], dict[str, Any]]]:
    """'METHOD /path' -> (the guards it runs, its openapi_extra) for every FastAPI route of the app."""
    try:
        from fastapi.routing import iter_route_contexts
        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:  # FastAPI before lazily included routers: app.routes is flat
        routes = list(app.routes)
    table = {}
    for route in routes:
        dependant = getattr(route, "dependant", None)
        if dependant is None:  # /static, the schema
            continue
        for method in route.methods:
            table[f"{method} {route.path}"] = (_guards(dependant), route.openapi_extra or {})
    return table


def _app(tmp_path: Path) -> FastAPI:
    components = Components(node=NodeGateway(AsyncRPCClient("http://127.0.0.1:9/", "user", "password")))
    for name, module in (("pool", pool), ("miner", miner), ("wallet", wallet), ("ops", ops)):
        components.add(ComponentAPI(name, module.router))  # type: ignore[arg-type]
    return create_app(ApiSettings(datadir=tmp_path), components, KeyStore(tmp_path / "keys.sqlite3"))


def test_every_route_and_page_names_who_may_call_it(tmp_path: Path) -> None:
    table = _routes(_app(tmp_path))
    assert len(table) > 60 and "GET /" in table and "POST /v1/wallet/send" in table  # the whole app was read
    unguarded = sorted(r for r, (guards, _) in table.items() if not guards and r not in PUBLIC)
    assert unguarded == []
    assert all(not table[r][0] for r in PUBLIC), "a public route now has a guard: update PUBLIC"


def test_writes_need_control_or_spend_and_pages_only_read(tmp_path: Path) -> None:
    table = _routes(_app(tmp_path))
    for route, (guards, _) in table.items():
        method, path = route.split(" ", 1)
        if route in PUBLIC or method in ("GET", "HEAD"):
            continue
        assert path.startswith("/v1/") and guards & {"control", "spend"}, route
    pages = {r: g for r, (g, _) in table.items() if not r.split(" ", 1)[1].startswith(("/v1/", "/metrics"))}
    for route, guards in pages.items():
        if route not in PUBLIC:
            assert route.startswith("GET ") and guards <= {"read", "customer"}, (route, guards)


def test_customer_keys_reach_exactly_the_customer_routes(tmp_path: Path) -> None:
    table = _routes(_app(tmp_path))
    marked = {r for r, (_, extra) in table.items() if extra.get("x-customer-key")}
    assert marked == CUSTOMER_ROUTES
    assert all("customer" in table[r][0] for r in CUSTOMER_ROUTES)
    assert not any("customer" in guards for r, (guards, _) in table.items() if r not in CUSTOMER_ROUTES)
