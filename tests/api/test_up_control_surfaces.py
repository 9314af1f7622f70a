"""Issue 17 items 4-6 on the real thing: `hashforge up` (devnet, PPLNS), then the issue's attacks from
the same machine -- the pool API's curls, the cgminer addpool, the DNS-rebinding WebSocket -- all
refused, while the dashboard's own paths (`/v1`, its origin on the WebSocket) still work."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from hashforge.pool.apiguard import COOKIE_FILE, read_cookie
from tests.helpers.chaos import UpProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    running = UpProcess(tmp_path_factory.mktemp("upcs"))
    try:
        running.wait_event("ready", 180)
        yield running
    finally:
        running.stop()


def cgminer(port: int, request: dict[str, Any]) -> dict[str, Any]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(json.dumps(request).encode())
        data = b""
        while not data.endswith(b"\x00"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    reply: dict[str, Any] = json.loads(data.rstrip(b"\x00"))
    return reply


def test_pool_api_curls_are_refused(up: UpProcess) -> None:
    base = f"http://127.0.0.1:{up.port('--pool-api-port')}/v1/pool"
    cookie = up.datadir / "pool" / COOKIE_FILE
    assert stat.S_IMODE(os.stat(cookie).st_mode) == 0o600
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.put("/contracts/farm", json={"addresses": ["x"], "capacity_hps": 10**12}).status_code == 401
        assert http.post("/contracts", json={"customer_id": "m", "customer_name": "M", "payout_address": "x",
                                              "hashrate_hps": 1, "days": 1, "price_sat": 0}).status_code == 401
        r = http.post("/contracts/1/cancel", content=b"{}",
                      headers={"Origin": "https://evil.example", "Content-Type": "text/plain"})
        assert r.status_code == 403
        r = http.get("/stats", auth=read_cookie(cookie), headers={"Host": "rebind.attacker.example"})
        assert r.status_code == 421
        assert http.get("/stats", auth=read_cookie(cookie)).status_code == 200
        assert http.get("/contracts/99999999999999999999999", auth=read_cookie(cookie)).status_code == 422
    # the public API, which up attached to the pool with the cookie, still reads it
    with httpx.Client(base_url=f"http://127.0.0.1:{up.port('--api-port')}", timeout=30) as v1:
        assert v1.get("/v1/pool/stats").status_code == 200
        assert v1.get("/v1/pool/contracts/farm").status_code == 404  # "no farm yet", not a 502
        assert v1.put("/v1/pool/contracts/farm", json={"addresses": ["x"]}).status_code == 401


def test_cgminer_addpool_and_quit_are_denied(up: UpProcess) -> None:
    port = up.port("--miner-api-port")
    before = cgminer(port, {"command": "pools"})["POOLS"]
    for cmd, param in (("addpool", "stratum+tcp://127.0.0.1:9,attacker.w,x"), ("removepool", "0"),
                       ("quit", ""), ("restart", "")):
        st = cgminer(port, {"command": cmd, "parameter": param})["STATUS"][0]
        assert (st["STATUS"], st["Code"], st["Msg"]) == ("E", 45, f"Access denied to '{cmd}' command")
    assert [p["URL"] for p in cgminer(port, {"command": "pools"})["POOLS"]] == [p["URL"] for p in before]
    # the dashboard's control, through /v1 (a control key is needed there; here: the miner allows it)
    assert cgminer(port, {"command": "enablepool", "parameter": "0"})["STATUS"][0]["Code"] == 49  # already


def test_rebinding_page_cannot_use_the_websocket(up: UpProcess) -> None:
    ws_port = up.port("--ws-port")

    async def handshake(origin: str, host: str = "127.0.0.1") -> None:
        sock = socket.create_connection(("127.0.0.1", ws_port), timeout=5)
        ws = await connect(f"ws://{host}:{ws_port}/", origin=origin, sock=sock, open_timeout=5)  # type: ignore[arg-type]
        await ws.close()

    with pytest.raises(InvalidStatus) as e:
        asyncio.run(handshake(f"http://rebind.evil.example:{ws_port}", "rebind.evil.example"))
    assert e.value.response.status_code == 403
    asyncio.run(handshake(f"http://127.0.0.1:{up.port('--api-port')}"))  # the dashboard's /mine page: 101
