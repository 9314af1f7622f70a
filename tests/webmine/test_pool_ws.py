"""`hashforge pool --ws-port` on a real devnet node: a Stratum client over a real WebSocket mines
an accepted share that the pool's REST API reports; the dashboard serves /mine with a CSP that
lets exactly that WebSocket (and the wasm kernel) in, and says so when no endpoint is configured."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.api.served import serve
from tests.pool.harness import grind, submit_params

from .conftest import Operation
from .wsclient import WsClient

pytestmark = pytest.mark.slow


def test_share_over_websocket_accepted_by_real_pool(operation: Operation) -> None:
    op = operation
    user = f"{op.address}.pyws"

    async def main() -> None:
        c = await WsClient.connect(op.ws_port, origin=op.api.url)  # the dashboard's origin: same host
        await c.login(user)
        assert c.job is not None
        en2 = (1).to_bytes(c.en2_size, "big")
        ntime, nonce = grind(c.job, c.en1, en2, c.difficulty)
        r = await c.call("mining.submit", submit_params(user, c.job, en2, ntime, nonce), timeout=15)
        assert r["result"] is True, r
        await c.close()
        with pytest.raises(InvalidStatus):  # another site's page may not use the visitor's browser
            await WsClient.connect(op.ws_port, origin="https://miner-ads.example")

    asyncio.run(asyncio.wait_for(main(), 60))
    rows = op.workers()
    assert any(r.get("worker") == "pyws" or r.get("name") in ("pyws", user) for r in rows), rows
    assert op.metric("hashforge_pool_disconnects_total", reason="origin not allowed") >= 1


def test_mine_page_csp_and_worker_script(operation: Operation) -> None:
    op = operation
    r = httpx.get(op.api.url + "/mine", timeout=10)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert f"connect-src 'self' ws://127.0.0.1:{op.ws_port}" in csp
    assert "script-src 'self' 'wasm-unsafe-eval'" in csp and "unsafe-inline" not in csp
    assert f'data-ws="ws://127.0.0.1:{op.ws_port}"' in r.text
    assert 'data-algo="sha256d"' in r.text and 'data-network="devnet"' in r.text
    w = httpx.get(op.api.url + "/mine/worker.js", timeout=10)
    assert w.status_code == 200 and w.headers["content-type"].startswith("text/javascript")
    assert "'wasm-unsafe-eval'" in w.headers["content-security-policy"]
    assert "HFKernel" in w.text and "importScripts(" not in w.text
    # the page on another host name connects to the pool on that host name (":PORT" setting)
    r = httpx.get(op.api.url.replace("127.0.0.1", "localhost") + "/mine", timeout=10)
    assert f'data-ws="ws://localhost:{op.ws_port}"' in r.text


def test_mine_page_without_endpoint(operation: Operation, tmp_path: Path) -> None:
    api = serve(operation.node, tmp_path / "api", network="devnet")
    try:
        r = httpx.get(api.url + "/mine", timeout=10)
        assert r.status_code == 200
        assert 'id="mine-unavailable"' in r.text and "hashforge pool --ws-port 8422" in r.text
        assert "connect-src 'self';" in r.headers["content-security-policy"] + ";"
        assert '<button type="submit" id="m-start" disabled>' in r.text
    finally:
        api.stop()
