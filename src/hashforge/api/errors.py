"""RFC 9457 problem details: the one error shape of the API, for every status it can answer.

Handlers here turn our exceptions, Starlette's HTTP errors (404, 405, ...), FastAPI's validation
errors and anything unexpected (500, logged, never echoed) into `application/problem+json`.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from hashforge.services.errors import (
    BadCursor,
    ComponentFailed,
    ComponentUnavailable,
    Conflict,
    NodeFailed,
    NodeUnavailable,
    NotFound,
    Rejected,
    ServiceError,
)

log = logging.getLogger(__name__)

__all__ = [
    "PROBLEM_JSON", "APIError", "BadCursor", "ComponentFailed", "ComponentUnavailable", "Conflict", "FieldError",
    "NodeFailed", "NodeUnavailable", "NotFound", "Problem", "Rejected", "ServiceError", "install_handlers", "problem_response", "problem_responses",
]

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "urn:hashforge:problem:"


class FieldError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loc: list[str | int] = Field(description="Where the bad value is: source (query, path, body, header) then names.")
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(default="about:blank", description="A URI naming the kind of problem.")
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(ge=400, le=599, description="The HTTP status code.")
    detail: str | None = Field(default=None, description="What went wrong this time.")
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[FieldError] | None = Field(default=None, description="Validation errors, one per bad field.")


# The errors services and access checks raise are the API's too: one tree, `APIError` is its base.
APIError = ServiceError


def problem_response(
    status: int,
    title: str | None = None,
    detail: str | None = None,
    kind: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
) -> JSONResponse:
    problem = Problem(
        type=PROBLEM_BASE + kind if kind else "about:blank",
        title=title or _phrase(status),
        status=status,
        detail=detail,
        instance=instance,
        errors=errors,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _loc(parts: Any) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in parts]


def install_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, APIError)
        return problem_response(
            exc.status, exc.title, exc.detail, exc.kind, request.url.path, headers=exc.headers
        )

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != _phrase(exc.status_code) else None
        return problem_response(
            exc.status_code, None, detail, None, request.url.path, headers=dict(exc.headers or {})
        )

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [FieldError(loc=_loc(e.get("loc", ())), msg=str(e.get("msg", "")), type=str(e.get("type", "")))
                  for e in exc.errors()]
        return problem_response(
            422, "Invalid request", "One or more inputs are invalid; see errors.", "validation",
            request.url.path, errors=errors,
        )

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, None, "An unexpected error occurred; it has been logged.", "internal",
                                request.url.path)

    app.add_exception_handler(APIError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)


_EXAMPLES = {
    400: "Invalid cursor",
    401: "API key missing or invalid",
    403: "API key lacks the scope this needs",
    404: "Not Found",
    409: "The component's state does not allow this now",
    413: "Request body too large",
    422: "Invalid request, or refused by the component (see detail)",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "The node or component answered with an error",
    503: "The node or component cannot be reached",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the given error statuses, all problem+json."""
    return {s: {"model": Problem, "description": _EXAMPLES.get(s, _phrase(s))} for s in statuses}
