"""`create_app(settings, components)`: the FastAPI app of the API and the dashboard.

    /v1/chain/...      always (the node)
    /v1/<component>/   one router per configured component (registry.py)
    /v1/events         Server-Sent Events of the event bus
    /v1/health         liveness, no key
    /v1/openapi.json   the schema
    /metrics           Prometheus
    /, /blocks, ...    the dashboard (hashforge.web)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from hashforge.httpedge.access import require_read
from hashforge.services.events import Published
from hashforge.services.keys import KeyStore
from hashforge.services.node import TipWatcher
from hashforge.services.registry import Components

from .errors import Problem, install_handlers
from .middleware import GuardMiddleware
from .openapi import build_openapi
from .ratelimit import TokenBuckets
from .routers import chain, events, system
from .settings import ApiSettings

log = logging.getLogger(__name__)


def create_app(settings: ApiSettings, components: Components, keys: KeyStore | None = None) -> FastAPI:
    """The app. `keys` defaults to the key table in `settings.datadir` (the app closes what it opens)."""
    own_keys = keys is None
    key_store = keys if keys is not None else KeyStore(settings.keys_path)
    components.bus.add_listener(_count_event(components))
    watcher = TipWatcher(components.node, components.bus, components.metrics, settings.tip_poll_s)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        components.bus.bind(asyncio.get_running_loop())
        tasks = [asyncio.create_task(watcher.run(), name="tip-watcher")]
        for component in components.extras.values():
            tasks += [asyncio.create_task(run(), name=f"{component.name}-task") for run in component.tasks]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            components.bus.close()
            for component in components.extras.values():
                if component.close is not None:
                    try:
                        await component.close()
                    except Exception:
                        log.exception("closing the %s gateway failed", component.name)
            if own_keys:
                key_store.close()

    app = FastAPI(
        title="hashforge API",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.components = components
    app.state.watcher = watcher
    app.state.keys = key_store
    install_handlers(app)

    v1 = APIRouter(prefix="/v1")
    v1.include_router(chain.router)
    v1.include_router(events.router)
    v1.include_router(system.router)
    for component in components.extras.values():
        v1.include_router(
            component.router, prefix=f"/{component.name}", tags=[component.name],
            dependencies=[Depends(require_read)],
        )
    app.include_router(v1)
    app.include_router(system.metrics_router)

    from hashforge.web import routes as web

    web.mount(app)

    app.openapi = lambda: _with_problem(build_openapi(app))  # type: ignore[method-assign]

    app.add_middleware(
        GuardMiddleware,
        keys=key_store,
        buckets=TokenBuckets(settings.rate_per_s, settings.rate_burst),
        max_body=settings.max_body_bytes,
        metrics=components.metrics,
    )
    if settings.cors_origins:  # outermost, so refusals (429, 413) carry CORS headers too
        app.add_middleware(
            CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Last-Event-ID"],
        )
    return app


def _with_problem(schema: dict[str, Any]) -> dict[str, Any]:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    if "Problem" not in schemas:
        defs = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in defs.pop("$defs", {}).items():
            schemas.setdefault(name, sub)
        schemas["Problem"] = defs
    return schema


def _count_event(components: Components) -> Any:
    def count(item: Published) -> None:
        components.metrics.events.labels(item.type).inc()

    return count
