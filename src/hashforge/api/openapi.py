"""The OpenAPI document: FastAPI's, made to tell the whole truth about errors.

Every operation gets the error responses every route can give (401/403 by the auth policy, 422 for
bad input, 429 with Retry-After, 500), and every error response is `application/problem+json`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from hashforge import __version__

from .errors import PROBLEM_JSON

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
COMMON = {
    "401": "API key missing or invalid",
    "403": "API key lacks the scope this needs",
    "429": "Too Many Requests (see Retry-After)",
    "500": "Internal Server Error",
}
PUBLIC_PATHS = {"/v1/health"}

DESCRIPTION = """\
The hashforge REST API: the chain (from the node's JSON-RPC) and, when they run, the pool, miner,
wallet and ops components.

**Auth.** Send `Authorization: Bearer <token>` (or `X-API-Key: <token>`); mint tokens with
`hashforge api-key create --scope read,control,spend --name NAME` (shown once, stored hashed).
Every key may read; `control` and `spend` must be granted. Reads need no key when the API binds a
loopback address (the default) and the request's Host is a loopback name.

**Errors** are RFC 9457 `application/problem+json`. **Collections** are cursor-paginated:
pass `next_cursor` back as `cursor`; `limit` is 1..100. **Rate limit**: a token bucket per key (or
per client address); 429 answers carry `Retry-After`.
"""


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(title="hashforge API", version=__version__, description=DESCRIPTION, routes=app.routes)
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "An API key token (hfk_...)."},
        "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "put", "post", "delete", "patch"):
                continue
            _complete(path, op)
    app.openapi_schema = schema
    return schema


def _complete(path: str, op: dict[str, Any]) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    if path not in PUBLIC_PATHS:
        op["security"] = [{"bearer": []}, {"apiKeyHeader": []}, {}]
        for status, text in COMMON.items():
            responses.setdefault(status, {"description": text})
    else:
        responses.setdefault("429", {"description": COMMON["429"]})
        responses.setdefault("500", {"description": COMMON["500"]})
    if op.get("parameters") or op.get("requestBody"):
        responses["422"] = {"description": "Invalid request (see errors)"}
    if op.get("requestBody"):
        responses.setdefault("413", {"description": "Request body too large"})
    for status, response in responses.items():
        if int(status) >= 400:
            response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
    responses["429"].setdefault("headers", {})["Retry-After"] = {
        "description": "Seconds to wait before retrying.", "schema": {"type": "integer", "minimum": 1},
    }
    if "401" in responses:
        responses["401"].setdefault("headers", {})["WWW-Authenticate"] = {"schema": {"type": "string"}}
