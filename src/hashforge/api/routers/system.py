"""`/v1/health` (no key needed, tells nothing private) and `/metrics` (Prometheus text format)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict

from hashforge import __version__
from hashforge.httpedge.access import ReadAccess
from hashforge.httpedge.lookups import ComponentsDep

from ..errors import problem_responses

router = APIRouter(tags=["system"])
metrics_router = APIRouter(tags=["system"])


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    status: Literal["ok", "degraded"]
    version: str


@router.get("/health", summary="Liveness: the API answers; degraded when the node does not")
async def health(request: Request) -> Health:
    up = request.app.state.watcher.node_up
    return Health(status="ok" if up is not False else "degraded", version=__version__)


@metrics_router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"description": "Prometheus text format.", "content": {"text/plain": {"schema": {"type": "string"}}}},
               **problem_responses()},
)
async def metrics(_: ReadAccess, components: ComponentsDep) -> Response:
    return Response(generate_latest(components.metrics.registry), media_type=CONTENT_TYPE_LATEST)
