"""Logging for the miner: plain lines, or one JSON object per line (--json-log) for services.

Events carry their fields as `extra` (event="share", "pool", "stats", ...), which the JSON
formatter writes as top-level keys.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

_STANDARD = set(vars(logging.LogRecord("x", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in vars(record).items():
            if k not in _STANDARD and not k.startswith("_"):
                out[k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, separators=(",", ":"))


def setup_logging(json_log: bool = False, quiet: bool = False, verbose: bool = False,
                  stream: TextIO | None = None) -> logging.Handler:
    """Configures the `hashforge` logger; returns the handler it installed."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter() if json_log else logging.Formatter(
        "%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger("hashforge")
    for h in list(root.handlers):
        if getattr(h, "_hashforge_miner", False):
            root.removeHandler(h)
    handler._hashforge_miner = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    root.propagate = False
    return handler
