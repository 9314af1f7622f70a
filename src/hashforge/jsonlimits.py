"""One JSON decoder for every network entry point: nesting depth is checked before `json.loads`.

CPython's decoder recurses once per `[`/`{`, so 5,000 nested brackets in a 10 KB Stratum line
raise RecursionError (not ValueError) out of the protocol handler, which drops the connection
without a reply. `loads` scans the text first, without recursion: brackets are counted outside
string literals, and anything nested deeper than `MAX_DEPTH` is a `JSONDepthError` — a
ValueError, so every caller's existing "invalid JSON" path gives the protocol's own error reply.

This module imports nothing of the project, so stratum, node, miner, pool and api can all use it.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

MAX_DEPTH = 64  # real messages nest 4 or 5 deep (a JSON-RPC batch of getblocktemplate replies: 6)

_STRING_STR = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRING_BYTES = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class JSONDepthError(ValueError):
    """The text nests arrays/objects deeper than allowed."""


def nesting_depth(text: str | bytes | bytearray) -> int:
    """The deepest array/object nesting of `text`, brackets inside strings not counted."""
    # strings go first (a "[" inside one is text), then all but brackets; the running sum of
    # +1/-1 is the depth at each bracket, computed by C-level iterators, not a Python loop
    if isinstance(text, str):
        rest = _STRING_STR.sub("", text).encode("utf-8", "replace")
    else:
        rest = _STRING_BYTES.sub(b"", text)
    brackets = rest.translate(None, _NOT_BRACKETS)
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0)


def loads(data: str | bytes | bytearray, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads` that raises ValueError (JSONDepthError) instead of recursing past `max_depth`."""
    opening = data.count("[") + data.count("{") if isinstance(data, str) else data.count(b"[") + data.count(b"{")
    # text cannot nest deeper than it opens: most messages skip the scan
    if opening > max_depth and nesting_depth(data) > max_depth:
        raise JSONDepthError(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(data)
    except RecursionError:  # only if the caller's own stack is already deep
        raise JSONDepthError("JSON nested too deeply to decode") from None
