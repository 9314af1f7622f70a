"""/tax in a real browser (Playwright driving Debian's chromium): the scripted year's summary,
charts and tables, switching the lot method changes the gains, the Koinly download works, no
CSP or script errors, and no sideways scrolling at a phone's size."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.served import ServedApi
from tests.helpers.browser import ARTIFACTS, open_page, playwright_or_skip
from tests.helpers.nodeproc import NodeProcess

from .test_ledger_api import serve_ops
from .test_ledger_csv import KOINLY
from .test_ledger_year import scripted_year

playwright_api = playwright_or_skip()
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    root = tmp_path_factory.mktemp("taxweb")
    scripted_year(root / "ops")
    node = NodeProcess(root / "regtest").start()
    try:
        api = serve_ops(node, root)
        yield api
        api.stop()
    finally:
        node.stop()


def test_tax_page(browser: Any, served: ServedApi) -> None:
    expect = playwright_api.expect
    page, errors = open_page(browser, viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page.goto(served.url + "/")
    page.get_by_role("link", name="Tax", exact=True).click()
    expect(page.locator("h1")).to_have_text("Tax records — 2024")  # the newest year with records
    expect(page.locator("nav a[aria-current=page]")).to_have_text("Tax")
    expect(page.get_by_role("note")).to_contain_text("not tax advice")
    summary = page.locator("#tax-summary")
    expect(summary.locator("[data-field=income]")).to_have_text("33,000.00")
    expect(summary.locator("[data-field=expenses]")).to_have_text("651.99")
    expect(summary.locator("[data-field=depreciation]")).to_have_text("1,125.00")
    expect(summary.locator("[data-field=short]")).to_have_text("23,940.00")
    expect(summary.locator("[data-field=long]")).to_have_text("6,000.00")
    expect(summary.locator("[data-field=net]")).to_have_text("61,163.01")
    expect(page.locator("#tax-income tr[data-source=pool]")).to_contain_text("13,000.00")
    expect(page.locator("figure[data-chart=tax-months] svg title").first).to_have_text(
        "Mining income by month, 2024 (USD)")
    expect(page.locator("figure[data-chart=tax-months] svg rect")).to_have_count(12)
    expect(page.get_by_text("1 income entry needs a price")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tax-desktop.png"), full_page=True)

    page.select_option("#t-method", "hifo")
    page.get_by_role("button", name="Show").click()
    expect(summary.locator("[data-field=short]")).to_have_text("13,440.00")
    expect(summary.locator("[data-field=long]")).to_have_text("0.00")
    expect(page.locator("#tax-gains tbody tr")).to_have_count(4)

    with page.expect_download() as info:
        page.get_by_role("link", name="Koinly universal CSV").click()
    text = Path(info.value.path()).read_text()
    assert text.splitlines()[0] == ",".join(KOINLY)

    page.select_option("#t-year", "2023")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("h1")).to_have_text("Tax records — 2023")
    expect(summary.locator("[data-field=income]")).to_have_text("20,000.00")
    assert not errors, errors  # CSP violations and script errors show up here
    response = page.goto(served.url + "/tax?year=abc")
    assert response is not None and response.status == 400
    expect(page.locator("#tax-error")).to_contain_text("year must be a number")
    page.context.close()


def test_tax_page_phone(browser: Any, served: ServedApi) -> None:
    page = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                               has_touch=True).new_page()
    page.goto(served.url + "/tax?year=2024&method=lifo")
    playwright_api.expect(page.locator("#tax-summary [data-field=short]")).to_have_text("13,940.00")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "page scrolls sideways"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tax-phone.png"), full_page=True)
    page.context.close()
