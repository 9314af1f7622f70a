"""What the API is made of: the node it reads (always) and the components that plug in (optional).

Each component contributes one `ComponentAPI`: its router (mounted at `/v1/<name>`) and an
optional dashboard summary. `hashforge up` builds a `Components` with whatever it started; a
component that is absent contributes nothing and the dashboard says so.

    components = Components(node=NodeGateway(rpc), bus=EventBus())
    components.add(ComponentAPI("pool", pool_router(pool), summary=pool.dashboard_summary))
    app = create_app(settings, components)

A component publishes live events with `components.bus.publish(ShareEvent(...))` (loop thread)
or `publish_threadsafe` (other threads), and may add Prometheus collectors to `components.metrics.registry`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter

from .events import EventBus
from .metrics import ApiMetrics
from .node import NodeGateway

ComponentName = Literal["pool", "miner", "wallet", "ops"]
KNOWN_COMPONENTS: tuple[ComponentName, ...] = ("pool", "miner", "wallet", "ops")


@dataclass(frozen=True)
class ComponentAPI:
    """One component's contribution: a router for `/v1/<name>` (routes relative to that prefix).

    `summary` (optional) gives the dashboard a small JSON-able dict, e.g. the pool's hash rate
    and workers, the wallet's spendable/immature balance; it is called per overview render.
    `gateway` is the component's client object (how the API talks to it), reachable by the
    routes and the dashboard through `Components.gateway(name)`. `tasks` run for the app's
    lifetime (pollers that publish events), cancelled at shutdown; then `close` runs.
    """

    name: ComponentName
    router: APIRouter
    summary: Callable[[], Awaitable[dict[str, Any]]] | None = None
    gateway: Any = None
    tasks: tuple[Callable[[], Coroutine[Any, Any, None]], ...] = ()
    close: Callable[[], Awaitable[None]] | None = None


@dataclass
class Components:
    node: NodeGateway
    bus: EventBus = field(default_factory=EventBus)
    metrics: ApiMetrics = field(default_factory=ApiMetrics)
    extras: dict[ComponentName, ComponentAPI] = field(default_factory=dict)

    def add(self, component: ComponentAPI) -> Components:
        if component.name not in KNOWN_COMPONENTS:
            raise ValueError(f"unknown component {component.name!r}; known: {', '.join(KNOWN_COMPONENTS)}")
        if component.name in self.extras:
            raise ValueError(f"component {component.name!r} is registered already")
        self.extras[component.name] = component
        return self

    def has(self, name: ComponentName) -> bool:
        return name in self.extras

    def gateway(self, name: ComponentName) -> Any:
        """The gateway of a registered component, None when it is absent."""
        component = self.extras.get(name)
        return None if component is None else component.gateway
