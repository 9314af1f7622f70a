"""Who may call a route: `ReadAccess`, `ControlAccess`, `SpendAccess`, `CustomerAccess` (FastAPI
dependency aliases), the same for /v1 routes and dashboard pages.

Policy (documented in the README of the API):
- every key may read; control and spend must be granted to the key by name;
- reads need no key when anonymous reads are on, which by default is exactly when the API binds a
  loopback address, and then only for requests whose Host is a loopback name (a DNS-rebinding page
  on another name gets 401);
- control and spend always need a key, on loopback too (a web page the user visits can make a
  browser post to 127.0.0.1; only a key it does not have stops that);
- a key that is present but invalid is always refused (401), never downgraded to anonymous;
- a browser signed in at /login (cookie) may read, never control or spend (see api/middleware.py);
- a customer key (cloud mining) passes only on routes marked `CUSTOMER_ROUTE` and only as its own
  customer (`CustomerAccess`); everywhere else it is refused (403), reads included.

The caller itself (`request.state.api_key`, `api_key_invalid`, `api_key_from_cookie`) is resolved
before routing by the API's middleware; `request.app.state.settings` says whether reads need a key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Protocol, cast
from urllib.parse import urlsplit

from fastapi import Depends, Request

from hashforge.services.errors import Forbidden, Unauthorized
from hashforge.services.keys import ApiKey, Scope

from .hosts import is_loopback


class ReadPolicy(Protocol):
    """The one setting access needs from the app's settings."""

    @property
    def reads_need_key(self) -> bool: ...


@dataclass(frozen=True)
class Caller:
    key: ApiKey | None

    @property
    def name(self) -> str:
        return self.key.name if self.key is not None else "anonymous"


def _host_is_loopback(request: Request) -> bool:
    host = request.headers.get("host", "")
    hostname = urlsplit(f"//{host}").hostname or ""
    return is_loopback(hostname)


CUSTOMER_ROUTE: dict[str, Any] = {"x-customer-key": True}  # `openapi_extra` of routes customer keys may call


def _customer_route(request: Request) -> bool:
    extra = getattr(request.scope.get("route"), "openapi_extra", None) or {}
    return bool(extra.get("x-customer-key"))


def caller_for(request: Request, scope: Scope) -> Caller:
    """The caller if it may use `scope`; raises 401/403 problems otherwise."""
    key: ApiKey | None = request.state.api_key if hasattr(request.state, "api_key") else None
    if getattr(request.state, "api_key_invalid", False):
        raise Unauthorized("The API key is not valid (unknown, revoked or mistyped).")
    if key is not None and key.customer is not None:
        if scope is Scope.READ and _customer_route(request) and not key.revoked:
            return Caller(key)
        raise Forbidden(f"The key {key.name!r} is a customer key: it reads only its own contracts "
                        "(/v1/pool/contracts/me).")
    if key is None:
        policy = cast(ReadPolicy, request.app.state.settings)
        if scope is Scope.READ and not policy.reads_need_key and _host_is_loopback(request):
            return Caller(None)
        need = "a key" if scope is Scope.READ else f"a key with the {scope.value} scope"
        raise Unauthorized(f"This needs {need}: send `Authorization: Bearer <token>`.")
    if scope is not Scope.READ and getattr(request.state, "api_key_from_cookie", False):
        # the sign-in cookie is for reading only (the middleware passes it on GET/HEAD alone)
        raise Unauthorized(f"This needs a key with the {scope.value} scope: send `Authorization: Bearer <token>`.")
    if not key.allows(scope):
        raise Forbidden(f"The key {key.name!r} lacks the {scope.value} scope.")
    return Caller(key)


def require_read(request: Request) -> Caller:
    return caller_for(request, Scope.READ)


def require_control(request: Request) -> Caller:
    return caller_for(request, Scope.CONTROL)


def require_spend(request: Request) -> Caller:
    return caller_for(request, Scope.SPEND)


def require_customer(request: Request) -> str:
    """The customer id of the calling customer key (401 without a key, 403 for other keys)."""
    caller = caller_for(request, Scope.READ)
    if caller.key is None:
        raise Unauthorized("This needs a customer key: send `Authorization: Bearer <token>`.")
    if caller.key.customer is None:
        raise Forbidden(f"The key {caller.key.name!r} is not a customer key.")
    return caller.key.customer


ReadAccess = Annotated[Caller, Depends(require_read)]
CustomerAccess = Annotated[str, Depends(require_customer)]
ControlAccess = Annotated[Caller, Depends(require_control)]
SpendAccess = Annotated[Caller, Depends(require_spend)]
