"""/alerts in a real browser (Playwright driving Debian's chromium): open alerts, history, rules and
the maintenance log render, and a block found by the pool shows up live (bus -> evaluator -> SSE)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from hashforge.ops.alerts import AlertStore
from hashforge.services.events import ShareEvent
from tests.helpers.browser import ARTIFACTS, open_page, playwright_or_skip
from tests.helpers.nodeproc import NodeProcess
from tests.ops.test_alerts_api import serve_with_ops

W = "bcrt1qexampleaddress0000.rig1"

playwright_api = playwright_or_skip()


@pytest.mark.slow
def test_alerts_page_live(browser: Any, tmp_path: Path) -> None:
    expect = playwright_api.expect
    node = NodeProcess(tmp_path / "regtest").start()
    now = time.time()
    store = AlertStore(tmp_path / "ops")
    store.set_setting("poll_s", 0.3)
    offline = store.add_rule("offline", 10, None, None, None, now)
    store.add_rule("block_found", None, None, None, None, now)
    old = store.create_alert(offline, W.replace("rig1", "rig9"), "Worker rig9 has sent no share for 12.0 min.", now - 900)
    store.resolve_alert(old.id, now - 600, "back")
    store.create_alert(offline, W, "Worker rig1 has sent no share for 11.0 min.", now - 60)
    store.add_window("rig2", now - 60, now + 3600, "swapping fans", now)
    store.add_note("CPU0", "re-pasted the cooler", now)
    api = serve_with_ops(node, tmp_path / "data", tmp_path / "ops")
    try:
        page, errors = open_page(browser, errors="page", viewport={"width": 1280, "height": 900})
        page.goto(api.url + "/alerts")
        expect(page.locator("nav a[aria-current=page]")).to_have_text("Alerts")
        expect(page.locator("#open-alerts tbody tr")).to_have_count(1)
        expect(page.locator("#open-alerts tbody tr").first).to_contain_text("11.0 min")
        expect(page.locator("#alert-history tbody tr[data-state=resolved]")).to_have_count(1)
        expect(page.locator("#alert-rules li")).to_have_count(2)
        expect(page.locator("#maint-windows li.active")).to_contain_text("now silenced")
        expect(page.locator("#maint-notes")).to_contain_text("re-pasted the cooler")
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
        api.bus.publish_threadsafe(ShareEvent(worker=W, difficulty=2.5, accepted=True, block=True))
        expect(page.locator("#alert-feed li").first).to_contain_text(f"INFO · alerts: Block found by {W}",
                                                                      timeout=10_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "alerts-desktop.png"), full_page=True)
        assert errors == []
        assert [a.kind for a in store.alerts(10, state="event")] == ["block_found"]
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
        phone.goto(api.url + "/alerts")
        expect(phone.locator("#open-alerts")).to_be_visible()
        # wide tables scroll inside their wrapper; the page itself does not scroll sideways
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        phone.screenshot(path=str(ARTIFACTS / "alerts-phone.png"), full_page=True)
    finally:
        api.stop()
        node.stop()
