"""Dependency aliases for routes: who may call (`ReadAccess`, `ControlAccess`, `SpendAccess`) and
what they use (`NodeDep`, `BusDep`, `SettingsDep`, `ComponentsDep`).

Policy (documented in the README of the API):
- every key may read; control and spend must be granted to the key by name;
- reads need no key when anonymous reads are on, which by default is exactly when the API binds a
  loopback address, and then only for requests whose Host is a loopback name (a DNS-rebinding page
  on another name gets 401);
- control and spend always need a key, on loopback too (a web page the user visits can make a
  browser post to 127.0.0.1; only a key it does not have stops that);
- a key that is present but invalid is always refused (401), never downgraded to anonymous.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast
from urllib.parse import urlsplit

from fastapi import Depends, Request

from .errors import Forbidden, Unauthorized
from .events import EventBus
from .keys import ApiKey, Scope
from .node import NodeGateway
from .registry import Components
from .settings import ApiSettings, is_loopback


@dataclass(frozen=True)
class Caller:
    key: ApiKey | None

    @property
    def name(self) -> str:
        return self.key.name if self.key is not None else "anonymous"


def get_settings(request: Request) -> ApiSettings:
    return cast(ApiSettings, request.app.state.settings)


def get_components(request: Request) -> Components:
    return cast(Components, request.app.state.components)


def get_node(request: Request) -> NodeGateway:
    return get_components(request).node


def get_bus(request: Request) -> EventBus:
    return get_components(request).bus


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
ComponentsDep = Annotated[Components, Depends(get_components)]
NodeDep = Annotated[NodeGateway, Depends(get_node)]
BusDep = Annotated[EventBus, Depends(get_bus)]


def _host_is_loopback(request: Request) -> bool:
    host = request.headers.get("host", "")
    hostname = urlsplit(f"//{host}").hostname or ""
    return is_loopback(hostname)


def caller_for(request: Request, scope: Scope) -> Caller:
    """The caller if it may use `scope`; raises 401/403 problems otherwise."""
    key: ApiKey | None = request.state.api_key if hasattr(request.state, "api_key") else None
    if getattr(request.state, "api_key_invalid", False):
        raise Unauthorized("The API key is not valid (unknown, revoked or mistyped).")
    if key is None:
        settings = get_settings(request)
        if scope is Scope.READ and not settings.reads_need_key and _host_is_loopback(request):
            return Caller(None)
        need = "a key" if scope is Scope.READ else f"a key with the {scope.value} scope"
        raise Unauthorized(f"This needs {need}: send `Authorization: Bearer <token>`.")
    if not key.allows(scope):
        raise Forbidden(f"The key {key.name!r} lacks the {scope.value} scope.")
    return Caller(key)


def require_read(request: Request) -> Caller:
    return caller_for(request, Scope.READ)


def require_control(request: Request) -> Caller:
    return caller_for(request, Scope.CONTROL)


def require_spend(request: Request) -> Caller:
    return caller_for(request, Scope.SPEND)


ReadAccess = Annotated[Caller, Depends(require_read)]
ControlAccess = Annotated[Caller, Depends(require_control)]
SpendAccess = Annotated[Caller, Depends(require_spend)]
