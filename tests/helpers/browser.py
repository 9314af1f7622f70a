"""Debian's chromium through Playwright (never `playwright install`), shared by the browser tests.

A test module calls `playwright_or_skip()` at import time (it skips the whole module when
Playwright or chromium is missing) and takes the module-scoped `browser` fixture, which
tests/conftest.py makes available everywhere (the fixture skips on its own when called from a
module that did not skip). `open_page` opens a page in a new context and collects its errors."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def playwright_or_skip() -> Any:
    """Playwright's sync API, or a skip: of the whole module when called at module level, else of the test."""
    api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); browser tests skipped",
                    allow_module_level=True)
    return api


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    api = playwright_or_skip()
    with api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_page(browser: Any, *, errors: Literal["all", "csp", "page"] = "all",
              **context: Any) -> tuple[Any, list[str]]:
    """A page in a new context made with `context`, and the list its errors go to: script errors
    (uncaught exceptions) always, plus console errors ("all"), only CSP violations among them
    ("csp": inline styles or scripts), or none of them ("page")."""
    page = browser.new_context(**context).new_page()
    seen: list[str] = []
    if errors == "all":
        page.on("console", lambda m: seen.append(m.text) if m.type == "error" else None)
    elif errors == "csp":
        page.on("console", lambda m: seen.append(m.text) if m.type == "error" and "Content Security" in m.text
                else None)
    page.on("pageerror", lambda e: seen.append(str(e)))
    return page, seen
