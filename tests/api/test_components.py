"""The pool, miner and wallet routers against the real components on loopback (tests/api/stack.py):
reshaped reads, cursor pages, live share events from the pool, control and spend scopes, the
wallet's refusals as problems, and the dashboard pages that show them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from hashforge.services.keys import Scope
from tests.api.served import ServedApi
from tests.api.stack import Stack, wait_for
from tests.api.test_chain import problem

OTHER = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"


@pytest.fixture(scope="module")
def c(full_api: ServedApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=full_api.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def keys(full_api: ServedApi) -> dict[str, dict[str, str]]:
    out = {}
    for name, scopes in [("reader", {Scope.READ}), ("operator", {Scope.CONTROL}), ("payer", {Scope.SPEND})]:
        _, token = full_api.keys.create(f"components-{name}", frozenset(scopes))
        out[name] = {"Authorization": f"Bearer {token}"}
    return out


def test_pool_stats_workers_and_worker(c: httpx.Client, stack: Stack) -> None:
    stats = c.get("/v1/pool/stats").json()
    assert stats["hashrate_hps"] > 0 and stats["workers"] >= 1 and stats["scheme"] == "solo"
    assert stats["network"] == "regtest" and stats["blocks"]["pending"] >= 1
    page = c.get("/v1/pool/workers").json()
    [w] = [w for w in page["items"] if w["name"] == stack.worker]
    assert w["status"] == "online" and w["hashrate_hps"] > 0 and w["worker"] == "rig1" and w["shares"] >= 1
    detail = c.get(f"/v1/pool/workers/{stack.worker}").json()
    assert detail["name"] == stack.worker and detail["blocks"] and detail["blocks"][0]["status"] == "pending"
    problem(c.get(f"/v1/pool/workers/{stack.address}.nobody"), 404)
    problem(c.get("/v1/pool/workers/not-a-worker"), 422)
    miner = c.get(f"/v1/pool/miners/{stack.address}").json()
    assert miner["workers"][0]["name"] == stack.worker and miner["recent_blocks"]
    problem(c.get(f"/v1/pool/miners/{OTHER}"), 404)


def test_pool_blocks_pages_and_history(c: httpx.Client, stack: Stack) -> None:
    wait_for(lambda: c.get("/v1/pool/stats").json()["blocks"]["pending"] >= 2, 60, "a second pool block",
             lambda: stack.log("miner"))
    first = c.get("/v1/pool/blocks", params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = c.get("/v1/pool/blocks", params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert second["items"][0]["id"] < first["items"][0]["id"]
    b = first["items"][0]
    assert b["worker"] == stack.worker and b["reward_sat"] > 0 and b["status"] == "pending"
    assert stack.node.call("getblockheader", b["hash"])["height"] == b["height"]
    problem(c.get("/v1/pool/blocks", params={"cursor": c.get("/v1/chain/blocks").json()["next_cursor"]}), 400)
    assert c.get("/v1/pool/payments").json() == {"items": [], "limit": 20, "next_cursor": None}  # SOLO: none
    points = c.get("/v1/pool/hashrate", params={"bucket": 60, "limit": 5}).json()
    assert len(points["items"]) == 5 and points["next_cursor"]
    assert any(p["hashrate_hps"] > 0 for p in points["items"][:2])
    assert points["items"][0]["time"] > points["items"][1]["time"]
    est = c.get("/v1/pool/earnings").json()
    # regtest halves every 150 blocks and the stack's miner outruns that: any current subsidy
    halvings = (stack.node.call("getblockcount") + 1) // 150
    assert est["sat_per_day"] > 0
    assert est["block_reward_sat"] in {50 * 10**8 >> k for k in (halvings - 1, halvings, halvings + 1) if k >= 0}


def test_share_events_from_the_pool(full_api: ServedApi, stack: Stack) -> None:
    def shares() -> list[dict[str, object]]:
        return [p.event.model_dump() for p in full_api.bus.recent(["share"])]

    wait_for(lambda: any(s["worker"] == stack.worker and s["block"] for s in shares()), 60, "a block share event",
             lambda: stack.log("miner"))
    assert all(s["accepted"] for s in shares() if s["worker"] == stack.worker)


def test_miner_reads(c: httpx.Client) -> None:
    r = c.get("/v1/miner/summary")
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["elapsed_s"] >= 0 and s["accepted"] >= 1 and s["hashrate"]["average_hps"] > 0
    assert set(c.get("/v1/miner/hashrate").json()) == {"average_hps", "last_5s_hps", "last_1m_hps", "last_5m_hps",
                                                       "last_15m_hps"}
    [dev] = c.get("/v1/miner/devices").json()["items"]
    assert dev["kind"] == "cpu" and dev["enabled"] and dev["status"]
    pools = c.get("/v1/miner/pools", params={"limit": 1}).json()
    assert len(pools["items"]) == 1 and pools["next_cursor"]
    rest = c.get("/v1/miner/pools", params={"limit": 1, "cursor": pools["next_cursor"]}).json()
    assert rest["items"][0]["id"] == 1 and rest["next_cursor"] is None


def test_miner_control_needs_control(c: httpx.Client, keys: dict[str, dict[str, str]]) -> None:
    problem(c.post("/v1/miner/pools/1/switch"), 401)
    problem(c.post("/v1/miner/pools/1/switch", headers=keys["reader"]), 403)
    problem(c.post("/v1/miner/pools/1/switch", headers=keys["payer"]), 403)
    op = keys["operator"]
    r = c.post("/v1/miner/pools/1/switch", headers=op).json()
    assert r["ok"] and r["changed"] and "Switching to pool 1" in r["message"]
    assert c.post("/v1/miner/pools/0/disable", headers=op).json()["changed"]
    assert "Disabled" in [p["status"] for p in c.get("/v1/miner/pools").json()["items"]]
    body = problem(c.post("/v1/miner/pools/1/disable", headers=op), 409)
    assert "last active pool" in body["detail"]
    assert c.post("/v1/miner/pools/0/enable", headers=op).json()["changed"]
    assert not c.post("/v1/miner/pools/0/enable", headers=op).json()["changed"]  # already enabled
    problem(c.post("/v1/miner/pools/7/switch", headers=op), 404)
    assert c.post("/v1/miner/pools/0/switch", headers=op).json()["ok"]


def test_wallet_reads(c: httpx.Client, stack: Stack, keys: dict[str, dict[str, str]]) -> None:
    wait_for(lambda: c.get("/v1/wallet/balance").json()["spendable_sat"] > 0, 30, "a synced wallet")
    b = c.get("/v1/wallet/balance").json()
    assert b["spendable_sat"] >= 50 * 10**8 and b["immature_sat"] > 0
    assert b["total_sat"] == b["spendable_sat"] + b["immature_sat"] + b["unconfirmed_sat"]
    problem(c.post("/v1/wallet/addresses"), 401)
    problem(c.post("/v1/wallet/addresses", headers=keys["reader"]), 403)
    made = c.post("/v1/wallet/addresses", headers=keys["operator"])
    assert made.status_code == 201 and made.json()["address"].startswith("bcrt1") and not made.json()["change"]
    addrs = c.get("/v1/wallet/addresses", params={"limit": 1}).json()
    assert len(addrs["items"]) == 1 and addrs["next_cursor"]
    rest = c.get("/v1/wallet/addresses", params={"limit": 100, "cursor": addrs["next_cursor"]}).json()
    assert made.json()["address"] in [a["address"] for a in addrs["items"] + rest["items"]]
    hist = c.get("/v1/wallet/history", params={"limit": 3}).json()
    assert len(hist["items"]) == 3 and hist["next_cursor"] and all(h["coinbase"] for h in hist["items"])
    more = c.get("/v1/wallet/history", params={"limit": 3, "cursor": hist["next_cursor"]}).json()
    assert not {h["txid"] for h in hist["items"]} & {h["txid"] for h in more["items"]}
    assert hist["items"][0]["height"] >= more["items"][0]["height"]


def test_wallet_send_needs_spend_and_says_why_not(c: httpx.Client, stack: Stack,
                                                  keys: dict[str, dict[str, str]]) -> None:
    wait_for(lambda: c.get("/v1/wallet/balance").json()["spendable_sat"] > 0, 30, "a synced wallet")
    body = {"address": OTHER, "amount_sat": 100_000, "fee_rate_sat_vb": 2}
    problem(c.post("/v1/wallet/send", json=body), 401)
    problem(c.post("/v1/wallet/send", json=body, headers=keys["operator"]), 403)
    pay = keys["payer"]
    for bad in [{**body, "amount_sat": 0}, {**body, "amount_sat": "100000"}, {**body, "extra": 1},
                {"address": OTHER}, {**body, "fee_rate_sat_vb": -1}]:
        problem(c.post("/v1/wallet/send", json=bad, headers=pay), 422)
    wrong_net = problem(c.post("/v1/wallet/send", json={**body, "address": "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kqq8rxa"},
                               headers=pay), 422)
    assert wrong_net["type"].endswith("invalid-address") and wrong_net["detail"]
    broke = problem(c.post("/v1/wallet/send", json={**body, "amount_sat": 20_000_000 * 10**8}, headers=pay), 422)
    assert broke["type"].endswith("insufficient-funds") and "\n" not in broke["detail"]
    sent = c.post("/v1/wallet/send", json={**body, "idempotency_key": "test-1"}, headers=pay)
    assert sent.status_code == 200, sent.text
    txid = sent.json()["txid"]
    assert re.fullmatch(r"[0-9a-f]{64}", txid) and sent.json()["fee_sat"] > 0
    # the stack's miner finds blocks continuously: the payment is in the mempool or already mined
    assert stack.node.call("getrawtransaction", txid, True)["vsize"] == sent.json()["vsize"]
    again = c.post("/v1/wallet/send", json={**body, "idempotency_key": "test-1"}, headers=pay)
    assert again.json()["txid"] == txid  # a retry does not pay twice


def test_dashboard_pages_with_components(c: httpx.Client, stack: Stack) -> None:
    html = c.get("/").text
    assert "not running" not in html and "not answering" not in html
    assert f'href="/workers/{stack.worker}"' in html and 'id="pool-blocks"' in html
    assert 'data-field="wallet-spendable"' in html and 'data-field="earnings-coin">BTC</span> per day' in html
    assert 'data-chart="/charts/pool-hashrate.svg"' in html
    page = c.get(f"/workers/{stack.worker}")
    assert page.status_code == 200 and "rig1" in page.text and "status-online" in page.text
    assert c.get(f"/workers/{stack.address}.ghost").status_code == 404
    assert c.get("/workers/bad name").status_code == 404
    assert 'class="status status-pending"' in c.get("/blocks").text
    assert "No payouts yet" in c.get("/payouts").text
    assert "<polyline" in c.get("/charts/pool-hashrate.svg").text
    assert c.get("/charts/pool-hashrate.svg", params={"address": stack.address}).status_code == 200
