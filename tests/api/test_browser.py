"""The dashboard in a real browser (Playwright driving Debian's chromium): the chain height shows,
a block mined with generatetoaddress appears live (SSE, no reload), and the page works at a phone's
size. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
from typing import Any

from tests.api.conftest import ADDRESS, Chain
from tests.api.served import ServedApi
from tests.helpers.browser import ARTIFACTS, open_page, playwright_or_skip

playwright_api = playwright_or_skip()


def test_overview_updates_live(browser: Any, api: ServedApi, chain: Chain) -> None:
    expect = playwright_api.expect
    page, errors = open_page(browser, viewport={"width": 1280, "height": 900})
    page.goto(api.url + "/")
    height = chain.node.call("getblockcount")
    expect(page.locator("#stat-height")).to_have_text(str(height))
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(page.get_by_text("Pool not running")).to_be_visible()
    expect(page.get_by_text("Wallet not running")).to_be_visible()
    expect(page.locator("figure[data-chart] svg title").first).to_have_text("Network hash rate by block height")

    [new_hash] = chain.node.call("generatetoaddress", 1, ADDRESS)
    expect(page.locator("#stat-height")).to_have_text(str(height + 1), timeout=10_000)
    first_row = page.locator("#recent-blocks tbody tr").first
    expect(first_row).to_have_attribute("data-height", str(height + 1))
    expect(first_row.locator("code")).to_have_attribute("title", new_hash)
    expect(page.locator("#announcer")).to_have_text(f"New block {height + 1}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-desktop.png"), full_page=True)

    first_row.locator("a").click()
    expect(page.locator("h1")).to_have_text(f"Block {height + 1}")
    assert not errors, errors  # CSP violations and script errors show up here
    page.context.close()


def test_phone_viewport(browser: Any, api: ServedApi, chain: Chain) -> None:
    expect = playwright_api.expect
    page, errors = open_page(browser, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                             has_touch=True)
    page.goto(api.url + "/")
    expect(page.locator("#stat-height")).to_have_text(str(chain.node.call("getblockcount")))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "page scrolls sideways"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
    page.get_by_role("link", name="Blocks", exact=True).click()
    expect(page.locator("h1")).to_have_text("Blocks")
    expect(page.locator("#block-list tbody tr")).to_have_count(25)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(ARTIFACTS / "blocks-phone.png"), full_page=True)
    page.get_by_role("link", name="Workers").click()
    expect(page.get_by_text("Pool not running")).to_be_visible()
    assert not errors, errors
    page.context.close()


def test_operation_dashboard_hashrate_and_worker_page(browser: Any, full_api: ServedApi, stack: Any) -> None:
    """With pool, miner and wallet attached: a non-zero pool hash rate, the worker's link opens its page."""
    expect = playwright_api.expect
    page, errors = open_page(browser, viewport={"width": 1280, "height": 900})
    page.goto(full_api.url + "/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    rate = page.locator('[data-field="pool-hashrate"]')
    expect(rate).not_to_have_text("0 H/s")
    expect(rate).to_have_text(re.compile(r"H/s$"))
    expect(page.locator("#pool-blocks tbody tr").first).to_be_visible()
    expect(page.locator('[data-field="wallet-spendable"]')).not_to_have_text("0.00000000")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-operation.png"), full_page=True)
    page.locator(f'#worker-table a[href="/workers/{stack.worker}"]').click()
    expect(page.locator("h1")).to_have_text("Worker rig1")
    expect(page.locator("#worker-stats .status")).to_have_text("online")
    page.screenshot(path=str(ARTIFACTS / "worker-page.png"), full_page=True)
    assert not errors, errors
    page.context.close()
