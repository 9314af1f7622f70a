"""What routes and pages use from the app's state, as FastAPI dependency aliases: the plugged-in
components (`ComponentsDep`), the node (`NodeDep`) and the event bus (`BusDep`)."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from hashforge.services.events import EventBus
from hashforge.services.node import NodeGateway
from hashforge.services.registry import Components


def get_components(request: Request) -> Components:
    return cast(Components, request.app.state.components)


def get_node(request: Request) -> NodeGateway:
    return get_components(request).node


def get_bus(request: Request) -> EventBus:
    return get_components(request).bus


ComponentsDep = Annotated[Components, Depends(get_components)]
NodeDep = Annotated[NodeGateway, Depends(get_node)]
BusDep = Annotated[EventBus, Depends(get_bus)]
