"""The pool's reads, as `/v1/pool` and the dashboard show them: the pool's own REST interface
(`hashforge pool --api-port`, through `PoolGateway`) reshaped to our conventions (cursor pages,
declared models, service errors).

The pool pages blocks and payments by offset, newest first; our cursors remember the offset *and*
the last id served, so blocks found between two page requests neither repeat nor get skipped.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from hashforge.consensus.params import UnknownNetworkError, get_params

from .earnings import chain_params, next_reward, sat_per_day
from .errors import BadCursor, ComponentFailed, NotFound
from .gateways.pool import MAX_WINDOW, PoolGateway
from .node import NodeGateway
from .paging import Page, cursor_int, cursor_str, decode_cursor, encode_cursor
from .pool_models import (
    AddressBalance,
    BlockCounts,
    Earnings,
    HashratePoint,
    MinerStats,
    Payment,
    PoolBlock,
    PoolStats,
    Worker,
    WorkerDetail,
)

ONLINE_S = 300
SEEN_S = 86400
SLACK = 50  # extra rows asked of the pool per page, to absorb rows added since the last page

def _int(v: Any) -> int:
    return int(float(v))


def to_stats(s: dict[str, Any]) -> PoolStats:
    counts = s.get("blocks") or {}
    return PoolStats(
        hashrate_hps=max(0.0, float(s["hashrate"])), window_s=int(s["window_seconds"]), miners=int(s["miners"]),
        workers=int(s["workers"]),
        blocks=BlockCounts(**{k: int(counts.get(k, 0)) for k in ("pending", "confirmed", "orphaned", "rejected")}),
        round_difficulty=max(0.0, float(s.get("round_difficulty") or 0.0)),
        effort=None if s.get("effort") is None else max(0.0, float(s["effort"])),
        scheme=str(s.get("scheme", "")), fee_percent=float(s.get("fee_percent") or 0.0),
        connections=None if s.get("connections") is None else int(s["connections"]),
        network=None if s.get("network") is None else str(s["network"]),
        height=None if s.get("height") is None else int(s["height"]),
        network_difficulty=None if s.get("network_difficulty") is None else float(s["network_difficulty"]),
        coin=_coin(s.get("network")),
    )


def _coin(network: Any) -> str | None:
    """The ticker of the pool's network, None where it does not say or is not one we know."""
    if network is None:
        return None
    try:
        return get_params(str(network)).coin
    except UnknownNetworkError:
        return None


def to_block(b: dict[str, Any]) -> PoolBlock:
    return PoolBlock(
        id=int(b["id"]), height=int(b["height"]), hash=str(b["hash"]).lower(), status=str(b["status"]),
        worker=f"{b['address']}.{b['worker']}", address=str(b["address"]), reward_sat=int(b["reward"]),
        network_difficulty=float(b["network_difficulty"]),
        effort=None if b.get("effort") is None else max(0.0, float(b["effort"])),
        found_at=_int(b["found_at"]), settled_at=None if b.get("settled_at") is None else _int(b["settled_at"]),
        coin=None if b.get("coin") is None else str(b["coin"]),
    )


def to_payment(p: dict[str, Any]) -> Payment:
    amount = p["amount"] if "amount" in p else p["total"]
    return Payment(id=int(p["id"]), txid=str(p["txid"]).lower(), status=str(p["status"]), amount_sat=int(amount),
                   created_at=_int(p["created_at"]), coin=None if p.get("coin") is None else str(p["coin"]))


def to_workers(rate_rows: list[dict[str, Any]], seen_rows: list[dict[str, Any]], window: int) -> list[Worker]:
    """Workers seen in the last day, with their hash rate over `window` (0 when they sent nothing in it)."""
    now = time.time()
    rates = {(r["address"], r["worker"]): float(r["hashrate"]) for r in rate_rows}
    out = []
    for r in seen_rows:
        last = _int(r["last_share"] or 0)
        out.append(Worker(
            name=f"{r['address']}.{r['worker']}", address=str(r["address"]), worker=str(r["worker"]),
            status="online" if now - last <= ONLINE_S else "idle",
            hashrate_hps=max(0.0, rates.get((r["address"], r["worker"]), 0.0)), window_s=window,
            shares=int(r["shares"]), last_share=last,
        ))
    out.sort(key=lambda w: w.name)
    return out


