"""Errors the services raise, and the two that access checks raise (hashforge.httpedge.access): one
class per kind of failure a caller can tell apart, one tree for every problem the API answers.

Each carries the HTTP status, problem type and title the API answers it with (hashforge.api.errors
turns any `ServiceError` into problem+json); the dashboard shows a gap or a message instead.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the services' errors; each subclass is one problem type."""

    status = 500
    kind = "internal"
    title = "Internal Server Error"

    def __init__(self, detail: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.headers = headers or {}


class NotFound(ServiceError):
    status, kind, title = 404, "not-found", "Not Found"


class BadCursor(ServiceError):
    status, kind, title = 400, "bad-cursor", "Invalid cursor"


class NodeUnavailable(ServiceError):
    status, kind, title = 503, "node-unavailable", "The node cannot be reached"


class NodeFailed(ServiceError):
    status, kind, title = 502, "node-error", "The node answered with an error"


class Conflict(ServiceError):
    status, kind, title = 409, "conflict", "The component's state does not allow this now"


class Rejected(ServiceError):
    """The component understood the request and refused it (the detail says why, in its words)."""

    status, kind, title = 422, "rejected", "The component refused the request"

    def __init__(self, detail: str, kind: str | None = None) -> None:
        super().__init__(detail)
        if kind is not None:
            self.kind = kind


class ComponentUnavailable(ServiceError):
    status, kind, title = 503, "component-unavailable", "The component cannot be reached"


class ComponentFailed(ServiceError):
    status, kind, title = 502, "component-error", "The component answered with an error"


# Who may call (hashforge.httpedge.access) raises these two; a dashboard page that needs a key sends
# the browser to /login instead of showing the 401 (hashforge.api.middleware).


class Unauthorized(ServiceError):
    status, kind, title = 401, "unauthorized", "API key missing or invalid"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, {"WWW-Authenticate": 'Bearer realm="hashforge"'})


class Forbidden(ServiceError):
    status, kind, title = 403, "insufficient-scope", "API key lacks the scope this needs"
