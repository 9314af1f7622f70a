"""The evaluator inside a real API over a real node, pool and miner (tests/api/stack.py): stopping
the miner makes its worker go offline, the rule fires, the webhook receives it and the bus carries
the AlertEvent."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from hashforge.ops.alerts import AlertStore
from hashforge.pool.apiguard import read_cookie
from tests.api.stack import attach, build_stack, wait_for
from tests.ops.test_alerts_api import serve_with_ops
from tests.ops.test_alerts_notify import Receiver


@pytest.mark.slow
def test_stopped_miner_fires_offline_rule(tmp_path: Path) -> None:
    stack = build_stack(tmp_path)
    receiver = Receiver()
    try:
        ops_dir = tmp_path / "ops"
        store = AlertStore(ops_dir)
        store.set_setting("poll_s", 0.5)
        rule = store.add_rule("offline", 0.05, None, None, None, time.time())  # 3 s without a share
        store.add_channel("hook", "webhook", {}, {"url": receiver.url + "/hook/TOKEN"}, time.time())
        stack.api = serve_with_ops(stack.node, tmp_path / "apidata", ops_dir, *attach(stack))
        pool_workers = f"http://127.0.0.1:{stack.pool_api_port}/v1/pool/workers"
        wait_for(lambda: any(f"{w['address']}.{w['worker']}" == stack.worker
                             for w in httpx.get(pool_workers, auth=read_cookie(stack.pool_cookie)).json()),
                 60, "the miner's worker at the pool", lambda: stack.log("miner") + stack.log("pool"))
        with httpx.Client(base_url=stack.api.url + "/v1/ops", timeout=10) as client:
            def open_offline() -> list[dict[str, object]]:
                items = client.get("/alerts", params={"state": "open"}).json()["items"]
                return [a for a in items if a["rule_id"] == rule.id and a["subject"] == stack.worker]

            time.sleep(1.5)  # a few polls while it mines: nothing fires
            assert open_offline() == []
            miner = stack.procs["miner"]
            miner.send_signal(signal.SIGTERM)
            miner.wait(15)
            [last_share] = [float(w["last_share"]) for w in
                            httpx.get(pool_workers, auth=read_cookie(stack.pool_cookie)).json()
                            if f"{w['address']}.{w['worker']}" == stack.worker]
            wait_for(lambda: bool(open_offline()), 30, "the offline alert")
            # not before the rule's 3 s counted from the last share the pool saw (a loaded machine can make
            # that share older than the stop, so the stop moment itself is no bound)
            assert time.time() - last_share >= 3.0
            [alert] = open_offline()
            assert alert["kind"] == "offline" and alert["level"] == "critical"
            wait_for(lambda: any(p[0] == "/hook/TOKEN" for p in receiver.posts), 15, "the webhook delivery")
            [(_, body)] = [p for p in receiver.posts if p[0] == "/hook/TOKEN"]
            assert body["alert_id"] == alert["id"] and body["subject"] == stack.worker and body["state"] == "firing"
            detail = client.get(f"/alerts/{alert['id']}").json()
            assert [h["action"] for h in detail["history"]] == ["fired", "notified"]
        events = [p.event for p in stack.api.bus.recent(["alert"])]
        assert any(getattr(e, "source", "") == "alerts" and stack.worker in getattr(e, "message", "") for e in events)
    finally:
        receiver.server.shutdown()
        stack.stop()
