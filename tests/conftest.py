"""Shared fixtures."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.browser import browser  # noqa: F401  (the shared chromium fixture)
from tests.vectorfiles import VECTORS


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """A command run in-process (CliRunner) sets up logging on the root logger; without this its
    handler outlives the test and writes into a later test's captured stderr."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def vectors() -> Path:
    return VECTORS


# --- interop tests (real Bitcoin Core, ckpool, minerd ...): listed by name at the end of every run,
# so a CI log shows which of them ran and how they ended. They are the tests that skip when a peer
# is "not found in ../shared/bin or on PATH" (tests.helpers.peers.requires_peer).
_INTEROP_REASON = "not found in ../shared/bin"
_interop_outcomes: dict[str, str] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(_INTEROP_REASON in str(m.kwargs.get("reason", "")) for m in item.iter_markers("skipif")):
            item.add_marker(pytest.mark.interop)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "interop" not in report.keywords or _interop_outcomes.get(report.nodeid, "passed") != "passed":
        return  # not an interop test, or its verdict is in (a skip, or an error in setup)
    if report.when == "call" or report.skipped:
        _interop_outcomes[report.nodeid] = report.outcome
    elif report.failed:
        _interop_outcomes[report.nodeid] = f"error in {report.when}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _interop_outcomes:
        return
    terminalreporter.section("interop tests against real peers")
    for nodeid, outcome in sorted(_interop_outcomes.items()):
        terminalreporter.write_line(f"{outcome:>8}  {nodeid}")
    counts = {o: sum(1 for v in _interop_outcomes.values() if v == o) for o in set(_interop_outcomes.values())}
    terminalreporter.write_line("interop: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())))
