"""API keys and scopes, the loopback read policy, rate limiting, body limits and CORS — over HTTP."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from hashforge.api import ComponentAPI, ControlAccess, SpendAccess, problem_responses
from hashforge.services.keys import Scope
from tests.api.conftest import Chain
from tests.api.served import ServedApi, serve
from tests.api.test_chain import problem


class Throttle(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    percent: int


def ops_component() -> ComponentAPI:
    """A stand-in for a component with control and spend endpoints (what miner/wallet will add)."""
    router = APIRouter()

    @router.get("/status")
    async def status() -> dict[str, str]:
        return {"status": "ok"}

    @router.post("/throttle", responses=problem_responses(413))
    async def throttle(body: Throttle, caller: ControlAccess) -> dict[str, object]:
        return {"percent": body.percent, "by": caller.name}

    @router.post("/send")
    async def send(caller: SpendAccess) -> dict[str, str]:
        return {"by": caller.name}

    return ComponentAPI("ops", router)


@pytest.fixture(scope="module")
def locked(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    """An API that needs a key for everything (as when bound to a public address)."""
    served = serve(chain.node, tmp_path_factory.mktemp("locked"), ops_component(), anonymous_read=False,
                   max_body_bytes=1024)
    yield served
    served.stop()


@pytest.fixture(scope="module")
def tokens(locked: ServedApi) -> dict[str, str]:
    out = {}
    for name, scopes in [("reader", {Scope.READ}), ("operator", {Scope.READ, Scope.CONTROL}),
                         ("payer", {Scope.SPEND})]:
        _, token = locked.keys.create(name, frozenset(scopes))
        out[name] = token
    return out


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_missing_key_is_401(locked: ServedApi) -> None:
    with httpx.Client(base_url=locked.url) as c:
        for path in ["/v1/chain/tip", "/v1/ops/status", "/metrics", "/v1/events", "/"]:
            r = c.get(path)
            body = problem(r, 401)
            assert r.headers["www-authenticate"].startswith("Bearer"), path
            assert "needs a key" in body["detail"]
        assert c.get("/v1/health").status_code == 200  # liveness tells nothing private


def test_invalid_and_revoked_keys_are_401(locked: ServedApi, tokens: dict[str, str]) -> None:
    _, token = locked.keys.create("shortlived", frozenset({Scope.READ}))
    good = tokens["reader"]
    with httpx.Client(base_url=locked.url) as c:
        assert c.get("/v1/chain/tip", headers=bearer(token)).status_code == 200
        locked.keys.revoke("shortlived")
        problem(c.get("/v1/chain/tip", headers=bearer(token)), 401)
        for bad in [good[:-1] + ("A" if good[-1] != "A" else "B"), "hfk_0000000000000000_x", "nonsense", "Bearer"]:
            problem(c.get("/v1/chain/tip", headers=bearer(bad)), 401)
        assert c.get("/v1/chain/tip", headers={"X-API-Key": good}).status_code == 200


def test_scopes(locked: ServedApi, tokens: dict[str, str]) -> None:
    with httpx.Client(base_url=locked.url) as c:
        # every key reads
        for token in tokens.values():
            assert c.get("/v1/chain/tip", headers=bearer(token)).status_code == 200
            assert c.get("/v1/ops/status", headers=bearer(token)).status_code == 200
        # control needs control
        body = problem(c.post("/v1/ops/throttle", json={"percent": 50}, headers=bearer(tokens["reader"])), 403)
        assert "control" in body["detail"]
        problem(c.post("/v1/ops/throttle", json={"percent": 50}, headers=bearer(tokens["payer"])), 403)
        ok = c.post("/v1/ops/throttle", json={"percent": 50}, headers=bearer(tokens["operator"]))
        assert ok.status_code == 200 and ok.json() == {"percent": 50, "by": "operator"}
        # spend needs spend (control is not enough)
        problem(c.post("/v1/ops/send", headers=bearer(tokens["operator"])), 403)
        assert c.post("/v1/ops/send", headers=bearer(tokens["payer"])).json() == {"by": "payer"}
        # strict bodies: wrong type and unknown fields are 422 problems
        problem(c.post("/v1/ops/throttle", json={"percent": "50"}, headers=bearer(tokens["operator"])), 422)
        problem(c.post("/v1/ops/throttle", json={"percent": 5, "x": 1}, headers=bearer(tokens["operator"])), 422)


def test_body_size_limit(locked: ServedApi, tokens: dict[str, str]) -> None:
    with httpx.Client(base_url=locked.url) as c:
        big = b'{"percent": 1, "pad": "' + b"x" * 2000 + b'"}'
        headers = {**bearer(tokens["operator"]), "Content-Type": "application/json"}
        problem(c.post("/v1/ops/throttle", content=big, headers=headers), 413)

        def chunks() -> Iterator[bytes]:
            yield big[:1000]
            yield big[1000:]

        problem(c.post("/v1/ops/throttle", content=chunks(), headers=headers), 413)


def test_keys_are_stored_hashed(locked: ServedApi, tokens: dict[str, str]) -> None:
    db = sqlite3.connect(locked.keys.path)
    rows = db.execute("SELECT name, scopes, secret_sha256 FROM api_keys").fetchall()
    db.close()
    raw = locked.keys.path.read_bytes()
    for token in tokens.values():
        secret = token.split("_", 2)[2]  # the secret may contain "_" itself
        assert secret.encode() not in raw
        assert all(secret.encode() not in bytes(r[2]) for r in rows)
    assert {r[0] for r in rows} >= {"reader", "operator", "payer"}
    assert (locked.keys.path.stat().st_mode & 0o077) == 0


def test_loopback_policy(api: ServedApi) -> None:
    with httpx.Client(base_url=api.url) as c:
        assert c.get("/v1/chain/tip").status_code == 200  # anonymous read on loopback
        # a page on another name that resolves to 127.0.0.1 (DNS rebinding) gets no anonymous reads
        problem(c.get("/v1/chain/tip", headers={"Host": "attacker.example"}), 401)
        # a key that is present but wrong is refused, not downgraded to anonymous
        problem(c.get("/v1/chain/tip", headers=bearer("hfk_0123456789abcdef_nope")), 401)


def test_rate_limit_429_with_retry_after(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> None:
    served = serve(chain.node, tmp_path_factory.mktemp("rl"), rate_per_s=0.2, rate_burst=3)
    try:
        _, token = served.keys.create("busy", frozenset({Scope.READ}))
        with httpx.Client(base_url=served.url) as c:
            assert [c.get("/v1/health").status_code for _ in range(3)] == [200, 200, 200]
            r = c.get("/v1/chain/tip")
            body = problem(r, 429)
            assert 1 <= int(r.headers["retry-after"]) <= 5 and "exceeded" in body["detail"]
            problem(c.get("/nothing"), 429)  # unknown paths count too
            # a key has its own bucket; static files are not limited
            assert c.get("/v1/chain/tip", headers=bearer(token)).status_code == 200
            assert c.get("/static/style.css").status_code == 200
            # random bad tokens share the caller's address bucket (no bypass by inventing keys)
            problem(c.get("/v1/chain/tip", headers=bearer("hfk_aaaaaaaaaaaaaaaa_x")), 429)
            assert "hashforge_api_rate_limited_total 3.0" in c.get("/metrics", headers=bearer(token)).text
    finally:
        served.stop()


def test_cors_only_for_configured_origins(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> None:
    served = serve(chain.node, tmp_path_factory.mktemp("cors"), cors_origins=("http://dash.example:8080",))
    try:
        with httpx.Client(base_url=served.url) as c:
            ok = c.get("/v1/chain/tip", headers={"Origin": "http://dash.example:8080"})
            assert ok.headers["access-control-allow-origin"] == "http://dash.example:8080"
            other = c.get("/v1/chain/tip", headers={"Origin": "http://evil.example"})
            assert "access-control-allow-origin" not in other.headers
    finally:
        served.stop()
