"""The query parameters of every paginated collection; the cursors and `Page[T]` are hashforge.services.paging."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from hashforge.services.paging import MAX_LIMIT

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (1..{MAX_LIMIT}).")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=512,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Opaque cursor from a previous page's `next_cursor`; omit for the first page.",
    ),
]
