"""The guard in front of every request (pure ASGI): body size limit, who is calling, rate limit,
security headers and request metrics. Authorization by scope happens later, per route (auth.py).
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import problem_response
from .keys import KeyStore
from .metrics import ApiMetrics
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
