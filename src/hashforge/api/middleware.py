"""The guard in front of every request (pure ASGI): body size limit, who is calling, rate limit,
security headers and request metrics. Authorization by scope happens later, per route
(hashforge.httpedge.access).

Who is calling: the key in `Authorization`/`X-API-Key`, or, for GET/HEAD only, the read key a
browser signed in with at /login (an HttpOnly, SameSite=Strict cookie). The cookie never counts
for other methods, so a page on another site cannot make a browser control or spend (CSRF); and
a browser navigating to a dashboard page that needs a key is sent to /login instead of a 401.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hashforge.httpedge.session import COOKIE_METHODS, LOGIN_PATH, SESSION_COOKIE
from hashforge.services.keys import KeyStore
from hashforge.services.metrics import ApiMetrics

from .errors import problem_response
from .ratelimit import TokenBuckets, retry_after_header

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
]
UNLIMITED_PREFIXES = ("/static/",)


def route_label(scope: Scope) -> str:
    """The path with parameter values put back as `{name}` (bounded label cardinality)."""
    if "route" not in scope:
        return "unmatched"
    params = {str(v): k for k, v in scope.get("path_params", {}).items()}
    return "/".join(f"{{{params[seg]}}}" if seg in params else seg for seg in scope["path"].split("/"))


def bearer_token(headers: dict[bytes, bytes]) -> str | None:
    """The token from `Authorization: Bearer T` or `X-API-Key: T` (None if neither is present)."""
    auth = headers.get(b"authorization")
    if auth is not None:
        scheme, _, token = auth.decode("latin-1").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else auth.decode("latin-1")
    key = headers.get(b"x-api-key")
    return key.decode("latin-1").strip() if key is not None else None


def cookie_value(headers: dict[bytes, bytes], name: str) -> str | None:
    """The value of cookie `name` from the Cookie header (None if absent)."""
    raw = headers.get(b"cookie")
    if raw is None:
        return None
    for part in raw.decode("latin-1").split(";"):
        k, sep, v = part.strip().partition("=")
        if sep and k == name:
            return v.strip().strip('"')
    return None


def _wants_page(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    """A browser navigating to a dashboard page (not the JSON API, not a static file)."""
    path: str = scope["path"]
    return (scope["method"] in COOKIE_METHODS and b"text/html" in headers.get(b"accept", b"")
            and not path.startswith(("/v1/", "/static/", LOGIN_PATH)))


def _sign_in_instead_of_401(scope: Scope, send: Send) -> Send:
    """Turns a 401 into a 303 to the sign-in page (which comes back to this page afterwards)."""
    query: bytes = scope.get("query_string") or b""
    target = scope["path"].encode("utf-8") + (b"?" + query if query else b"")
    location = f"{LOGIN_PATH}?next={quote(target, safe='')}".encode("ascii")
    replaced = False

    async def wrapped(message: Message) -> None:
        nonlocal replaced
        if message["type"] == "http.response.start" and message["status"] == 401:
            replaced = True
            await send({"type": "http.response.start", "status": 303,
                        "headers": [(b"location", location), (b"content-length", b"0"), (b"cache-control", b"no-store")]})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        elif not replaced:
            await send(message)

    return wrapped


class GuardMiddleware:
    def __init__(
        self, app: ASGIApp, keys: KeyStore, buckets: TokenBuckets, max_body: int, metrics: ApiMetrics
    ) -> None:
        self.app = app
        self.keys = keys
        self.buckets = buckets
        self.max_body = max_body
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = [500]

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                headers = list(message.get("headers", []))
                names = {h[0].lower() for h in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in names]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self._guarded(scope, receive, send_wrapped)
        finally:
            label = route_label(scope)
            self.metrics.observe_request(scope["method"], label, status_holder[0], time.perf_counter() - started)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        path: str = scope["path"]

        # 1. body size: refuse early on Content-Length, otherwise buffer up to the limit.
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                await problem_response(400, detail="Bad Content-Length.", instance=path)(scope, receive, send)
                return
            if too_big:
                await self._too_large(scope, receive, send)
                return
        elif b"transfer-encoding" in headers:
            body, more_than_max = await self._read_body(receive)
            if more_than_max:
                await self._too_large(scope, receive, send)
                return
            receive = _replay(body, receive)

        # 2. who is calling: a valid key, an invalid one (refused per route), or nobody.
        token = bearer_token(headers)
        key = self.keys.verify(token) if token else None
        state: dict[str, Any] = scope.setdefault("state", {})
        state["api_key"] = key
        state["api_key_invalid"] = token is not None and key is None
        state["api_key_from_cookie"] = False
        if token is None and scope["method"] in COOKIE_METHODS:
            session = cookie_value(headers, SESSION_COOKIE)
            # a stale cookie (revoked key) counts as no key: the page asks to sign in again
            cookie_key = self.keys.verify(session) if session else None
            if cookie_key is not None:
                state["api_key"] = key = cookie_key
                state["api_key_from_cookie"] = True
        if token is None and key is None and _wants_page(scope, headers):
            send = _sign_in_instead_of_401(scope, send)

        # 3. rate limit per key, else per client address (so random bad tokens share one bucket).
        if not path.startswith(UNLIMITED_PREFIXES):
            client = scope.get("client")
            who = f"key:{key.id}" if key is not None else f"ip:{client[0] if client else '?'}"
            wait = self.buckets.take(who)
            if wait > 0:
                self.metrics.rate_limited.inc()
                response = problem_response(
                    429,
                    "Too Many Requests",
                    f"Rate limit of {self.buckets.rate:g} requests/s (burst {self.buckets.burst}) exceeded.",
                    "rate-limited",
                    path,
                    headers={"Retry-After": retry_after_header(wait)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _read_body(self, receive: Receive) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return b"", True
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), False

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413, "Request body too large", f"Bodies are limited to {self.max_body} bytes.",
            "payload-too-large", scope["path"], headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
