"""Logging for every hashforge process: one setup (text or JSON lines), third-party loggers kept at
WARNING, a repeated condition logged as one counted line, and size-rotated log files.

A mining operation runs unattended for months, so a log must stay readable and bounded: httpx's
INFO line per request (the pool polls the tip four times a second) and a warning per failed poll
while the node is away would otherwise fill the disk with noise.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

# Libraries whose INFO is per request or per connection; at WARNING unless the level is DEBUG.
THIRD_PARTY = ("httpx", "httpcore", "uvicorn.access", "websockets", "hpack", "multipart", "urllib3",
               "sqlalchemy.engine", "alembic")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REPEAT_WINDOW_S = 60.0
REPEAT_ENV = "HASHFORGE_LOG_REPEAT_S"  # a shorter window for tests and demos

_STANDARD = set(vars(logging.LogRecord("x", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JSONFormatter(logging.Formatter):
    """One JSON object per line; `extra` fields become top-level keys."""

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


def level_number(level: str | int) -> int:
    """logging's number for "DEBUG"/"info"/20; ValueError names a bad one."""
    if isinstance(level, int):
        return level
    number = logging.getLevelName(level.strip().upper())
    if not isinstance(number, int):
        raise ValueError(f"unknown log level {level!r} (DEBUG, INFO, WARNING, ERROR)")
    return number


def quiet_third_party(level: int) -> None:
    """Per-request libraries at WARNING unless the process itself logs at DEBUG."""
    for name in THIRD_PARTY:
        logging.getLogger(name).setLevel(logging.NOTSET if level <= logging.DEBUG else logging.WARNING)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to sys.stderr as it is when a record is emitted, not as it was at set-up: a command run
    in-process (tests, embedding) may swap stderr and close the old one."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def setup_logging(level: str | int = "INFO", fmt: str = "text", stream: TextIO | None = None) -> logging.Handler:
    """The root logger writes `fmt` lines ("text" or "json") to `stream` (stderr) at `level`;
    replaces handlers an earlier call installed. Returns the handler."""
    number = level_number(level)
    if fmt not in ("text", "json"):
        raise ValueError(f"log format must be text or json, not {fmt!r}")
    handler: logging.StreamHandler[Any] = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(JSONFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(number)
    quiet_third_party(number)
    return handler


@dataclass
class _Condition:
    since: float  # when the last line about it was written
    count: int  # occurrences since then (the one written included)


class Repeated:
    """Logs a condition that keeps happening as one line per `window` seconds with a count:
    the first occurrence at once, then e.g. "node unreachable: ... (x12 in last 60 s)"."""

    def __init__(self, logger: logging.Logger, window: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.log = logger
        self.window = window if window is not None else repeat_window()
        self.clock = clock
        self._open: dict[str, _Condition] = {}

    def __call__(self, key: str, level: int, msg: str, *args: Any, exc_info: bool = False) -> bool:
        """Counts one occurrence of `key`; True when a line was written. `exc_info`: the first
        line of the condition carries the traceback, the counted ones never do."""
        now = self.clock()
        c = self._open.get(key)
        if c is None:
            self._open[key] = _Condition(now, 1)
            self.log.log(level, msg, *args, exc_info=exc_info)
            return True
        c.count += 1
        if now - c.since < self.window:
            return False
        self.log.log(level, f"{msg} (x%d in last %.0f s)", *args, c.count - 1, now - c.since)
        c.since, c.count = now, 1
        return True

    def warning(self, key: str, msg: str, *args: Any) -> bool:
        return self(key, logging.WARNING, msg, *args)

    def failure(self, key: str, what: str, e: BaseException) -> bool:
        """An ERROR for `what` failing with `e`: one line when the node or a peer could not be
        reached (a ConnectionError anywhere in the chain), else the first line has the traceback."""
        if unreachable(e):
            return self(key, logging.WARNING, "%s: %s", what, e)
        return self(key, logging.ERROR, "%s: %s: %s", what, type(e).__name__, e, exc_info=True)

    def clear(self, key: str, msg: str | None = None, *args: Any) -> None:
        """The condition ended; `msg` (INFO) says so, with how many occurrences went unlogged."""
        c = self._open.pop(key, None)
        if c is None or msg is None:
            return
        if c.count > 1:
            self.log.info(f"{msg} (x%d more since the last line)", *args, c.count - 1)
        else:
            self.log.info(msg, *args)

    def active(self, key: str) -> bool:
        return key in self._open


def unreachable(e: BaseException | None) -> bool:
    """True when `e`, or an exception it was raised from, is a ConnectionError (RPCTransportError is one)."""
    seen = 0
    while e is not None and seen < 8:
        if isinstance(e, ConnectionError):
            return True
        e = e.__cause__ or e.__context__
        seen += 1
    return False


def repeat_window() -> float:
    try:
        return max(0.0, float(os.environ.get(REPEAT_ENV, REPEAT_WINDOW_S)))
    except ValueError:
        return REPEAT_WINDOW_S


class RotatingLog:
    """An append-only byte log that rolls over by size: `path` -> `path.1` -> ... -> `path.N`
    (the oldest dropped), as logging's RotatingFileHandler does, for output written as raw lines
    (a child process's stdout). Thread-safe; lines are never split across files."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        if max_bytes < 1 or backups < 0:
            raise ValueError("max_bytes must be positive and backups not negative")
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "ab")  # noqa: SIM115 (held open across writes)
        self._size = self._file.tell()

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._size > 0 and self._size + len(data) > self.max_bytes:
                self._rollover()
            self._file.write(data)
            self._file.flush()
            self._size += len(data)

    def _rollover(self) -> None:
        self._file.close()
        if self.backups == 0:
            self.path.unlink(missing_ok=True)
        else:
            for i in range(self.backups - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{i}")
                if older.exists():
                    older.replace(self.path.with_name(f"{self.path.name}.{i + 1}"))
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self._file = open(self.path, "ab")  # noqa: SIM115
        self._size = 0

    def files(self) -> list[Path]:
        """The log and its backups that exist, newest first."""
        names = [self.path] + [self.path.with_name(f"{self.path.name}.{i}") for i in range(1, self.backups + 1)]
        return [p for p in names if p.exists()]

    def close(self) -> None:
        with self._lock:
            self._file.close()
