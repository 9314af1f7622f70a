"""Issue 17 items 4 and 11: the pool's own REST API (served for real on a loopback port) needs its
cookie on every route, refuses foreign Host and Origin headers and non-JSON writes, and answers
out-of-range numbers with 422, never 500; the operator's writes still work through `/v1`."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hashforge.pool.api import create_app, pool_router
from hashforge.pool.apiguard import COOKIE_FILE, ensure_cookie, read_cookie
from hashforge.pool.metrics import PoolMetrics
from hashforge.services.errors import ComponentFailed
from hashforge.services.gateways.pool import PoolGateway

from .books import CUST_A, FARM_HPS, OP
from .served import PoolApi, Site, scripted

EVIL = "rebind.attacker.example"


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PoolApi]:
    tmp = tmp_path_factory.mktemp("guard")
    land, _, _ = scripted(tmp / "pool")
    api = PoolApi(land, tmp / "pool").start()
    try:
        yield api
    finally:
        api.stop()
        land.engine.dispose()


@pytest.fixture()
def http(pool: PoolApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{pool.url}v1/pool", timeout=30) as c:
        yield c


def cookie(pool: PoolApi) -> tuple[str, str]:
    return read_cookie(pool.cookie)


def sale(**over: Any) -> dict[str, Any]:
    return {"customer_id": "mallory", "customer_name": "Mallory", "payout_address": CUST_A,
            "hashrate_hps": FARM_HPS // 100, "days": 1, "price_sat": 1000, **over}


def farm(http: httpx.Client, pool: PoolApi) -> Any:
    r = http.get("/contracts/farm", auth=cookie(pool))
    assert r.status_code == 200, r.text
    return r.json()


def count(http: httpx.Client, pool: PoolApi) -> int:
    return len(http.get("/contracts", auth=cookie(pool)).json())


def test_cookie_file_is_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / COOKIE_FILE
    secret = ensure_cookie(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert read_cookie(path) == ("__cookie__", secret) and len(secret) == 64
    os.chmod(path, 0o644)
    assert ensure_cookie(path) == secret and stat.S_IMODE(os.stat(path).st_mode) == 0o600  # kept, tightened
    path.write_text("garbage\n")
    assert ensure_cookie(path) != secret  # not a cookie: replaced


def test_every_route_needs_the_cookie(pool: PoolApi, http: httpx.Client) -> None:
    app = create_app(pool_router(pool.engine, PoolMetrics(), network="regtest"), secret="x" * 64)
    routes = [(m.upper(), path) for path, ops in app.openapi()["paths"].items() for m in ops]
    assert len(routes) >= 15
    user, secret = cookie(pool)
    for method, path in routes:
        url = path.removeprefix("/v1/pool").replace("{address}", OP).replace("{customer_id}", "alice") \
            .replace("{contract_id}", "1")
        for auth in (None, (user, "0" * 64), ("admin", secret)):
            r = http.request(method, url, auth=auth, json={} if method != "GET" else None)
            assert r.status_code == 401, (method, url, auth, r.status_code)
            assert r.headers["www-authenticate"].startswith("Basic")
        assert http.request("GET", "/stats", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_the_issue_reproductions_are_refused(pool: PoolApi, http: httpx.Client) -> None:
    before_farm, before_count = farm(http, pool), count(http, pool)
    # curl -X PUT .../contracts/farm with the attacker's address, no secret
    r = http.put("/contracts/farm", json={"addresses": [CUST_A], "capacity_hps": 10**12})
    assert r.status_code == 401
    # POST a contract at price 0, no secret
    assert http.post("/contracts", json=sale(price_sat=0)).status_code == 401
    assert farm(http, pool) == before_farm and count(http, pool) == before_count
    # a legitimate sale with the cookie, to cancel below
    made = http.post("/contracts", json=sale(), auth=cookie(pool))
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    # a cross-site "simple request": Origin evil + text/plain -- refused even if it somehow had the cookie
    for secret in ("", f"Bearer {cookie(pool)[1]}"):
        r = http.post(f"/contracts/{cid}/cancel", content=b"{}", headers={
            "Origin": "https://evil.example", "Content-Type": "text/plain", "Authorization": secret})
        assert r.status_code == 403, r.text
    # text/plain or a form, no Origin, with the cookie: still not a write we take
    for ctype in ("text/plain", "application/x-www-form-urlencoded", None):
        r = http.post(f"/contracts/{cid}/cancel", content=b"", auth=cookie(pool),
                      headers={"Content-Type": ctype} if ctype else {})
        assert r.status_code == 415, (ctype, r.text)
    # DNS rebinding: the page's own host name in Host, or the right name with another port
    port = pool.port
    for host in (f"{EVIL}:{port}", EVIL, f"127.0.0.1:{port + 1}", f"localhost.{EVIL}:{port}", ""):
        r = http.get("/contracts/farm", auth=cookie(pool), headers={"Host": host})
        assert r.status_code == 421, (host, r.status_code)
    assert http.get(f"/contracts/{cid}", auth=cookie(pool)).json()["state"] == "active"  # nothing cancelled it
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        assert http.get("/contracts/farm", auth=cookie(pool), headers={"Host": host}).status_code == 200
    done = http.post(f"/contracts/{cid}/cancel", auth=cookie(pool), headers={"Content-Type": "application/json"})
    assert done.status_code == 200 and done.json()["state"] == "cancelled"


def test_configured_origin_and_host_name(pool: PoolApi) -> None:
    app = create_app(pool_router(pool.engine, PoolMetrics(), network="regtest"), secret="k" * 64,
                     hosts=("pool.lan",), origins=("https://ops.example",))
    from fastapi.testclient import TestClient

    client = TestClient(app, base_url="http://pool.lan", headers={"Authorization": "Bearer " + "k" * 64})
    assert client.get("/v1/pool/stats").status_code == 200
    assert client.get("/v1/pool/stats", headers={"Origin": "https://ops.example/"}).status_code == 200
    assert client.get("/v1/pool/stats", headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.get("/v1/pool/stats", headers={"Origin": "null"}).status_code == 403
    assert client.get("/v1/pool/stats", headers={"Host": "other.lan"}).status_code == 421


@pytest.mark.parametrize(("field", "value"), [
    ("price_sat", 1e26), ("price_sat", 10**26), ("fee_sat_per_day", 1e26), ("fee_sat_per_day", 2**63 // 3650 + 1),
    ("hashrate_hps", 2**63), ("start_time", 1e300), ("start_time", 7258118401), ("start_time", -1.0),
])
def test_out_of_range_numbers_are_422(pool: PoolApi, http: httpx.Client, field: str, value: Any) -> None:
    before = count(http, pool)
    r = http.post("/contracts", json=sale(**{field: value}), auth=cookie(pool))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == field
    assert count(http, pool) == before


def test_out_of_range_ids_and_offsets_are_422(pool: PoolApi, http: httpx.Client) -> None:
    for path in ("/contracts/99999999999999999999999", "/contracts/99999999999999999999999/allocations",
                 "/contracts/0"):
        assert http.get(path, auth=cookie(pool)).status_code == 422, path
    r = http.post("/contracts/99999999999999999999999/cancel", auth=cookie(pool), json={})
    assert r.status_code == 422
    for path in ("/blocks", "/payments", "/contracts/periods"):
        assert http.get(path, params={"offset": 10**20}, auth=cookie(pool)).status_code == 422, path
    assert http.put("/contracts/farm", json={"addresses": [OP], "capacity_hps": 1e26},
                    auth=cookie(pool)).status_code == 422


def test_gateway_rereads_a_replaced_cookie(pool: PoolApi, tmp_path: Path) -> None:
    path = tmp_path / COOKIE_FILE
    path.write_text("__cookie__:" + "0" * 64 + "\n")  # stale

    async def run() -> None:
        gateway = PoolGateway(pool.url, path)
        try:
            with pytest.raises(ComponentFailed, match="HTTP 401"):
                await gateway.stats()
            path.write_text(pool.cookie.read_text())  # the operator put the right one back
            assert "hashrate" in await gateway.stats()
            assert (await gateway.contracts("GET", "/farm"))["addresses"] == [OP]
        finally:
            await gateway.aclose()

    asyncio.run(run())


def test_operator_writes_through_v1(served: Site) -> None:
    """The legitimate path: /v1 with a control key reaches the guarded pool API (cookie, JSON writes)."""
    with httpx.Client(base_url=served.api.url, timeout=30,
                      headers={"Authorization": f"Bearer {served.control}"}) as v1:
        body = v1.get("/v1/pool/contracts/farm").json()
        assert v1.put("/v1/pool/contracts/farm", json=body).json() == body
        made = v1.post("/v1/pool/contracts", json=sale(customer_id="dave", customer_name="Dave"))
        assert made.status_code == 201, made.text
        cancelled = v1.post(f"/v1/pool/contracts/{made.json()['id']}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        # item 11 through /v1: 422 at its edge, never a 502 from the pool's database
        for over in ({"price_sat": 1e26}, {"fee_sat_per_day": 1e26}, {"start_time": 1e300}, {"price_sat": 10**26}):
            r = v1.post("/v1/pool/contracts", json=sale(customer_id="erin", customer_name="Erin", **over))
            assert r.status_code == 422, (over, r.text)
        assert v1.get("/v1/pool/contracts/99999999999999999999999").status_code in (404, 422)
        assert v1.get("/v1/pool/contracts", params={"customer": "erin"}).json() == []
        assert v1.put("/v1/pool/contracts/farm", json={**body, "capacity_hps": 10**26}).status_code == 422
    # without a key, /v1 refuses the writes the pool's own API used to take
    with httpx.Client(base_url=served.api.url, timeout=30) as anon:
        assert anon.put("/v1/pool/contracts/farm", json={"addresses": [CUST_A]}).status_code == 401
        assert anon.post("/v1/pool/contracts", json=sale(price_sat=0)).status_code == 401
