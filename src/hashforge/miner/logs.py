"""Logging for the miner: plain lines, or one JSON object per line (--json-log) for services.

Events carry their fields as `extra` (event="share", "pool", "stats", ...), which the JSON
formatter (hashforge.logs, shared by every component) writes as top-level keys.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from hashforge.logs import JSONFormatter, quiet_third_party

__all__ = ["JSONFormatter", "setup_logging"]


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
    quiet_third_party(root.level)
    return handler
