"""The pool's REST API (with its contracts routes) served for real over a scripted farm database,
and the public API (`/v1`) in front of it with the pool attached, both on loopback ports."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from hashforge.api.attach import pool_component
from hashforge.pool.api import create_app, pool_router
from hashforge.pool.apiguard import COOKIE_FILE, ensure_cookie
from hashforge.pool.metrics import PoolMetrics
from hashforge.services.gateways.pool import PoolGateway
from hashforge.services.keys import Scope
from tests.api.served import ServedApi, serve
from tests.helpers.nodeproc import NodeProcess, free_port

from .books import CUST_A, CUST_B, FARM_HPS, Farmland

H = 3600.0


class PoolApi:
    def __init__(self, land: Farmland, datadir: Path) -> None:
        self.port = free_port()
        self.engine = land.engine
        self.cookie = datadir / COOKIE_FILE
        app = create_app(pool_router(land.engine, PoolMetrics(), network="regtest"), secret=ensure_cookie(self.cookie))
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> PoolApi:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "pool API did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Site:
    land: Farmland
    pool: PoolApi
    api: ServedApi
    control: str  # tokens
    reader: str
    alice_contract: int
    bob_contract: int


def scripted(tmp: Path) -> tuple[Farmland, int, int]:
    """Two days of contracts (alice 25 %, bob 50 % from +6 h) over four farm blocks, allocated."""
    land = Farmland.create(tmp)
    t0 = land.t0
    land.block(t0)
    a = land.sell(t0, FARM_HPS // 4, 2, CUST_A, "alice")
    b = land.sell(t0, FARM_HPS // 2, 1, CUST_B, "bob", start=t0 + 6 * H, fee_percent="5")
    for hours in (12, 36, 60):
        land.block(t0 + hours * H)
    land.mine_until(t0 + 72 * H)
    land.allocate()
    land.confirm_all()
    return land, int(a["id"]), int(b["id"])


def site(node: NodeProcess, tmp: Path) -> Iterator[Site]:
    land, a, b = scripted(tmp / "pool")
    pool = PoolApi(land, tmp / "pool").start()
    api = serve(node, tmp / "api", lambda bus: pool_component(PoolGateway(pool.url, pool.cookie), bus, poll_s=3600))
    try:
        _, control = api.keys.create("operator", frozenset({Scope.READ, Scope.CONTROL}))
        _, reader = api.keys.create("reader", frozenset({Scope.READ}))
        yield Site(land, pool, api, control, reader, a, b)
    finally:
        api.stop()
        pool.stop()
        land.engine.dispose()
