"""`OpsDep`: the ops component's gateway for the /v1/ops routes and the dashboard's ops pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hashforge.api.errors import NotFound
from hashforge.ops.gateway import OpsGateway


def get_ops(request: Request) -> OpsGateway:
    ops = request.app.state.components.gateway("ops")
    if ops is None:
        raise NotFound("the ops component is not attached (hashforge api --no-ops)")
    return ops  # type: ignore[no-any-return]


OpsDep = Annotated[OpsGateway, Depends(get_ops)]
