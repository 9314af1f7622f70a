"""The pool REST router over a database the stratum path filled."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from hashforge.pool.api import create_app, pool_router

from .harness import MINER_ADDR, Client, grind, running_pool, submit_params


class Live:
    def live(self) -> dict[str, Any]:
        return {"connections": 1, "network_difficulty": 2.0, "height": 200}


def test_rest_api(tmp_path: Path) -> None:
    async def fill() -> None:
        async with running_pool(tmp_path) as h:
            for user in (MINER_ADDR + ".a", MINER_ADDR + ".b"):
                c = await Client.connect(h.port)
                await c.login(user)
                assert c.job is not None
                for i in range(3):
                    en2 = i.to_bytes(8, "big")
                    ntime, nonce = grind(c.job, c.en1, en2, c.difficulty)
                    assert (await c.call("mining.submit", submit_params(user, c.job, en2, ntime, nonce)))["result"]
                c.close()
            h.engine.dispose()

    asyncio.run(fill())
    from hashforge.pool.db import make_engine
    from hashforge.pool.metrics import PoolMetrics

    engine = make_engine(f"sqlite:///{tmp_path / 'pool.sqlite3'}")
    app = create_app(pool_router(engine, PoolMetrics(), Live(), scheme="pplns", fee_percent=1.0), secret="s" * 64)
    client = TestClient(app, base_url="http://127.0.0.1", headers={"Authorization": "Bearer " + "s" * 64})
    stats = client.get("/v1/pool/stats").json()
    # 6 shares of difficulty 1e-8 over 600 s: 6e-8 * 2^32 / 600 H/s
    assert stats["hashrate"] == 6e-8 * 2**32 / 600
    assert stats["hashrate_display"].endswith(" H/s") and stats["window_seconds"] == 600
    assert stats["miners"] == 1 and stats["workers"] == 2 and stats["connections"] == 1
    assert abs(stats["effort"] - 6e-8 / 2.0) < 1e-15
    workers = client.get("/v1/pool/workers").json()
    assert [w["worker"] for w in workers] == ["a", "b"] and all(w["shares"] == 3 for w in workers)
    miner = client.get(f"/v1/pool/miners/{MINER_ADDR}").json()
    assert miner["balance"] == {"payable": 0, "immature": 0, "paid": 0} and len(miner["workers"]) == 2
    hist = client.get("/v1/pool/hashrate/history", params={"window": 3600, "bucket": 60}).json()
    assert sum(b["hashrate"] * 60 for b in hist) == 6e-8 * 2**32 or abs(sum(b["hashrate"] * 60 for b in hist) - 6e-8 * 2**32) < 1e-6
    assert client.get("/v1/pool/blocks").json() == []
    assert client.get("/v1/pool/payments").json() == []
    assert client.get("/v1/pool/stats", params={"window": 5}).status_code == 422
    assert "hashforge_pool_hashrate" in client.get("/v1/pool/metrics").text
    engine.dispose()
