"""hashforge.logs: counted lines for repeated conditions (injected clock), third-party loggers
quiet by default, size rotation of raw logs."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hashforge.logs import Repeated, RotatingLog, setup_logging, unreachable
from hashforge.rpcclient import RPCTransportError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("hashforge.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, out
    logger.removeHandler(handler)


def test_a_repeated_condition_is_one_counted_line_per_window(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = captured
    clock = Clock()
    rep = Repeated(logger, window=60, clock=clock)
    assert rep.warning("tip", "node unreachable: %s", "refused")
    for _ in range(11):  # a poll every 5 s
        clock.now += 5
        assert not rep.warning("tip", "node unreachable: %s", "refused")
    clock.now += 5
    assert rep.warning("tip", "node unreachable: %s", "refused")
    clock.now += 3
    rep.warning("tip", "node unreachable: %s", "refused")
    rep.clear("tip", "node reachable again")
    rep.clear("tip", "node reachable again")  # nothing open: nothing said
    assert out.getvalue().splitlines() == [
        "WARNING node unreachable: refused",
        "WARNING node unreachable: refused (x12 in last 60 s)",
        "INFO node reachable again (x1 more since the last line)",
    ]
    assert not rep.active("tip")


def test_failures_unreachable_get_no_traceback_others_only_once(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = captured
    clock = Clock()
    rep = Repeated(logger, window=10, clock=clock)
    try:
        raise RuntimeError("settle failed") from RPCTransportError("getblock: All connection attempts failed")
    except RuntimeError as e:
        assert unreachable(e)
        for _ in range(4):
            rep.failure("maint", "accounting/payout run failed", e)
            clock.now += 4
    assert out.getvalue().splitlines() == [
        "WARNING accounting/payout run failed: settle failed",
        "WARNING accounting/payout run failed: settle failed (x3 in last 12 s)",
    ]
    out.truncate(0)
    out.seek(0)
    try:
        raise KeyError("bug")
    except KeyError as e:
        assert not unreachable(e)
        for _ in range(3):
            rep.failure("bug", "tip watcher poll failed", e)
            clock.now += 6
    text = out.getvalue()
    assert text.count("Traceback") == 1  # the first line only
    assert "ERROR tip watcher poll failed: KeyError: 'bug' (x2 in last 12 s)" in text


def test_third_party_loggers_are_quiet_unless_debug() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        out = io.StringIO()
        setup_logging("INFO", stream=out)
        logging.getLogger("httpx").info("HTTP Request: POST http://127.0.0.1/ 200 OK")
        logging.getLogger("uvicorn.access").info("GET /v1/health 200")
        logging.getLogger("httpx").warning("a real httpx warning")
        # a logger no other test has touched (an earlier test in the same worker may have set
        # levels on, or disabled, hashforge or hashforge.pool)
        logging.getLogger("hflogs_probe").info("pool listening")
        assert [line.split(" ", 2)[2] for line in out.getvalue().splitlines()] == [
            "WARNING httpx: a real httpx warning", "INFO hflogs_probe: pool listening"]
        out = io.StringIO()
        setup_logging("debug", "json", stream=out)
        logging.getLogger("httpx").info("HTTP Request")
        assert '"logger":"httpx"' in out.getvalue() and '"level":"info"' in out.getvalue()
        with pytest.raises(ValueError, match="unknown log level 'loud'"):
            setup_logging("loud")
        with pytest.raises(ValueError, match="text or json"):
            setup_logging("INFO", "xml")
    finally:
        for h in root.handlers[:]:
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])


def test_rotating_log_rolls_over_by_size_without_splitting_lines(tmp_path: Path) -> None:
    log = RotatingLog(tmp_path / "logs" / "pool.log", max_bytes=100, backups=2)
    lines = [f"line {i:02d} ".encode() + b"x" * 21 + b"\n" for i in range(20)]  # 30 bytes each
    for line in lines:
        log.write(line)
    log.close()
    files = log.files()
    assert [p.name for p in files] == ["pool.log", "pool.log.1", "pool.log.2"]
    contents = [p.read_bytes() for p in files]
    assert all(len(c) <= 100 for c in contents)
    assert contents[0].endswith(lines[-1])
    assert b"".join(reversed(contents)) == b"".join(lines[-len(b"".join(contents)) // 30:])  # newest 9 lines, in order
    reopened = RotatingLog(tmp_path / "logs" / "pool.log", max_bytes=100, backups=0)
    reopened.write(b"y" * 99 + b"\n")  # over the size with no backups: the old log is dropped
    reopened.close()
    assert (tmp_path / "logs" / "pool.log").read_bytes() == b"y" * 99 + b"\n"
    with pytest.raises(ValueError):
        RotatingLog(tmp_path / "x.log", max_bytes=0, backups=1)


def test_stderr_logging_follows_sys_stderr_and_alembic_is_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command run in-process (CliRunner) swaps stderr and closes it afterwards: the handler set up
    then must write to whatever stderr is now, never to the closed one ("--- Logging error ---")."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        first = io.StringIO()
        monkeypatch.setattr(sys, "stderr", first)
        setup_logging("INFO")
        first.close()
        second = io.StringIO()
        monkeypatch.setattr(sys, "stderr", second)
        logging.getLogger("hflogs_probe").info("after the swap")
        logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
        assert "after the swap" in second.getvalue()
        assert "Context impl" not in second.getvalue()  # a third-party INFO line
    finally:
        for h in root.handlers[:]:
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
