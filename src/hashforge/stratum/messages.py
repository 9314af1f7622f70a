"""Stratum v1 framing: one JSON object per line; requests, replies, notifications and error codes.

Error replies use the de-facto codes of the slush/ckpool era: [code, message, traceback-or-null].
"""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any

from hashforge import jsonlimits

MAX_LINE_BYTES = 16 * 1024  # longer lines are a protocol violation (a real notify is ~2 KB)


class StratumErrorCode(IntEnum):
    OTHER = 20
    JOB_NOT_FOUND = 21  # stale
    DUPLICATE_SHARE = 22
    LOW_DIFFICULTY_SHARE = 23
    UNAUTHORIZED_WORKER = 24
    NOT_SUBSCRIBED = 25


class StratumProtocolError(ValueError):
    """A line that is not valid Stratum: bad JSON, not an object, too long, wrong shape."""


class StratumError(Exception):
    """An error the other side reported (or we report) with a Stratum error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message

    def to_json(self) -> list[Any]:
        return [self.code, self.message, None]

    @classmethod
    def from_json(cls, err: Any) -> StratumError:
        if isinstance(err, list) and len(err) >= 2:
            code = err[0] if isinstance(err[0], int) else StratumErrorCode.OTHER
            return cls(code, str(err[1]))
        if isinstance(err, dict):
            return cls(int(err.get("code", StratumErrorCode.OTHER)), str(err.get("message", err)))
        return cls(StratumErrorCode.OTHER, str(err))


def decode_line(line: bytes | str, max_bytes: int = MAX_LINE_BYTES) -> dict[str, Any]:
    """Parses one line into a message object; raises StratumProtocolError on anything malformed."""
    if len(line) > max_bytes:
        raise StratumProtocolError(f"line of {len(line)} bytes exceeds {max_bytes}")
    try:
        msg = jsonlimits.loads(line)
    except (ValueError, UnicodeDecodeError) as e:
        raise StratumProtocolError(f"invalid JSON: {e}") from None
    if not isinstance(msg, dict):
        raise StratumProtocolError("a Stratum message must be a JSON object")
    if "method" in msg:
        if not isinstance(msg["method"], str):
            raise StratumProtocolError("method must be a string")
        params = msg.get("params", [])
        if params is None:
            params = []
        if not isinstance(params, (list, dict)):
            raise StratumProtocolError("params must be an array")
        msg["params"] = params
    elif "result" not in msg and "error" not in msg:
        raise StratumProtocolError("neither a request nor a reply")
    return msg


def encode_message(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode() + b"\n"


def request(msg_id: int | str, method: str, params: list[Any]) -> bytes:
    return encode_message({"id": msg_id, "method": method, "params": params})


def notification(method: str, params: list[Any]) -> bytes:
    return encode_message({"id": None, "method": method, "params": params})


def reply(msg_id: Any, result: Any) -> bytes:
    return encode_message({"id": msg_id, "result": result, "error": None})


def error_reply(msg_id: Any, code: int, message: str) -> bytes:
    return encode_message({"id": msg_id, "result": None, "error": [code, message, None]})