def _shape(what: str, fn: Any) -> Any:
    try:
        return fn()
    except (KeyError, TypeError, ValueError):
        raise ComponentFailed(f"The pool's API answered {what} in an unexpected shape.") from None


async def all_workers(pool: PoolGateway, window: int) -> list[Worker]:
    rate_rows, seen_rows = await asyncio.gather(pool.workers(window), pool.workers(max(window, SEEN_S)))
    return cast(list[Worker], _shape("workers", lambda: to_workers(rate_rows, seen_rows, window)))


async def stats(pool: PoolGateway, window: int = 600) -> PoolStats:
    raw = await pool.stats(window)
    return cast(PoolStats, _shape("stats", lambda: to_stats(raw)))


async def workers(pool: PoolGateway, cursor: str | None, limit: int, window: int = 600) -> Page[Worker]:
    rows = await all_workers(pool, window)
    if cursor is not None:
        after = cursor_str(decode_cursor("pool-workers", cursor), "n", 200)
        rows = [w for w in rows if w.name > after]
    page = rows[:limit]
    return Page[Worker](
        items=page, limit=limit,
        next_cursor=encode_cursor("pool-workers", n=page[-1].name) if len(rows) > limit else None,
    )


async def worker(pool: PoolGateway, name: str, window: int = 600) -> WorkerDetail:
    address, _, worker_name = name.partition(".")
    rows, miner = await asyncio.gather(all_workers(pool, window), pool.miner(address, window))
    found = next((w for w in rows if w.name == name), None)
    if found is None:
        raise NotFound(f"The pool has seen no share from {name} in the last day.")

    def detail() -> WorkerDetail:
        bal = miner["balance"]
        blocks = [to_block(b) for b in miner.get("blocks", []) if str(b.get("worker")) == worker_name]
        return WorkerDetail(**found.model_dump(), balance=AddressBalance(
            payable_sat=int(bal["payable"]), immature_sat=int(bal["immature"]), paid_sat=int(bal["paid"])),
            blocks=blocks)

    return cast(WorkerDetail, _shape("miners", detail))


async def miner(pool: PoolGateway, address: str, window: int = 600) -> MinerStats:
    raw, rows = await asyncio.gather(pool.miner(address, window), all_workers(pool, window))
    mine = [w for w in rows if w.address == address]

    def build() -> MinerStats:
        bal = raw["balance"]
        return MinerStats(
            address=address, hashrate_hps=max(0.0, float(raw["hashrate"])), window_s=int(raw["window_seconds"]),
            balance=AddressBalance(payable_sat=int(bal["payable"]), immature_sat=int(bal["immature"]),
                                   paid_sat=int(bal["paid"])),
            workers=mine, recent_blocks=[to_block(b) for b in raw.get("blocks", [])],
            recent_payments=[to_payment(p) for p in raw.get("payments", [])],
        )

    stats_ = cast(MinerStats, _shape("miners", build))
    if not (stats_.workers or stats_.recent_blocks or stats_.recent_payments or stats_.balance.payable_sat
            or stats_.balance.immature_sat or stats_.balance.paid_sat):
        raise NotFound(f"The pool has no record of {address}.")
    return stats_


