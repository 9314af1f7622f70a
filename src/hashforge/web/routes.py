"""Dashboard pages. They read the chain through the same NodeGateway as the API (JSON-RPC to the
node) and the other components through their registered summaries; live updates come from
`/v1/events` in static/app.js."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from hashforge.httpedge.access import ReadAccess
from hashforge.httpedge.lookups import ComponentsDep, NodeDep
from hashforge.httpedge.session import SESSION_COOKIE
from hashforge.services import miner as miner_svc
from hashforge.services import pool as pool_svc
from hashforge.services.chain import history_points
from hashforge.services.earnings import chain_params, next_reward, sat_per_day
from hashforge.services.errors import BadCursor, NotFound, ServiceError
from hashforge.services.gateways.miner import MinerGateway
from hashforge.services.gateways.pool import PoolGateway
from hashforge.services.gateways.wallet import WalletGateway
from hashforge.services.keys import KeyStore, Scope
from hashforge.services.node import Header, NodeGateway
from hashforge.services.paging import cursor_int, decode_cursor, encode_cursor
from hashforge.services.pool_models import PoolBlock
from hashforge.services.registry import ComponentName, Components

from . import fmt
from .charts import line_chart
from .render import page, safe, sign_in_state

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
router = APIRouter(include_in_schema=False)
CHART_POINTS = 60
WORKER_NAME = re.compile(r"^[A-Za-z0-9]{14,128}\.[A-Za-z0-9_-]{1,64}$")
PAGE_SIZE = 25

def mount(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(router)
    from . import browser_mine, contracts, ops_alerts, ops_profit, ops_tax

    for pages in (ops_profit, ops_alerts, ops_tax, browser_mine, contracts):
        app.include_router(pages.router)


async def _summary(components: Components, name: ComponentName) -> dict[str, Any] | None:
    comp = components.extras.get(name)
    if comp is None or comp.summary is None:
        return None
    try:
        return await comp.summary()
    except Exception:
        log.exception("%s summary failed", name)
        return {"error": "not answering"}


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request, _: ReadAccess, node: NodeDep, components: ComponentsDep) -> HTMLResponse:
    tip, mining = await asyncio.gather(safe(node.tip()), safe(node.mining_info()))
    hashps = await safe(node.network_hashps(request.app.state.settings.network_hashrate_window))
    recent: list[Header] = []
    mempool = None
    if tip is not None:
        recent = await safe(node.headers_down(tip.height, 10)) or []
        mempool = await safe(node.mempool_info())
    pool: PoolGateway | None = components.gateway("pool")
    miner: MinerGateway | None = components.gateway("miner")
    wallet: WalletGateway | None = components.gateway("wallet")
    pool_stats = workers = found = None
    if pool is not None:
        pool_stats, workers, found = await asyncio.gather(
            safe(pool_svc.stats(pool)), safe(pool_svc.all_workers(pool, 600)), safe(_found(pool, 10)))
        if workers is not None:
            workers = sorted(workers, key=lambda w: (-w.hashrate_hps, w.name))[:10]
    farm = None if miner is None else await safe(miner_svc.summary(miner))
    balance = None if wallet is None else await safe(wallet.balance())
    summaries = {n: await _summary(components, n) for n in ("pool", "miner", "wallet")
                 if components.has(n) and components.gateway(n) is None}
    rate = pool_stats.hashrate_hps if pool_stats is not None else (farm.hashrate.last_1m_hps if farm else None)
    return page(
        request, "overview.html", tip=tip, mining=mining, hashps=hashps, recent=recent, mempool=mempool,
        pool=pool_stats, workers=workers, found=found, farm=farm, balance=balance, summaries=summaries,
        earnings=await _earnings(request, node, mining, rate), earnings_basis="pool" if pool_stats else "farm",
        chart_hashrate=await _chart(request, node, "hashrate"),
        chart_difficulty=await _chart(request, node, "difficulty"),
        chart_pool=await _pool_chart(pool) if pool is not None else None, nav="overview",
    )


async def _found(pool: PoolGateway, limit: int) -> list[PoolBlock]:
    rows = await pool.blocks(limit)
    return [pool_svc.to_block(b) for b in rows]


async def _earnings(request: Request, node: NodeGateway, mining: dict[str, Any] | None,
                    rate: float | None) -> dict[str, Any] | None:
    """coins/day = H x 86400 x R / (D x 2^32) at the pool's (else the farm's) hash rate."""
    if rate is None or mining is None:
        return None
    params = await safe(chain_params(request.app.state.settings.network, node))
    nxt = mining.get("next")
    difficulty = float(nxt["difficulty"]) if isinstance(nxt, dict) and "difficulty" in nxt else float(mining["difficulty"])
    if params is None or difficulty <= 0:
        return None
    reward = next_reward(int(mining["blocks"]), params)
    return {"sat_per_day": sat_per_day(rate, difficulty, reward, params), "rate": rate, "reward": reward,
            "difficulty": difficulty}


async def _pool_chart(pool: PoolGateway, address: str | None = None) -> str:
    points, _ = await safe(pool_svc.history_page(pool, 60, CHART_POINTS, None, address)) or ([], None)
    data = [(float(p.time), p.hashrate_hps) for p in reversed(points)]
    title = "Pool hash rate per minute, last hour" if address is None else "This address's hash rate per minute, last hour"
    return line_chart(data, title, fmt.hashrate, x_format=lambda x: fmt.clock(int(x)),
                      chart_id="chart-pool" if address is None else "chart-address",
                      empty_text="No shares in the last hour" if points else "Pool not answering")


async def _chart(request: Request, node: NodeGateway, metric: str) -> str:
    """The overview's charts: the last CHART_POINTS blocks, hash rate over the same window as the
    headline figure (settings.network_hashrate_window)."""
    window = request.app.state.settings.network_hashrate_window
    tip = await safe(node.tip())
    points = [] if tip is None else await safe(history_points(node, tip.height, CHART_POINTS, window)) or []
    points.reverse()
    if metric == "hashrate":
        data = [(float(p.height), p.network_hashrate_hps) for p in points if p.network_hashrate_hps is not None]
        return line_chart(data, "Network hash rate by block height", fmt.hashrate,
                          x_format=lambda x: f"#{x:.0f}", chart_id="chart-hashrate",
                          empty_text="Not enough blocks yet" if tip is not None else "Node not reachable")
    data = [(float(p.height), p.difficulty) for p in points]
    return line_chart(data, "Difficulty by block height", fmt.difficulty, x_format=lambda x: f"#{x:.0f}",
                      chart_id="chart-difficulty",
                      empty_text="Not enough blocks yet" if tip is not None else "Node not reachable")


@router.get("/charts/{metric}.svg")
async def chart(
    request: Request, metric: str, _: ReadAccess, node: NodeDep, components: ComponentsDep,
    address: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9]{14,128}$")] = None,
) -> Response:
    pool: PoolGateway | None = components.gateway("pool")
    if metric == "pool-hashrate" and pool is not None:
        svg = await _pool_chart(pool, address)
    elif metric in ("hashrate", "difficulty"):
        svg = await _chart(request, node, metric)
    else:
        raise NotFound("No such chart.")
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.get("/blocks", response_class=HTMLResponse)
async def blocks(
    request: Request, _: ReadAccess, node: NodeDep, components: ComponentsDep,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    found: Annotated[str | None, Query(max_length=512, pattern=r"^[A-Za-z0-9_-]+$")] = None,
) -> HTMLResponse:
    tip = await safe(node.tip())
    headers: list[Header] = []
    next_cursor = None
    if tip is not None:
        try:
            start = tip.height if cursor is None else cursor_int(decode_cursor("blocks", cursor), "h", -1)
        except BadCursor:
            start = tip.height
        headers = await safe(node.headers_down(start, PAGE_SIZE)) or []
        if headers and headers[-1].height > 0 and len(headers) == PAGE_SIZE:
            next_cursor = encode_cursor("blocks", h=headers[-1].height - 1)
    pool: PoolGateway | None = components.gateway("pool")
    pool_page = None
    if pool is not None:
        try:
            pool_page = await safe(pool_svc.blocks(pool, found, 10))
        except BadCursor:
            pool_page = await safe(pool_svc.blocks(pool, None, 10))
    return page(request, "blocks.html", tip=tip, blocks=headers, next_cursor=next_cursor,
                 first_page=cursor is None, pool_page=pool_page, found_first=found is None, nav="blocks")


@router.get("/blocks/{ref}", response_class=HTMLResponse)
async def block(request: Request, ref: str, _: ReadAccess, node: NodeDep) -> HTMLResponse:
    if not (ref.isdigit() and len(ref) <= 9) and not (len(ref) == 64 and all(c in "0123456789abcdefABCDEF" for c in ref)):
        return page(request, "missing.html", 404, what="That is not a block height or hash.", nav="blocks")
    try:
        body = await node.block(await node.resolve(ref))
    except NotFound:
        return page(request, "missing.html", 404, what=f"No block {ref}.", nav="blocks")
    return page(request, "block.html", block=body, nav="blocks")


@router.get("/workers", response_class=HTMLResponse)
async def workers(
    request: Request, _: ReadAccess, components: ComponentsDep,
    cursor: Annotated[str | None, Query(max_length=512, pattern=r"^[A-Za-z0-9_-]+$")] = None,
) -> HTMLResponse:
    pool: PoolGateway | None = components.gateway("pool")
    listing = None
    if pool is not None:
        try:
            listing = await safe(pool_svc.workers(pool, cursor, PAGE_SIZE))
        except BadCursor:
            listing = await safe(pool_svc.workers(pool, None, PAGE_SIZE))
    return page(request, "workers.html", page=listing, first_page=cursor is None, nav="workers")


@router.get("/workers/{name}", response_class=HTMLResponse)
async def worker(request: Request, name: str, _: ReadAccess, components: ComponentsDep) -> HTMLResponse:
    pool: PoolGateway | None = components.gateway("pool")
    if pool is None:
        return page(request, "worker.html", worker=None, worker_name=name[:200], nav="workers")
    if not WORKER_NAME.match(name):
        return page(request, "missing.html", 404, what="That is not a worker name (ADDRESS.worker).", nav="workers")
    try:
        detail = await pool_svc.worker(pool, name, 600)
    except NotFound:
        return page(request, "missing.html", 404, what=f"The pool has seen no share from {name} in the last day.",
                     nav="workers")
    except ServiceError:
        detail = None
    chart = await _pool_chart(pool, name.partition(".")[0])
    return page(request, "worker.html", worker=detail, worker_name=name, chart=chart, nav="workers")


@router.get("/payouts", response_class=HTMLResponse)
async def payouts(
    request: Request, _: ReadAccess, components: ComponentsDep,
    cursor: Annotated[str | None, Query(max_length=512, pattern=r"^[A-Za-z0-9_-]+$")] = None,
) -> HTMLResponse:
    pool: PoolGateway | None = components.gateway("pool")
    listing = None
    if pool is not None:
        try:
            listing = await safe(pool_svc.payments(pool, cursor, PAGE_SIZE))
        except BadCursor:
            listing = await safe(pool_svc.payments(pool, None, PAGE_SIZE))
    return page(request, "payouts.html", page=listing, first_page=cursor is None, nav="payouts")


# --- sign-in: a read key in a cookie, so a browser can read (pages, /v1/events) where keys are
# required; the cookie counts for GET/HEAD reads only (api/middleware.py, httpedge/access.py) ---

SESSION_MAX_AGE_S = 7 * 24 * 3600


def _local(next_url: str | None) -> str:
    """Only a path on this site (no open redirect to another one)."""
    if not next_url or not next_url.startswith("/") or next_url.startswith(("//", "/\\")):
        return "/"
    return next_url


def _login_page(request: Request, next_url: str, error: str = "", status: int = 200) -> HTMLResponse:
    return page(request, "login.html", status, next=next_url, error=error, nav="login")


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request, next_url: Annotated[str | None, Query(alias="next", max_length=2048)] = None,
) -> HTMLResponse:
    return _login_page(request, _local(next_url))


@router.get("/login/status")
async def login_status(request: Request) -> JSONResponse:
    state = sign_in_state(request)
    return JSONResponse({"needs_key": state["needs_key"], "signed_in": state["signed_in"]},
                        headers={"Cache-Control": "no-store"})


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=8)
    next_url = _local(form.get("next", [""])[0])
    origin = request.headers.get("origin")
    # "null" is what a same-origin form sends under Referrer-Policy: no-referrer
    if origin not in (None, "null") and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
        return _login_page(request, next_url, "Sign in from this dashboard's own sign-in page.", 403)
    token = form.get("key", [""])[0].strip()
    keys: KeyStore = request.app.state.keys
    key = keys.verify(token) if token else None
    if key is None:
        return _login_page(request, next_url, "That key is not valid (unknown, revoked or mistyped).", 401)
    extra = sorted(key.scopes - {Scope.READ, Scope.CUSTOMER})  # a customer key opens only its own contracts
    if extra:
        return _login_page(request, next_url, f"The key {key.name!r} can also {' and '.join(extra)}: sign in with a "
                           "read-only key (hashforge api-key create NAME --scope read).", 403)
    if Scope.CUSTOMER in key.scopes and not next_url.startswith("/contracts/me"):
        next_url = "/contracts/me"
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_MAX_AGE_S, path="/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


@router.api_route("/logout", methods=["GET", "POST"])
async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
    return response
