"""Dashboard pages. They read the chain through the same NodeGateway as the API (JSON-RPC to the
node) and the other components through their registered summaries; live updates come from
`/v1/events` in static/app.js."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from hashforge.api.deps import ComponentsDep, NodeDep, ReadAccess
from hashforge.api.errors import APIError, BadCursor, NotFound
from hashforge.api.node import Header, NodeGateway
from hashforge.api.pagination import cursor_int, decode_cursor, encode_cursor
from hashforge.api.registry import KNOWN_COMPONENTS, ComponentName, Components
from hashforge.api.routers.chain import history_points

from . import fmt
from .charts import line_chart

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters.update(
    hashrate=fmt.hashrate, difficulty=fmt.difficulty, utc=fmt.utc, iso=fmt.iso, ago=fmt.ago, short=fmt.short_hash,
    coins=fmt.coins,
)
router = APIRouter(include_in_schema=False)
CHART_POINTS = 60
PAGE_SIZE = 25

ABSENT = {
    "pool": Markup("Pool not running — start the whole stack with <code>hashforge up</code>."),
    "miner": Markup("No miner connected — start one with <code>hashforge up</code> or point a Stratum miner at the pool."),
    "wallet": Markup("Wallet not running — start it with <code>hashforge up</code>."),
    "ops": Markup("Operations (profitability, tax) not configured."),
}


def mount(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(router)


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    components: Components = request.app.state.components
    context.setdefault("present", {n: components.has(n) for n in KNOWN_COMPONENTS})
    context.setdefault("absent_text", ABSENT)
    return templates.TemplateResponse(request, name, context, status_code=status)


async def _safe(coro: Any) -> Any:
    try:
        return await coro
    except APIError as e:
        log.info("dashboard: %s", e)
        return None


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
    tip, mining = await asyncio.gather(_safe(node.tip()), _safe(node.mining_info()))
    hashps = await _safe(node.network_hashps(request.app.state.settings.network_hashrate_window))
    recent: list[Header] = []
    mempool = None
    if tip is not None:
        recent = await _safe(node.headers_down(tip.height, 10)) or []
        mempool = await _safe(node.mempool_info())
    names: tuple[ComponentName, ...] = ("pool", "miner", "wallet")
    summaries = {n: await _summary(components, n) for n in names}
    return _page(
        request, "overview.html", tip=tip, mining=mining, hashps=hashps, recent=recent, mempool=mempool,
        summaries=summaries, chart_hashrate=await _chart(request, node, "hashrate"),
        chart_difficulty=await _chart(request, node, "difficulty"), nav="overview",
    )


async def _chart(request: Request, node: NodeGateway, metric: str) -> str:
    """The overview's charts: the last CHART_POINTS blocks, hash rate over the same window as the
    headline figure (settings.network_hashrate_window)."""
    window = request.app.state.settings.network_hashrate_window
    tip = await _safe(node.tip())
    points = [] if tip is None else await _safe(history_points(node, tip.height, CHART_POINTS, window)) or []
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
async def chart(request: Request, metric: str, _: ReadAccess, node: NodeDep) -> Response:
    if metric not in ("hashrate", "difficulty"):
        raise NotFound("No such chart.")
    return Response(await _chart(request, node, metric), media_type="image/svg+xml",
                    headers={"Cache-Control": "no-store"})


@router.get("/blocks", response_class=HTMLResponse)
async def blocks(
    request: Request, _: ReadAccess, node: NodeDep,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> HTMLResponse:
    tip = await _safe(node.tip())
    headers: list[Header] = []
    next_cursor = None
    if tip is not None:
        try:
            start = tip.height if cursor is None else cursor_int(decode_cursor("blocks", cursor), "h", -1)
        except BadCursor:
            start = tip.height
        headers = await _safe(node.headers_down(start, PAGE_SIZE)) or []
        if headers and headers[-1].height > 0 and len(headers) == PAGE_SIZE:
            next_cursor = encode_cursor("blocks", h=headers[-1].height - 1)
    return _page(request, "blocks.html", tip=tip, blocks=headers, next_cursor=next_cursor,
                 first_page=cursor is None, nav="blocks")


@router.get("/blocks/{ref}", response_class=HTMLResponse)
async def block(request: Request, ref: str, _: ReadAccess, node: NodeDep) -> HTMLResponse:
    if not (ref.isdigit() and len(ref) <= 9) and not (len(ref) == 64 and all(c in "0123456789abcdefABCDEF" for c in ref)):
        return _page(request, "missing.html", 404, what="That is not a block height or hash.", nav="blocks")
    try:
        body = await node.block(await node.resolve(ref))
    except NotFound:
        return _page(request, "missing.html", 404, what=f"No block {ref}.", nav="blocks")
    return _page(request, "block.html", block=body, nav="blocks")


@router.get("/workers", response_class=HTMLResponse)
async def workers(request: Request, _: ReadAccess, components: ComponentsDep) -> HTMLResponse:
    return _page(request, "workers.html", summary=await _summary(components, "pool"), nav="workers")


@router.get("/workers/{name}", response_class=HTMLResponse)
async def worker(request: Request, name: str, _: ReadAccess, components: ComponentsDep) -> HTMLResponse:
    return _page(request, "workers.html", summary=await _summary(components, "pool"), worker=name[:128],
                 nav="workers")


@router.get("/payouts", response_class=HTMLResponse)
async def payouts(request: Request, _: ReadAccess, components: ComponentsDep) -> HTMLResponse:
    return _page(request, "payouts.html", summary=await _summary(components, "pool"), nav="payouts")
