"""The guard in front of the pool's own REST API: a secret for every route, and no way in for a web page.

The pool's API is internal: the operator's control surface is the main API's `/v1` with its scoped
keys, which reaches the pool through this one. So every request must
- name this server in `Host` (127.0.0.1, localhost, [::1] or a configured name, with the port it
  was sent to): a DNS-rebinding page names its own host -> 421;
- carry no `Origin` unless it is a configured one: browsers send it, our clients do not -> 403;
- carry the secret of the cookie file (`DATADIR/api.cookie`, 0600, `__cookie__:<hex>` as the node's
  RPC cookie), as HTTP Basic (user `__cookie__`) or `Authorization: Bearer <hex>` -> 401;
- send writes as `application/json`: a form or `text/plain` is what a cross-site page can send
  without asking -> 415.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

COOKIE_FILE = "api.cookie"
COOKIE_USER = "__cookie__"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": 80, "https": 443}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


def ensure_cookie(path: Path) -> str:
    """The secret in `path`, created (0600) on first use and kept across restarts, so a client that
    read it once keeps working; a file that is not a cookie is replaced."""
    try:
        user, _, secret = path.read_text().strip().partition(":")
        if user == COOKIE_USER and len(secret) >= 32:
            os.chmod(path, 0o600)
            return secret
    except (OSError, UnicodeDecodeError):
        pass
    secret = secrets.token_hex(32)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"{COOKIE_USER}:{secret}\n")
    os.replace(tmp, path)
    return secret


def read_cookie(path: Path) -> tuple[str, str]:
    """(user, secret) from a cookie file, for a client's HTTP Basic auth; OSError/ValueError if unusable."""
    user, sep, secret = path.read_text().strip().partition(":")
    if not sep or not user or not secret:
        raise ValueError(f"{path} is not a pool API cookie file")
    return user, secret


def _host_port(value: str, scheme: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit(f"//{value}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.path:
        return None
    return parts.hostname.lower(), port if port is not None else DEFAULT_PORTS.get(scheme, 80)


def _origin(value: str) -> str:
    return value.strip().rstrip("/").lower()


class ApiGuard:
    """ASGI middleware enforcing the rules in the module docstring, in that order."""

    def __init__(self, app: ASGIApp, secret: str, hosts: tuple[str, ...] = (), origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.secret = secret.encode()
        self.hosts = frozenset(h.strip().strip("[]").lower() for h in (*LOOPBACK_HOSTS, *hosts) if h.strip())
        self.origins = frozenset(_origin(o) for o in origins if o.strip())

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, detail, extra = refusal
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
        if scope["type"] == "websocket":  # refuse the handshake with an HTTP answer
            await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def refusal(self, scope: Scope) -> tuple[int, str, list[tuple[bytes, bytes]]] | None:
        """None when the request may pass, else (status, detail, extra headers)."""
        headers: dict[bytes, bytes] = {}
        for k, v in scope.get("headers", ()):
            headers.setdefault(k.lower(), v)  # the first of a repeated header: no smuggling past the check
        host = _host_port(headers.get(b"host", b"").decode("latin-1"), scope.get("scheme", "http"))
        server = scope.get("server")
        if host is None or host[0] not in self.hosts or (server is not None and host[1] != server[1]):
            return 421, "this server does not answer for that Host", []
        origin = headers.get(b"origin")
        if origin is not None and _origin(origin.decode("latin-1")) not in self.origins:
            return 403, "cross-origin requests are refused", []
        if not self._authorized(headers.get(b"authorization", b"")):
            return 401, "the pool API needs its cookie (DATADIR/api.cookie)", [
                (b"www-authenticate", b'Basic realm="hashforge pool"')]
        if scope.get("method") in WRITE_METHODS:
            media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if media != b"application/json":
                return 415, "writes must be sent as application/json", []
        return None

    def _authorized(self, header: bytes) -> bool:
        scheme, _, value = header.strip().partition(b" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == b"bearer":
            return hmac.compare_digest(value, self.secret)
        if scheme == b"basic":
            try:
                user, _, password = base64.b64decode(value, validate=True).partition(b":")
            except (binascii.Error, ValueError):
                return False
            return hmac.compare_digest(user, COOKIE_USER.encode()) & hmac.compare_digest(password, self.secret)
        return False
