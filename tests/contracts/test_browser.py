"""The contracts pages in Debian's chromium (Playwright): the operator's capacity gauge, contracts
and journal; a customer's own page opened with the customer's key, at a phone's size too.
Screenshots go to tests/artifacts/."""

from __future__ import annotations

from typing import Any

from hashforge.services.keys import Scope
from tests.helpers.browser import ARTIFACTS, open_page, playwright_or_skip

from .served import Site

playwright_api = playwright_or_skip()


def test_operator_page_in_chromium(served: Site, browser: Any) -> None:
    expect = playwright_api.expect
    page, errors = open_page(browser, errors="csp", viewport={"width": 1280, "height": 900})
    page.goto(served.api.url + "/")
    page.get_by_role("link", name="Contracts", exact=True).click()
    expect(page.locator("h1")).to_have_text("Cloud-mining contracts")
    gauge = page.locator("#capacity-gauge")
    expect(gauge).to_be_visible()
    expect(gauge).to_have_attribute("value", "0")
    assert float(gauge.get_attribute("max") or 0) > 1e9  # the farm's ~1.07 GH/s
    expect(page.locator("#cap-measured")).to_have_text("1.07 GH/s")
    expect(page.locator(f'#contract-list tr[data-contract="{served.alice_contract}"] td').nth(2)).to_have_text("expired")
    expect(page.locator(f'#contract-list tr[data-contract="{served.bob_contract}"] td').nth(3)).to_have_text("537 MH/s")
    expect(page.locator("#period-list tbody tr")).to_have_count(4)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "contracts-operator.png"), full_page=True)
    page.locator('#contract-list a[href="/contracts/customers/alice"]').click()
    expect(page.locator("h1")).to_have_text("Customer Alice")
    assert not errors, errors
    page.context.close()


def test_customer_page_in_chromium_phone(served: Site, browser: Any) -> None:
    expect = playwright_api.expect
    _, token = served.api.keys.create("alice-phone", frozenset({Scope.CUSTOMER}), customer="alice")
    page, errors = open_page(browser, errors="csp", viewport={"width": 390, "height": 844}, device_scale_factor=2,
                             is_mobile=True, has_touch=True,
                             extra_http_headers={"Authorization": f"Bearer {token}"})
    page.goto(served.api.url + "/contracts/me")
    expect(page.locator("h1")).to_have_text("Your contracts")
    card = page.locator(f"#contract-{served.alice_contract}")
    expect(card.locator(".bought")).to_have_text("268 MH/s")
    expect(card.locator(".delivered")).to_have_text("268 MH/s")
    expect(card.locator(".earned")).not_to_have_text("0.00000000")
    expect(card.locator("table.allocations tbody tr")).to_have_count(3)
    expect(page.locator(f"#contract-{served.bob_contract}")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 391, "page scrolls sideways"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "contracts-customer-phone.png"), full_page=True)
    # the customer's key opens nothing else
    response = page.goto(served.api.url + "/contracts")
    assert response is not None and response.status == 403
    assert not errors, errors
    page.context.close()
