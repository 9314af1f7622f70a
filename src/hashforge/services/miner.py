"""The miner's reads, as `/v1/miner` and the dashboard show them: its cgminer API (through
`MinerGateway`) reshaped to our models and cursor pages; a reply in an unexpected shape is ComponentFailed."""

from __future__ import annotations

from typing import Any, cast

from .errors import BadCursor, ComponentFailed
from .gateways.miner import MinerGateway
from .miner_models import Device, HashRate, MinerPool, MinerSummary
from .paging import Page, cursor_int, decode_cursor, encode_cursor

KINDS = {"CPU": "cpu", "GPU": "gpu", "ASC": "asic", "PGA": "fpga"}


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


async def summary(miner: MinerGateway) -> MinerSummary:
    raw = await miner.summary()
    return cast(MinerSummary, _shape("summary", lambda: to_summary(raw)))


async def rate(miner: MinerGateway) -> HashRate:
    raw = await miner.summary()
    return cast(HashRate, _shape("summary", lambda: hashrate(raw)))


async def devices(miner: MinerGateway, cursor: str | None, limit: int) -> Page[Device]:
    raw = await miner.devices()
    items = cast(list[Device], _shape("devs", lambda: [to_device(i, d) for i, d in enumerate(raw)]))
    page, nxt = _page(items, "miner-devices", cursor, limit)
    return Page[Device](items=page, limit=limit, next_cursor=nxt)


async def pools(miner: MinerGateway, cursor: str | None, limit: int) -> Page[MinerPool]:
    raw = await miner.pools()
    items = cast(list[MinerPool], _shape("pools", lambda: [to_pool(p) for p in raw]))
    page, nxt = _page(items, "miner-pools", cursor, limit)
    return Page[MinerPool](items=page, limit=limit, next_cursor=nxt)
