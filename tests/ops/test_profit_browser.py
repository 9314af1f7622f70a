"""/profit in a real browser (Playwright driving Debian's chromium), over a real regtest node and the
API with ops attached: the form computes with live node figures, charts render, bad input shows a
one-line error, and the page fits a phone's width. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.served import ServedApi
from tests.helpers.browser import ARTIFACTS, open_page, playwright_or_skip
from tests.helpers.nodeproc import NodeProcess
from tests.ops.test_profit_live import ADDRESS, serve_with_ops

pytestmark = pytest.mark.slow
playwright_api = playwright_or_skip()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    node = NodeProcess(tmp_path_factory.mktemp("profitweb") / "regtest").start()
    try:
        node.call("generatetoaddress", 20, ADDRESS)
        served = serve_with_ops(node, tmp_path_factory.mktemp("profitwebapi"))
        yield served
        served.stop()
    finally:
        node.stop()


def test_profit_page_desktop_and_phone(browser: Any, api: ServedApi) -> None:
    expect = playwright_api.expect
    page, errors = open_page(browser, viewport={"width": 1280, "height": 900})
    page.goto(api.url + "/")
    page.get_by_role("link", name="Profit", exact=True).click()
    expect(page.locator("h1")).to_have_text("Profitability")
    expect(page.locator("#f-preset")).to_have_value("s21")
    # on a test network the first view uses mainnet reference figures, and says so; live uses the node's
    expect(page.locator("#in-difficulty")).to_have_attribute("title", "150000000000000")  # presets.toml's BTC
    expect(page.locator("p.note").first).to_contain_text("regtest is a test network")
    page.locator("#f-live").check()
    page.get_by_role("button", name="Calculate").click()
    expect(page.locator("#in-difficulty")).to_have_text(re.compile(r"^0\.000000000465"))
    page.locator("#f-difficulty").fill("1.1e14")
    page.locator("#f-price").fill("95000")
    page.locator("#f-electricity").fill("0.08")
    page.locator("#f-pool-fee").fill("2")
    page.locator("#f-growth").fill("0")
    page.locator("#f-live").uncheck()
    page.get_by_role("button", name="Calculate").click()
    expect(page).to_have_url(re.compile(r"difficulty=1\.1e14"))
    # hand-checked in test_profit_calc: revenue $10.64, electricity $6.72, profit $3.92 per day
    # (reference BTC fees of 0.02 a block add 0.64 % here: 3.125 + 0.02 BTC)
    expect(page.locator("#stat-cost")).to_have_text("$6.72")
    expect(page.locator("#stat-revenue")).to_have_text("$10.71")
    expect(page.locator("#stat-profit")).to_have_text("$3.99")
    expect(page.locator("#be-days")).to_have_text("1,253 days")
    expect(page.locator("#fig-electricity svg title")).to_have_text("Profit per day by electricity price")
    expect(page.locator("#fig-time svg polyline")).to_have_count(1)
    expect(page.locator("#fig-cumulative svg polyline")).to_have_count(2)  # profit and the hardware cost line
    expect(page.locator("#compare tr[data-coin='eth']")).to_contain_text("proof of stake")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "profit-desktop.png"), full_page=True)
    assert not errors, errors  # CSP violations and script errors show up here

    page.locator("#f-power").fill("-5W")
    page.get_by_role("button", name="Calculate").click()
    expect(page.locator("#profit-error")).to_have_text("power: must not be negative (got -5)")
    expect(page.locator("#profit-result")).to_have_count(0)
    assert errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"], errors
    page.context.close()

    # the same page at a phone's size (one test, so one node and one chromium per run)
    page, errors = open_page(browser, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                             has_touch=True)
    page.goto(api.url + "/profit?preset=l7&price_usd=90&electricity=0.05&months=12&growth=2")
    expect(page.locator("#stat-profit")).to_be_visible()
    expect(page.locator("#compare tr[data-coin='ltc']")).to_contain_text("LTC")
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= 391 and width[1] <= 391, f"page wider than the phone: {width}"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "profit-phone.png"), full_page=True)
    assert not errors, errors
    page.context.close()
