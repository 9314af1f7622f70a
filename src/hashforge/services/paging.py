"""Cursor pagination: every collection answers `Page[T]`; the cursor is opaque to clients
(hashforge.api.pagination has the query parameters).

A cursor is base64url of a small JSON object tagged with the collection it belongs to, so a cursor
from one collection is refused by another (400 bad-cursor) instead of being misread.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from hashforge import jsonlimits

from .errors import BadCursor

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(extra="forbid")

    items: list[T]
    limit: int = Field(description="The page size asked for.")
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page.")


def encode_cursor(collection: str, **position: Any) -> str:
    raw = json.dumps({"c": collection, **position}, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(collection: str, cursor: str) -> dict[str, Any]:
    """The position a cursor encodes; BadCursor (400) if it is not one of `collection`'s cursors."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = jsonlimits.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor("The cursor is not one this API issued.") from None
    if not isinstance(data, dict) or data.pop("c", None) != collection:
        raise BadCursor(f"The cursor does not belong to {collection}.")
    return data


def cursor_int(data: dict[str, Any], key: str, lo: int = 0, hi: int = 2**63) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise BadCursor("The cursor is damaged.")
    return value


def cursor_str(data: dict[str, Any], key: str, max_len: int = 128) -> str:
    value = data.get(key)
    if not isinstance(value, str) or len(value) > max_len:
        raise BadCursor("The cursor is damaged.")
    return value
