"""The REST API (FastAPI, /v1) and its plumbing; the dashboard lives in hashforge.web.

Public surface:
- `create_app(settings, components)` and `ApiServer` to serve it;
- `ApiSettings` (validated; env HASHFORGE_API_*);
- `Components` / `ComponentAPI`: the registry a component plugs its router (and dashboard summary) into;
- `EventBus` and the event types components publish: `BlockEvent`, `ShareEvent`, `PayoutEvent`, `AlertEvent`;
- `NodeGateway`: chain reads over JSON-RPC;
- dependency aliases for component routers: `ReadAccess`, `ControlAccess`, `SpendAccess`;
- `Page`, `Cursor`, `Limit`, `encode_cursor`/`decode_cursor` for paginated collections;
- `problem_responses`, `NotFound`, `APIError` for RFC 9457 errors.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .deps import ControlAccess, ReadAccess, SpendAccess
    from .errors import APIError, NotFound, problem_responses
    from .events import AlertEvent, BlockEvent, EventBus, PayoutEvent, ShareEvent
    from .node import NodeGateway
    from .pagination import Cursor, Limit, Page, decode_cursor, encode_cursor
    from .registry import ComponentAPI, Components
    from .server import ApiServer
    from .settings import ApiSettings

_EXPORTS = {
    "create_app": "app",
    "ControlAccess": "deps",
    "ReadAccess": "deps",
    "SpendAccess": "deps",
    "APIError": "errors",
    "NotFound": "errors",
    "problem_responses": "errors",
    "AlertEvent": "events",
    "BlockEvent": "events",
    "EventBus": "events",
    "PayoutEvent": "events",
    "ShareEvent": "events",
    "NodeGateway": "node",
    "Cursor": "pagination",
    "Limit": "pagination",
    "Page": "pagination",
    "decode_cursor": "pagination",
    "encode_cursor": "pagination",
    "ComponentAPI": "registry",
    "Components": "registry",
    "ApiServer": "server",
    "ApiSettings": "settings",
}


def __getattr__(name: str) -> Any:
    """Lazy exports: importing hashforge.api (e.g. for the CLI) does not load FastAPI until needed."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "APIError",
    "AlertEvent",
    "ApiServer",
    "ApiSettings",
    "BlockEvent",
    "ComponentAPI",
    "Components",
    "ControlAccess",
    "Cursor",
    "EventBus",
    "Limit",
    "NodeGateway",
    "NotFound",
    "Page",
    "PayoutEvent",
    "ReadAccess",
    "ShareEvent",
    "SpendAccess",
    "create_app",
    "decode_cursor",
    "encode_cursor",
    "problem_responses",
]
