"""Dashboard sign-in where reads need a key (as on a non-loopback bind): /login sets an HttpOnly,
SameSite=Strict cookie holding a read key; it opens the pages and /v1/events for GET, never a POST."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest
from fastapi import APIRouter

from hashforge.api import ComponentAPI, ControlAccess
from hashforge.httpedge.session import SESSION_COOKIE
from hashforge.services.keys import Scope
from tests.api.conftest import ADDRESS, Chain
from tests.api.served import ServedApi, serve
from tests.api.test_chain import problem
from tests.api.test_events import open_stream, read_events
from tests.helpers.browser import open_page, playwright_or_skip

HTML = {"Accept": "text/html,application/xhtml+xml"}
T = 20_000  # ms for the browser: CI runs the suite in parallel on 2 cores


def control_component() -> ComponentAPI:
    """A component with a control-scoped POST and a control-scoped GET."""
    router = APIRouter()

    @router.post("/throttle")
    async def throttle(caller: ControlAccess) -> dict[str, str]:
        return {"by": caller.name}

    @router.get("/secrets")
    async def secrets(caller: ControlAccess) -> dict[str, str]:
        return {"by": caller.name}

    return ComponentAPI("ops", router)


@pytest.fixture(scope="module")
def locked(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    served = serve(chain.node, tmp_path_factory.mktemp("login"), control_component(), anonymous_read=False)
    yield served
    served.stop()


@pytest.fixture(scope="module")
def tokens(locked: ServedApi) -> dict[str, str]:
    return {name: locked.keys.create(name, frozenset(scopes))[1]
            for name, scopes in [("reader", {Scope.READ}), ("operator", {Scope.READ, Scope.CONTROL})]}


def _sign_in(c: httpx.Client, token: str, next_url: str = "/") -> httpx.Response:
    return c.post("/login", data={"key": token, "next": next_url}, headers=HTML)


def _set_cookie(r: httpx.Response) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in r.headers.get_list("set-cookie"):
        jar.load(header)
    return jar


def test_pages_without_a_key_send_browsers_to_sign_in(locked: ServedApi) -> None:
    with httpx.Client(base_url=locked.url, timeout=30) as c:
        r = c.get("/blocks?cursor=abc", headers=HTML)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fblocks%3Fcursor%3Dabc"
        assert problem(c.get("/"), 401)["detail"].startswith("This needs a key")  # not a browser: the problem
        problem(c.get("/v1/chain/tip", headers=HTML), 401)  # the JSON API never redirects
        page = c.get(r.headers["location"])
        assert page.status_code == 200 and 'action="/login"' in page.text
        assert 'name="next" value="/blocks?cursor=abc"' in page.text
        assert c.get("/login/status").json() == {"needs_key": True, "signed_in": False}
        r = c.get("/workers/caf\u00e9?q=\u00e9", headers=HTML)  # UTF-8 path, percent-encoded query, both kept
        assert r.headers["location"] == "/login?next=%2Fworkers%2Fcaf%C3%A9%3Fq%3D%25C3%25A9"


def test_sign_in_sets_a_strict_httponly_cookie_that_opens_reads(locked: ServedApi, tokens: dict[str, str]) -> None:
    with httpx.Client(base_url=locked.url, timeout=30) as c:
        r = _sign_in(c, tokens["reader"], "/blocks")
        assert r.status_code == 303 and r.headers["location"] == "/blocks"
        morsel = _set_cookie(r)[SESSION_COOKIE]
        assert morsel.value == tokens["reader"]
        assert morsel["httponly"] and morsel["samesite"] == "strict" and morsel["path"] == "/"
        assert not morsel["secure"]  # plain http here; see the https test below
        page = c.get("/", headers=HTML)
        assert page.status_code == 200 and 'id="stat-height"' in page.text
        assert c.get("/charts/difficulty.svg").headers["content-type"].startswith("image/svg+xml")
        assert c.get("/v1/chain/tip").json()["height"] >= 0  # the dashboard's own live fetches
        assert c.get("/login/status").json() == {"needs_key": True, "signed_in": True}
        assert "Signed in with the key <strong>reader</strong>" in c.get("/login").text


def test_live_events_work_with_the_cookie(locked: ServedApi, tokens: dict[str, str], chain: Chain) -> None:
    with httpx.Client(base_url=locked.url, timeout=httpx.Timeout(20)) as c:
        with open_stream(c, "?types=block") as r:
            assert r.status_code == 401
        _sign_in(c, tokens["reader"])
        with open_stream(c, "?types=block") as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            [new_hash] = chain.node.call("generatetoaddress", 1, ADDRESS)
            [(_, kind, data)] = read_events(r.iter_lines(), 1, "block")
            assert kind == "block" and data["hash"] == new_hash


def test_the_cookie_never_counts_for_control(locked: ServedApi, tokens: dict[str, str]) -> None:
    with httpx.Client(base_url=locked.url, timeout=30) as c:
        # a cookie holding a control key (not one /login hands out): still nothing but reads
        c.cookies.set(SESSION_COOKIE, tokens["operator"])
        # the middleware passes no cookie on a POST: the caller is nobody (401), not a key without
        # the scope (403)
        assert problem(c.post("/v1/ops/throttle"), 401)["detail"].startswith("This needs a key")
        assert "control scope" in problem(c.get("/v1/ops/secrets"), 401)["detail"]
        assert c.get("/v1/chain/tip").status_code == 200
        auth = {"Authorization": f"Bearer {tokens['operator']}"}
        assert c.post("/v1/ops/throttle", headers=auth).json() == {"by": "operator"}
        assert c.get("/v1/ops/secrets", headers=auth).json() == {"by": "operator"}


def test_every_page_header_offers_sign_out_when_signed_in_by_cookie(locked: ServedApi, tokens: dict[str, str],
                                                                    api: ServedApi) -> None:
    link = 'id="sign-out-link"'
    with httpx.Client(base_url=locked.url, timeout=30) as c:
        assert link not in c.get("/login").text
        _sign_in(c, tokens["reader"])
        for path in ("/", "/blocks", "/workers", "/payouts", "/login", "/blocks/999999999"):
            page = c.get(path, headers=HTML)
            assert page.status_code in (200, 404) and f'<a href="/logout" {link}' in page.text, path
        # a key in the Authorization header is no browser session: nothing to sign out of
        auth = {**HTML, "Authorization": f"Bearer {tokens['reader']}"}
        assert link not in httpx.get(locked.url + "/blocks", headers=auth, timeout=30).text
        c.get("/logout")
        assert link not in c.get("/login").text
    with httpx.Client(base_url=api.url, timeout=30) as c:  # loopback, anonymous reads: never signed in
        assert link not in c.get("/", headers=HTML).text


def test_bad_sign_ins_set_no_cookie(locked: ServedApi, tokens: dict[str, str]) -> None:
    with httpx.Client(base_url=locked.url, timeout=30) as c:
        for token, status, says in [("hfk_0123456789abcdef_nope", 401, "not valid"), ("", 401, "not valid"),
                                    (tokens["operator"], 403, "read-only key")]:
            r = _sign_in(c, token)
            assert r.status_code == status and says in r.text and 'role="alert"' in r.text, (status, r.text)
            assert "set-cookie" not in r.headers
        r = c.post("/login", data={"key": tokens["reader"]}, headers={**HTML, "Origin": "https://evil.example"})
        assert r.status_code == 403 and "set-cookie" not in r.headers
        r = _sign_in(c, tokens["reader"], "//evil.example/x")  # no open redirect
        assert r.status_code == 303 and r.headers["location"] == "/"


def test_sign_out_and_revocation_end_the_session(locked: ServedApi) -> None:
    _, token = locked.keys.create("shortlived-reader", frozenset({Scope.READ}))
    with httpx.Client(base_url=locked.url, timeout=30) as c:
        _sign_in(c, token)
        assert c.get("/", headers=HTML).status_code == 200
        r = c.post("/logout")
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert _set_cookie(r)[SESSION_COOKIE]["max-age"] == "0"
        assert c.get("/", headers=HTML).status_code == 303
        _sign_in(c, token)
        assert c.get("/", headers=HTML).status_code == 200
        locked.keys.revoke("shortlived-reader")
        assert c.get("/", headers=HTML).headers["location"] == "/login?next=%2F"
        problem(c.get("/v1/chain/tip"), 401)


def test_cookie_is_secure_over_https(locked: ServedApi, tokens: dict[str, str]) -> None:
    from hashforge.api.app import create_app

    app = create_app(locked.server.settings, locked.components, locked.keys)

    async def go() -> httpx.Response:  # the app in-process over https (no lifespan: /login needs no node)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://dash.example") as c:
            return await c.post("/login", data={"key": tokens["reader"]})

    r = asyncio.run(go())
    assert r.status_code == 303
    assert _set_cookie(r)[SESSION_COOKIE]["secure"]


def test_loopback_dashboard_needs_no_sign_in(api: ServedApi) -> None:
    with httpx.Client(base_url=api.url, timeout=30) as c:
        assert c.get("/", headers=HTML).status_code == 200
        assert c.get("/login/status").json() == {"needs_key": False, "signed_in": False}
        assert "signing in is optional" in c.get("/login").text


def test_sign_in_in_a_real_browser(locked: ServedApi, tokens: dict[str, str], chain: Chain,
                                   browser: Any) -> None:
    """Chromium: redirected to /login, signs in, and the overview goes live over SSE with the cookie."""
    sync_api = playwright_or_skip()  # the browser fixture has skipped already when chromium is missing
    page, errors = open_page(browser, errors="page")
    page.goto(locked.url + "/blocks")
    assert page.url == locked.url + "/login?next=%2Fblocks"
    sync_api.expect(page.locator("#live-status .text")).to_have_text("Not signed in", timeout=T)
    page.fill("#login-key", "hfk_0123456789abcdef_wrong")
    page.click("#login-form button")
    sync_api.expect(page.locator("#login-error")).to_contain_text("not valid", timeout=T)
    page.fill("#login-key", tokens["reader"])
    page.click("#login-form button")
    page.wait_for_url(locked.url + "/blocks")
    sync_api.expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=T)
    [cookie] = page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # HttpOnly: scripts never see the key
    page.goto(locked.url + "/")
    height = chain.node.call("getblockcount")
    sync_api.expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=T)
    chain.node.call("generatetoaddress", 1, ADDRESS)
    sync_api.expect(page.locator("#stat-height")).to_have_text(str(height + 1), timeout=T)
    # the cookie expires while a page is open: the stream's next try is refused, the page
    # offers to sign in again (and comes back here afterwards)
    context = page.context

    def refuse(route: Any) -> None:
        context.clear_cookies()
        route.fulfill(status=401, content_type="application/problem+json", body="{}")

    page.route("**/v1/events*", refuse)
    page.goto(locked.url + "/blocks")
    link = page.locator("#sign-in-link")
    sync_api.expect(link).to_have_attribute("href", "/login?next=%2Fblocks", timeout=T)
    sync_api.expect(page.locator("#live-status")).to_have_attribute("data-state", "down", timeout=T)
    assert errors == []
    page.context.close()
