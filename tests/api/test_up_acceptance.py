"""Issue 8's acceptance on the real thing: `hashforge up` on free ports, its dashboard in Debian's
chromium (hash rate non-zero, a found block, a worker page, a phone-sized run) and schemathesis
against its fully attached API (pool, miner and wallet routers): no 5xx, no schema violation."""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from tests.helpers.browser import ARTIFACTS, open_page, playwright_or_skip
from tests.helpers.nodeproc import free_port

playwright_api = playwright_or_skip()
schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install -e '.[dev]')")
from schemathesis.generation.modes import GenerationMode  # noqa: E402


class Up:
    def __init__(self, root: Path) -> None:
        self.api_port = free_port()
        self.miner_api_port = free_port()
        args = ["--datadir", str(root / "up"), "--threads", "1", "--json", "--api-port", str(self.api_port),
                "--miner-api-port", str(self.miner_api_port)]
        for flag in ("--rpc-port", "--stratum-port", "--pool-api-port", "--ws-port"):
            args += [flag, str(free_port())]
        self.proc = subprocess.Popen([sys.executable, "-m", "hashforge", "up", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.events: list[dict[str, Any]] = []
        self._sel = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def wait_event(self, kind: str, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self._sel.select(timeout=0.5):
                line = self.proc.stdout.readline()
                if line.strip():
                    event: dict[str, Any] = json.loads(line)
                    self.events.append(event)
                    if event["event"] == kind:
                        return event
        stderr = self.proc.stderr.read().decode()[-2000:] if self.proc.poll() is not None and self.proc.stderr else ""
        raise TimeoutError(f"no {kind!r} event within {timeout} s: {self.events[-5:]} {stderr}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    running = Up(tmp_path_factory.mktemp("up"))
    try:
        running.wait_event("ready", 120)
        running.wait_event("block", 60)
        yield running
    finally:
        code = running.stop()
    assert code == 0


def test_dashboard_of_hashforge_up(up: Up, browser: Any) -> None:
    expect = playwright_api.expect
    ready = next(e for e in up.events if e["event"] == "ready")
    worker = f"{ready['address']}.up"
    for name, context in (("desktop", {"viewport": {"width": 1280, "height": 900}}),
                          ("phone", {"viewport": {"width": 390, "height": 844}, "is_mobile": True,
                                     "has_touch": True, "device_scale_factor": 2})):
        page, errors = open_page(browser, errors="page", **context)
        page.goto(up.url + "/")
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=15_000)
        rate = page.locator('[data-field="pool-hashrate"]')
        expect(rate).to_have_text(re.compile(r"H/s$"), timeout=30_000)
        expect(rate).not_to_have_text("0 H/s", timeout=30_000)
        expect(page.locator("#pool-blocks tbody tr").first).to_be_visible(timeout=30_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"up-{name}.png"), full_page=True)
        page.locator(f'a[href="/workers/{worker}"]').first.click()
        expect(page.locator("h1")).to_have_text("Worker up")
        page.screenshot(path=str(ARTIFACTS / f"up-worker-{name}.png"), full_page=True)
        assert not errors, errors
        page.context.close()


def test_schemathesis_on_the_attached_api(up: Up) -> None:
    config = schemathesis.Config.from_dict(
        {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "429"]}}}
    )
    schema = schemathesis.openapi.from_url(f"{up.url}/v1/openapi.json", config=config).exclude(path="/v1/events")
    labels = []
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)

        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        @settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def check(case: Any) -> None:
            case.call_and_validate()

        try:
            check()
        except Unsatisfiable:
            continue
        except Exception as e:
            failures.append(f"{operation.label}: {e}")
    # the pool, miner and wallet routers are attached and covered
    assert any("/v1/pool/" in x for x in labels) and any("/v1/miner/" in x for x in labels)
    assert any("/v1/wallet/" in x for x in labels)
    assert not failures, "\n\n".join(failures)[:6000]


def test_a_crashed_part_is_restarted_and_reported(up: Up) -> None:
    import psutil

    miner = [p for p in psutil.process_iter(["cmdline"])
             if f"127.0.0.1:{up.miner_api_port}" in " ".join(p.info["cmdline"] or []) and "mine" in (p.info["cmdline"] or [])]
    assert len(miner) == 1, miner
    miner[0].kill()
    event = up.wait_event("restart", 30)
    assert "miner exited" in event["message"] and "restarting (1/3 within 600 s)" in event["message"]
    assert (event["part"], event["crashes"], event["max_crashes"]) == ("miner", 1, 3)
    up.wait_event("block", 60)  # the restarted miner finds blocks again
