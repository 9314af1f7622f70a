"""The pool's REST router (FastAPI). Mounted by the main app later; `create_app` serves it alone.

GET /pool/stats                  hash rate (over `window` s, default 600), miners, workers, blocks,
                                 current round effort, scheme, fee, network difficulty
GET /pool/workers                per address and worker over the window
GET /pool/blocks                 found blocks, newest first (limit/offset)
GET /pool/payments               payout transactions (limit/offset)
GET /pool/miners/{address}       per-address stats, workers, balance, blocks, payments; with merged
                                 mining `balances`, one per coin (and the aux payout address)
GET /pool/hashrate/history       hash rate per `bucket` seconds over `window` (pool or ?address=)
GET /pool/metrics                Prometheus text format
/pool/contracts/...              cloud-mining contracts (contracts/api.py)

With merged mining every block and payment names its `coin` and `network` (the pool's own chain
or an aux chain; `?coin=DOGE` filters), and the stats count blocks per coin (`coins`).

Every route needs the pool's cookie and refuses foreign Host/Origin headers (apiguard.py); the
operator's control surface is the main API's `/v1`, which calls this one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, FastAPI, HTTPException, Query, Response
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from hashforge.consensus.address import address_to_script
from hashforge.consensus.params import get_params

from .apiguard import ApiGuard
from .contracts.api import contracts_router
from .db.repositories import (
    AuxAddressRepository,
    BlockRepository,
    LedgerRepository,
    PayoutRepository,
    ShareRepository,
)
from .hashrate import format_hashrate, hashrate, share_scale
from .metrics import PoolMetrics

Window = Annotated[int, Query(ge=60, le=30 * 86400, description="seconds")]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**62)]  # within SQLite's integers


class LiveView(Protocol):
    """What the running pool tells the API beyond the database."""

    def live(self) -> dict[str, Any]: ...


def _rate(sum_diff: float, window: int, scrypt: bool) -> dict[str, Any]:
    hs = hashrate(sum_diff, window, scrypt)
    return {"hashrate": hs, "hashrate_display": format_hashrate(hs), "window_seconds": window}


def pool_router(engine: Engine, metrics: PoolMetrics, live: LiveView | None = None,
                *, scheme: str = "pplns", fee_percent: float = 0.0, scrypt: bool = False,
                network: str | None = None, aux_networks: Sequence[str] = ()) -> APIRouter:
    router = APIRouter(prefix="/pool", tags=["pool"])
    scale = share_scale(scrypt)  # network difficulty in share-difficulty units

    def own_network() -> str:
        return str(network or (live.live().get("network") if live is not None else None) or "regtest")

    def valid_address(address: str) -> bool:
        try:
            address_to_script(address, get_params(own_network()))
        except ValueError:
            return False
        return True

    def coin_of(chain: str | None) -> dict[str, str]:
        """The coin and network of a row's `chain` (None: the pool's own)."""
        net = chain or own_network()
        return {"coin": get_params(net).coin, "network": net}

    def chain_of_coin(coin: str | None) -> str | None:
        """`?coin=` as a chain filter: BlockRepository.ALL_CHAINS for none; 422 for a coin not mined here."""
        if coin is None:
            return BlockRepository.ALL_CHAINS
        for chain in (None, *aux_networks):
            if coin_of(chain)["coin"].lower() == coin.lower():
                return chain
        raise HTTPException(422, f"this pool mines no coin {coin[:16]!r}")

    router.include_router(contracts_router(engine, scrypt=scrypt, valid_address=valid_address))

    def _stats(window: int) -> dict[str, Any]:
        now = time.time()
        with engine.connect() as conn:
            diff = ShareRepository.difficulty_since(conn, now - window)
            workers = ShareRepository.workers_since(conn, now - window)
            counts = BlockRepository.count_by_status(conn)
            round_diff = ShareRepository.difficulty_after(conn, BlockRepository.last_share_id(conn))
            coins = [{**coin_of(c), "blocks": BlockRepository.count_by_status(conn, c)} for c in (None, *aux_networks)]
        info: dict[str, Any] = {"scheme": scheme, "fee_percent": fee_percent, **_rate(diff, window, scrypt),
                                "miners": len({w["address"] for w in workers}), "workers": len(workers),
                                "blocks": counts, "round_difficulty": round_diff, "coins": coins}
        if live is not None:
            info.update(live.live())
        nd = info.get("network_difficulty")  # the chain's; round_diff is in share units
        info["effort"] = round_diff / (nd * scale) if nd else None
        metrics.hashrate.set(info["hashrate"])
        return info

    @router.get("/stats")
    async def stats(window: Window = 600) -> dict[str, Any]:
        return await run_in_threadpool(_stats, window)

    def _workers(window: int, address: str | None) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            rows = ShareRepository.workers_since(conn, time.time() - window, address)
        return [{"address": r["address"], "worker": r["worker"], "shares": r["shares"], "last_share": r["last"],
                 **_rate(float(r["diff"]), window, scrypt)} for r in rows]

    @router.get("/workers")
    async def workers(window: Window = 600) -> list[dict[str, Any]]:
        return await run_in_threadpool(_workers, window, None)

    def _blocks(limit: int, offset: int, address: str | None = None,
                chain: str | None = BlockRepository.ALL_CHAINS) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            rows = BlockRepository.page(conn, limit, offset, address, chain)
        for row in rows:  # stored in share units (see ShareRecord); shown as the chain's difficulty
            if row.get("network_difficulty"):
                row["network_difficulty"] = row["network_difficulty"] / scale
            row.update(coin_of(row.pop("chain", None)))
        return rows

    @router.get("/blocks")
    async def blocks(limit: Limit = 50, offset: Offset = 0, coin: str | None = None) -> list[dict[str, Any]]:
        return await run_in_threadpool(_blocks, limit, offset, None, chain_of_coin(coin))

    def _payments(limit: int, offset: int, address: str | None = None) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            rows = PayoutRepository.page(conn, limit, offset, address)
        for row in rows:
            row.update(coin_of(row.pop("chain", None)))
        return rows

    @router.get("/payments")
    async def payments(limit: Limit = 50, offset: Offset = 0) -> list[dict[str, Any]]:
        return await run_in_threadpool(_payments, limit, offset)

    def _miner(address: str, window: int) -> dict[str, Any]:
        now = time.time()
        with engine.connect() as conn:
            diff = ShareRepository.difficulty_since(conn, now - window, address)
            balance = LedgerRepository.balance(conn, address)
            paid_to = AuxAddressRepository.of_address(conn, address) if aux_networks else {}
            balances = [{**coin_of(c), **LedgerRepository.balance(conn, address, c),
                         **({"payout_address": paid_to.get(c)} if c is not None else {})}
                        for c in (None, *aux_networks)]
        return {"address": address, **_rate(diff, window, scrypt), "balance": balance, "balances": balances,
                "workers": _workers(window, address), "blocks": _blocks(50, 0, address),
                "payments": _payments(50, 0, address)}

    @router.get("/miners/{address}")
    async def miner(address: str, window: Window = 600) -> dict[str, Any]:
        return await run_in_threadpool(_miner, address, window)

    def _history(window: int, bucket: int, address: str | None) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            rows = ShareRepository.difficulty_buckets(conn, time.time() - window, bucket, address)
        return [{"time": t, **_rate(d, bucket, scrypt)} for t, d in rows]

    @router.get("/hashrate/history")
    async def history(window: Annotated[int, Query(ge=60, le=30 * 86400)] = 86400,
                      bucket: Annotated[int, Query(ge=10, le=86400)] = 600,
                      address: str | None = None) -> list[dict[str, Any]]:
        return await run_in_threadpool(_history, window, bucket, address)

    @router.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    return router


def create_app(router: APIRouter, *, secret: str, hosts: tuple[str, ...] = (), origins: tuple[str, ...] = ()) -> FastAPI:
    """The router under `/v1`, behind the guard (apiguard.py): `secret` from the cookie file, extra
    Host names and browser origins allowed besides loopback."""
    app = FastAPI(title="hashforge pool")
    app.include_router(router, prefix="/v1")
    app.add_middleware(ApiGuard, secret=secret, hosts=hosts, origins=origins)
    return app
