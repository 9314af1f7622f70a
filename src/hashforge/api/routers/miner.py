"""`/v1/miner`: a miner over its cgminer API (`hashforge mine --api-listen`, cgminer, ASIC firmware).
Reads need read access; pool switching and enabling need the control scope. The cgminer API has no
throttle command, so duty cycle and throttle state are reported, not set (`hashforge mine --max-load`)."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Path, Request

from ..deps import ControlAccess, get_components
from ..errors import BadCursor, ComponentFailed, NotFound, problem_responses
from ..gateways.miner import MinerGateway, MinerReply
from ..pagination import Cursor, Limit, Page, cursor_int, decode_cursor, encode_cursor
from .miner_models import Action, Device, HashRate, MinerPool, MinerSummary

router = APIRouter(responses=problem_responses(502, 503))
PoolId = Annotated[int, Path(ge=0, le=9999, description="The miner's pool number (cgminer's POOL).")]
KINDS = {"CPU": "cpu", "GPU": "gpu", "ASC": "asic", "PGA": "fpga"}


def get_miner(request: Request) -> MinerGateway:
    gateway = get_components(request).gateway("miner")
    if gateway is None:
        raise NotFound("No miner is attached to this API.")
    return cast(MinerGateway, gateway)


MinerDep = Annotated[MinerGateway, Depends(get_miner)]


def _f(row: dict[str, Any], key: str) -> float:
    v = row.get(key)
    return max(0.0, float(v)) if isinstance(v, int | float) and not isinstance(v, bool) else 0.0


def _i(row: dict[str, Any], key: str) -> int:
    return int(_f(row, key))


def _opt(row: dict[str, Any], key: str) -> float | None:
    v = row.get(key)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def hashrate(row: dict[str, Any]) -> HashRate:
    def hps(key: str) -> float:
        return _f(row, key) * 1e6

    return HashRate(average_hps=hps("MHS av"), last_5s_hps=hps("MHS 5s"), last_1m_hps=hps("MHS 1m"),
                    last_5m_hps=hps("MHS 5m"), last_15m_hps=hps("MHS 15m"))


def to_summary(s: dict[str, Any]) -> MinerSummary:
    return MinerSummary(
        elapsed_s=_i(s, "Elapsed"), hashrate=hashrate(s), accepted=_i(s, "Accepted"), rejected=_i(s, "Rejected"),
        stale=_i(s, "Stale"), hardware_errors=_i(s, "Hardware Errors"), found_blocks=_i(s, "Found Blocks"),
        difficulty_accepted=_f(s, "Difficulty Accepted"), difficulty_rejected=_f(s, "Difficulty Rejected"),
        best_share=_f(s, "Best Share"),
    )


def to_device(i: int, d: dict[str, Any]) -> Device:
    kind_key = next((k for k in KINDS if k in d), None)
    duty = _opt(d, "Duty")
    last = _i(d, "Last Share Time")
    throttle = d.get("Throttle")
    return Device(
        id=int(d[kind_key]) if kind_key else i, kind=KINDS[kind_key] if kind_key else "cpu",  # type: ignore[arg-type]
        name=str(d.get("Name", kind_key or "DEV")), enabled=str(d.get("Enabled", "Y")).upper() == "Y",
        status=str(d.get("Status", "")), temperature_c=_opt(d, "Temperature"), power_w=_opt(d, "Power"),
        hashrate=hashrate(d), accepted=_i(d, "Accepted"), rejected=_i(d, "Rejected"),
        hardware_errors=_i(d, "Hardware Errors"), last_share=last or None,
        throttle=None if throttle is None else str(throttle),
        duty_percent=None if duty is None else min(100.0, max(0.0, duty)),
    )


def to_pool(p: dict[str, Any]) -> MinerPool:
    last = _i(p, "Last Share Time")
    height = p.get("Current Block Height")
    message = p.get("Message")
    return MinerPool(
        id=int(p["POOL"]), url=str(p.get("URL", "")), user=str(p.get("User", "")), status=str(p.get("Status", "")),
        priority=int(p.get("Priority", 0)), active=bool(p.get("Stratum Active", False)), accepted=_i(p, "Accepted"),
        rejected=_i(p, "Rejected"), stale=_i(p, "Stale"),
        difficulty=_f(p, "Stratum Difficulty") or _f(p, "Work Difficulty"), last_share=last or None,
        block_height=int(height) if isinstance(height, int) and height > 0 else None,
        message=str(message) if message else None,
    )


def _shape(what: str, fn: Any) -> Any:
    try:
        return fn()
    except (KeyError, TypeError, ValueError):
        raise ComponentFailed(f"The miner answered {what} in an unexpected shape.") from None


def _page(items: list[Any], collection: str, cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    start = 0 if cursor is None else cursor_int(decode_cursor(collection, cursor), "i", 0, 10_000)
    if start > len(items):
        raise BadCursor("The cursor is past the end (the list got shorter).")
    page = items[start:start + limit]
    end = start + len(page)
    return page, encode_cursor(collection, i=end) if end < len(items) else None


@router.get("/summary", summary="Hash rate (5 s, 1 min, 5 min, 15 min, average), shares, errors")
async def summary(miner: MinerDep) -> MinerSummary:
    raw = await miner.summary()
    return cast(MinerSummary, _shape("summary", lambda: to_summary(raw)))


@router.get("/hashrate", summary="The miner's hash rate over 5 s, 1 min, 5 min, 15 min and since it started")
async def rate(miner: MinerDep) -> HashRate:
    raw = await miner.summary()
    return cast(HashRate, _shape("summary", lambda: hashrate(raw)))


@router.get("/devices", summary="Devices (CPU, GPU, ...): state, temperature, hash rate, shares",
            responses=problem_responses(400))
async def devices(miner: MinerDep, cursor: Cursor = None, limit: Limit = 20) -> Page[Device]:
    raw = await miner.devices()
    items = cast(list[Device], _shape("devs", lambda: [to_device(i, d) for i, d in enumerate(raw)]))
    page, nxt = _page(items, "miner-devices", cursor, limit)
    return Page[Device](items=page, limit=limit, next_cursor=nxt)


@router.get("/pools", summary="The miner's pools, in its priority order", responses=problem_responses(400))
async def pools(miner: MinerDep, cursor: Cursor = None, limit: Limit = 20) -> Page[MinerPool]:
    raw = await miner.pools()
    items = cast(list[MinerPool], _shape("pools", lambda: [to_pool(p) for p in raw]))
    page, nxt = _page(items, "miner-pools", cursor, limit)
    return Page[MinerPool](items=page, limit=limit, next_cursor=nxt)


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