async def id_page(fetch: Any, collection: str, cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """A newest-first page of rows with increasing ids from an offset-paged source (see the module doc)."""
    offset, below = 0, 2**62
    if cursor is not None:
        pos = decode_cursor(collection, cursor)
        offset, below = cursor_int(pos, "o"), cursor_int(pos, "i", 0, 2**62)
    ask = min(500, limit + SLACK)
    rows = await fetch(ask, offset)
    page: list[dict[str, Any]] = []
    used = 0
    for i, row in enumerate(rows):
        used = i + 1
        if int(row["id"]) >= below:
            continue
        page.append(row)
        if len(page) == limit:
            break
    more = len(rows) == ask or (len(page) == limit and used < len(rows))
    last_id = int(page[-1]["id"]) if page else below
    return page, encode_cursor(collection, o=offset + used, i=last_id) if more else None


async def blocks(pool: PoolGateway, cursor: str | None, limit: int) -> Page[PoolBlock]:
    rows, nxt = await id_page(pool.blocks, "pool-blocks", cursor, limit)
    items = cast(list[PoolBlock], _shape("blocks", lambda: [to_block(b) for b in rows]))
    return Page[PoolBlock](items=items, limit=limit, next_cursor=nxt)


async def payments(pool: PoolGateway, cursor: str | None, limit: int) -> Page[Payment]:
    rows, nxt = await id_page(pool.payments, "pool-payments", cursor, limit)
    items = cast(list[Payment], _shape("payments", lambda: [to_payment(p) for p in rows]))
    return Page[Payment](items=items, limit=limit, next_cursor=nxt)


async def history_page(pool: PoolGateway, bucket: int, count: int, end: int | None = None,
                       address: str | None = None) -> tuple[list[HashratePoint], int | None]:
    """`count` buckets ending before `end` (default: the bucket after now), newest first, zero where
    no share was accepted; and the end of the next (older) page, None past the pool's 30 days."""
    now = int(time.time())
    if end is None:
        end = (now // bucket + 1) * bucket
    oldest = now - MAX_WINDOW
    start = max(end - count * bucket, (oldest // bucket + 1) * bucket)
    if start >= end:
        return [], None
    rows = dict(await pool.history(now - start, bucket, address))
    points = [HashratePoint(time=t, hashrate_hps=max(0.0, rows.get(t, 0.0)))
              for t in range(end - bucket, start - 1, -bucket)]
    return points, start if start - bucket > oldest else None


async def hashrate(pool: PoolGateway, cursor: str | None, limit: int, bucket: int = 600,
                   address: str | None = None) -> Page[HashratePoint]:
    end = None
    if cursor is not None:
        pos = decode_cursor("pool-hashrate", cursor)
        end = cursor_int(pos, "e", 0, 2**40)
        if cursor_int(pos, "b", 10, 86400) != bucket or pos.get("a") != address:
            raise BadCursor("The cursor belongs to another bucket size or address; start again without it.")
    points, older = await history_page(pool, bucket, limit, end, address)
    nxt = encode_cursor("pool-hashrate", e=older, b=bucket, a=address) if older is not None else None
    return Page[HashratePoint](items=points, limit=limit, next_cursor=nxt)


async def earnings(pool: PoolGateway, node: NodeGateway, network: str | None, window: int = 600,
                   hashrate_hps: float | None = None) -> Earnings:
    """Expected earnings at the pool's hash rate over `window` (or at `hashrate_hps`)."""
    rate = hashrate_hps
    if rate is None:
        rate = (await stats(pool, window)).hashrate_hps
    params = await chain_params(network, node)
    info = await node.mining_info()
    nxt = info.get("next")
    difficulty = float(nxt["difficulty"]) if isinstance(nxt, dict) and "difficulty" in nxt else float(info["difficulty"])
    if params is None or difficulty <= 0:
        raise ComponentFailed("The node's network or difficulty is unknown; no estimate.")
    reward = next_reward(int(info["blocks"]), params)
    sats = sat_per_day(rate, difficulty, reward, params)
    return Earnings(hashrate_hps=rate, network_difficulty=difficulty, block_reward_sat=reward,
                    coins_per_day=sats / 100_000_000, sat_per_day=sats, coin=params.coin)
