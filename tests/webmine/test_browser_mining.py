"""Browser mining end to end in Debian's chromium: the /mine page connects to a real pool's
WebSocket port on a real devnet node, mines (WebAssembly on desktop, plain JS on a phone-sized
touch viewport), the pool accepts its shares, and pausing — the button or a hidden page — stops
hashing. Battery rules are checked with a scripted Battery Status API."""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from hashforge.consensus.params import DEVNET
from hashforge.kernels.wasm.build import DEFAULT_OUT, build
from hashforge.services.earnings import next_reward, sat_per_day
from tests.helpers.browser import ARTIFACTS, open_page, playwright_or_skip

from .conftest import Operation
from .wsclient import WsClient

pytestmark = pytest.mark.slow
pw = playwright_or_skip()
expect = pw.expect

FAKE_BATTERY = """
(() => {
  const battery = new EventTarget();
  battery.level = 0.9; battery.charging = true;
  window.__battery = battery;
  window.__setBattery = (level, charging) => {
    battery.level = level; battery.charging = charging;
    battery.dispatchEvent(new Event(charging ? 'chargingchange' : 'levelchange'));
    battery.dispatchEvent(new Event('chargingchange'));
  };
  navigator.getBattery = () => Promise.resolve(battery);
})();
"""
HIDE = """(hidden) => {
  Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});
  Object.defineProperty(document, 'visibilityState', {value: hidden ? 'hidden' : 'visible', configurable: true});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


@pytest.fixture(scope="module", autouse=True)
def wasm_built() -> None:
    """`make test` builds the kernel; build it here too when the test runs alone."""
    if not DEFAULT_OUT.exists() and build(DEFAULT_OUT) is None:
        pytest.skip("no wasm32 compiler (pip install ziglang)")


def _hashes(page: Any) -> int:
    return int(page.locator("#m-hashes").inner_text())


def _assert_stopped_hashing(page: Any) -> None:
    # every worker reports "idle" once its last chunk is done (data-busy counts the busy ones);
    # after that the counter must not move at all
    expect(page.locator("#m-state")).to_have_attribute("data-busy", "0", timeout=15_000)
    last = _hashes(page)
    time.sleep(1.5)
    assert _hashes(page) == last, "hashing went on while paused"


def _wait_count(page: Any, selector: str, at_least: int, timeout: float = 30) -> None:
    # polled from Python: the page's CSP (rightly) forbids the eval wait_for_function needs
    deadline = time.monotonic() + timeout
    while int(page.locator(selector).inner_text()) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector} stayed below {at_least}: {page.locator('#m-message').inner_text()!r}")
        time.sleep(0.2)


def _hashes_in(page: Any, seconds: float) -> int:
    before = _hashes(page)
    time.sleep(seconds)
    return _hashes(page) - before


def _assert_hashing(page: Any) -> None:
    _wait_count(page, "#m-hashes", _hashes(page) + 1, 10)


def _start(page: Any, op: Operation, worker: str, tap: bool = False) -> None:
    page.fill("#m-address", op.address)
    page.fill("#m-worker", worker)
    page.evaluate("document.getElementById('m-threads').value = '1'")
    (page.tap if tap else page.click)("#m-start")
    expect(page.locator("#m-state")).to_have_attribute("data-state", "mining", timeout=15_000)


def _accepted_by_pool(op: Operation, worker: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for row in op.workers():
            if row.get("worker") == worker or row.get("name") == f"{op.address}.{worker}" or row.get("name") == worker:
                return row
        time.sleep(0.5)
    raise AssertionError(f"the pool has no shares from {worker}: {op.workers()}\n{op.pool_log()}")


def test_desktop_mines_with_wasm_pause_and_hidden(browser: Any, operation: Operation) -> None:
    op = operation
    page, errors = open_page(browser, viewport={"width": 1280, "height": 900})
    page.goto(op.api.url + "/mine")
    expect(page.locator("h1")).to_have_text("Mine in this browser")
    expect(page.get_by_role("link", name="Mine here")).to_have_attribute("aria-current", "page")
    # the honest earnings: the page's formula is the API's
    mining = op.node.call("getmininginfo")
    reward = next_reward(int(mining["blocks"]), DEVNET)
    js = page.evaluate("HFMine.expectedSatPerDay(1e6)")
    expected = sat_per_day(1e6, float(mining["difficulty"]), reward, DEVNET)
    assert js == pytest.approx(expected, rel=1e-9)
    expect(page.locator("#m-reference")).to_contain_text(f"1 MH/s would expect {expected} sat a day")

    _start(page, op, "desk")
    expect(page.locator("#m-engine")).to_have_attribute("data-engine", "wasm")
    expect(page.locator("#m-engine")).to_have_text("WebAssembly (hashforge C kernel)")
    _wait_count(page, "#m-accepted", 2)
    expect(page.locator("#m-hashrate")).to_have_text(re.compile(r"^[1-9][0-9.]* [kMG]?H/s$"))
    expect(page.locator("#m-earnings")).to_have_text(re.compile(r"sat/day$"))
    row = _accepted_by_pool(op, "desk")
    assert row, row
    assert op.metric("hashforge_pool_shares_accepted_total") >= 2

    # pause with the button: the hash counter stops
    page.click("#m-pause")
    expect(page.locator("#m-state")).to_have_attribute("data-state", "paused")
    expect(page.locator("#m-pause")).to_have_attribute("aria-pressed", "true")
    _assert_stopped_hashing(page)
    expect(page.locator("#m-hashrate")).to_have_text("0 H/s")
    page.click("#m-pause")
    expect(page.locator("#m-state")).to_have_attribute("data-state", "mining")
    _assert_hashing(page)

    # a hidden page (another tab, screen off) pauses by itself and resumes when visible
    page.evaluate(HIDE, True)
    expect(page.locator("#m-state")).to_have_attribute("data-state", "paused")
    expect(page.locator("#m-message")).to_have_text("Paused while the page is hidden.")
    _assert_stopped_hashing(page)
    page.evaluate(HIDE, False)
    expect(page.locator("#m-state")).to_have_attribute("data-state", "mining")
    _assert_hashing(page)

    # the throttle: at a 20 % duty cycle the worker hashes well under half as much
    full = _hashes_in(page, 1.5)
    page.fill("#m-duty", "20")
    page.dispatch_event("#m-duty", "input")
    expect(page.locator("#m-duty-out")).to_have_text("20 %")
    time.sleep(0.3)
    throttled = _hashes_in(page, 1.5)
    assert 0 < throttled < 0.6 * full, (throttled, full)

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "webmine-desktop.png"), full_page=True)
    page.click("#m-stop")
    expect(page.locator("#m-state")).to_have_attribute("data-state", "stopped")
    assert not errors, errors  # CSP violations (ws, wasm, worker) would show up here
    page.context.close()


def test_phone_touch_js_fallback_and_battery(browser: Any, operation: Operation) -> None:
    op = operation
    page, errors = open_page(browser, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                             has_touch=True)
    page.add_init_script(FAKE_BATTERY)
    page.goto(op.api.url + "/mine?engine=js")
    expect(page.locator("#m-battery")).to_have_text("90 %, charging")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "page scrolls sideways"
    page.check("#m-need-charging")
    _start(page, op, "phone", tap=True)
    expect(page.locator("#m-engine")).to_have_attribute("data-engine", "js")
    _wait_count(page, "#m-accepted", 1)
    _accepted_by_pool(op, "phone")
    page.tap("#m-pause")
    expect(page.locator("#m-state")).to_have_attribute("data-state", "paused")
    _assert_stopped_hashing(page)
    page.tap("#m-pause")
    _assert_hashing(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "webmine-phone.png"), full_page=True)

    # unplugged: "stop when charging stops"
    page.evaluate("window.__setBattery(0.9, false)")
    expect(page.locator("#m-state")).to_have_attribute("data-state", "stopped")
    expect(page.locator("#m-message")).to_have_text("Stopped: charging stopped.")
    _assert_stopped_hashing(page)

    # on battery, below the threshold: stops (and will not restart while unplugged with the option)
    page.uncheck("#m-need-charging")
    page.evaluate("window.__setBattery(0.5, false)")
    page.tap("#m-start")
    expect(page.locator("#m-state")).to_have_attribute("data-state", "mining", timeout=15_000)
    page.evaluate("window.__setBattery(0.15, false)")
    expect(page.locator("#m-state")).to_have_attribute("data-state", "stopped")
    expect(page.locator("#m-message")).to_have_text("Stopped: battery at 15 %, below 20 %.")
    assert not errors, errors
    page.context.close()


def test_no_battery_api_and_no_endpoint(browser: Any, operation: Operation) -> None:
    page, errors = open_page(browser, viewport={"width": 1280, "height": 900})
    page.add_init_script("delete Navigator.prototype.getBattery; delete navigator.getBattery;")
    page.goto(operation.api.url + "/mine")
    expect(page.locator("#m-battery")).to_have_text("battery status not available")
    assert not errors, errors
    page.context.close()


def _pool_share_difficulty(op: Operation) -> float:
    async def ask() -> float:
        c = await WsClient.connect(op.ws_port)
        await c.login(f"{op.address}.probe")
        await c.close()
        return c.difficulty

    # in a thread of its own: Playwright's sync API already runs an event loop in this one
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(asyncio.wait_for(ask(), 30))).result()


def test_scrypt_network_mines_in_the_browser(browser: Any, scrypt_operation: Operation) -> None:
    op = scrypt_operation
    # vardiff caps scrypt share difficulty (2^16-scaled) at the network difficulty in share units;
    # capped at the unscaled one it was 65536x too easy, every hash a share, and the browser flooded
    assert _pool_share_difficulty(op) >= 0.01  # the fixture's --start-difficulty
    page, errors = open_page(browser, viewport={"width": 1280, "height": 900})
    page.goto(op.api.url + "/mine")
    assert page.locator("#webmine").get_attribute("data-algo") == "scrypt"
    _start(page, op, "scryptweb")
    expect(page.locator("#m-engine")).to_have_attribute("data-engine", "wasm")
    _wait_count(page, "#m-accepted", 1)
    _accepted_by_pool(op, "scryptweb")
    page.click("#m-stop")
    assert not errors, errors
    page.context.close()
