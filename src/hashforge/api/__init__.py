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
    from hashforge.httpedge.access import ControlAccess, ReadAccess, SpendAccess
    from hashforge.services.events import AlertEvent, BlockEvent, EventBus, PayoutEvent, ShareEvent
    from hashforge.services.node import NodeGateway
    from hashforge.services.paging import Page, decode_cursor, encode_cursor
    from hashforge.services.registry import ComponentAPI, Components

    from .app import create_app
    from .errors import APIError, NotFound, problem_responses
    from .pagination import Cursor, Limit
    from .server import ApiServer
    from .settings import ApiSettings

_EXPORTS = {
    "create_app": "hashforge.api.app",
    "ControlAccess": "hashforge.httpedge.access",
    "ReadAccess": "hashforge.httpedge.access",
    "SpendAccess": "hashforge.httpedge.access",
    "APIError": "hashforge.api.errors",
    "NotFound": "hashforge.api.errors",
    "problem_responses": "hashforge.api.errors",
    "AlertEvent": "hashforge.services.events",
    "BlockEvent": "hashforge.services.events",
    "EventBus": "hashforge.services.events",
    "PayoutEvent": "hashforge.services.events",
    "ShareEvent": "hashforge.services.events",
    "NodeGateway": "hashforge.services.node",
    "Cursor": "hashforge.api.pagination",
    "Limit": "hashforge.api.pagination",
    "Page": "hashforge.services.paging",
    "decode_cursor": "hashforge.services.paging",
    "encode_cursor": "hashforge.services.paging",
    "ComponentAPI": "hashforge.services.registry",
    "Components": "hashforge.services.registry",
    "ApiServer": "hashforge.api.server",
    "ApiSettings": "hashforge.api.settings",
}


def __getattr__(name: str) -> Any:
    """Lazy exports: importing hashforge.api (e.g. for the CLI) does not load FastAPI until needed."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
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
