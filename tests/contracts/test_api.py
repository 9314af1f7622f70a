"""`/v1/pool/contracts` over real HTTP: the public API in front of the pool's REST API in front of a
real SQLite farm. Operator writes need `control`; a customer key reads its own contracts and is
refused (403) everywhere else."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from .books import CUST_A, FARM_HPS, OP
from .served import Site

PROBLEM = "application/problem+json"


@pytest.fixture()
def http(served: Site) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.api.url, timeout=30) as c:
        yield c


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _problem(r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and "\n" not in str(body["detail"])
    return dict(body)


def test_operator_reads_contracts_capacity_and_journal(served: Site, http: httpx.Client) -> None:
    rows = http.get("/v1/pool/contracts").json()[:2]  # oldest first (other tests may sell more)
    assert [(c["id"], c["customer_id"], c["state"]) for c in rows] == [
        (served.alice_contract, "alice", "expired"), (served.bob_contract, "bob", "expired")]
    alice = http.get(f"/v1/pool/contracts/{served.alice_contract}").json()
    e = 74_250_000
    assert alice["earned_sat"] == e // 4 + e // 4 + e // 8 and alice["immature_sat"] == 0
    assert alice["delivered_hps"] == pytest.approx(FARM_HPS // 4, rel=1e-9)
    periods = http.get("/v1/pool/contracts/periods", params={"limit": 2}).json()
    assert len(periods["items"]) == 2 and periods["next_cursor"]
    more = http.get("/v1/pool/contracts/periods", params={"limit": 2, "cursor": periods["next_cursor"]}).json()
    every = periods["items"] + more["items"]
    assert len(every) == 4 and all(p["operator_sat"] == p["earned"] - p["allocated"] for p in every)
    allocs = http.get(f"/v1/pool/contracts/{served.alice_contract}/allocations").json()["items"]
    assert sum(a["net"] for a in allocs) == alice["earned_sat"]
    cap = http.get("/v1/pool/contracts/capacity").json()
    assert cap["farm"]["addresses"] == [OP]
    assert cap["measured_hps"] == pytest.approx(FARM_HPS, rel=0.01)
    _problem(http.get("/v1/pool/contracts/999"), 404)
    _problem(http.get("/v1/pool/contracts/customers/nobody"), 404)


def test_selling_needs_control_and_refuses_over_selling(served: Site, http: httpx.Client) -> None:
    body = {"customer_id": "carol", "customer_name": "Carol", "payout_address": CUST_A,
            "hashrate_hps": FARM_HPS // 10, "days": 30, "price_sat": 5_000_000, "price_fiat": "123.45",
            "fiat_currency": "EUR", "fee_sat_per_day": 100, "fee_percent": "1.5"}
    _problem(http.post("/v1/pool/contracts", json=body), 401)
    _problem(http.post("/v1/pool/contracts", json=body, headers=auth(served.reader)), 403)
    r = http.post("/v1/pool/contracts", json=body, headers=auth(served.control))
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["state"] == "active" and made["price_fiat"] == "123.45" and made["fee_percent"] == "1.5"
    assert made["end_time"] - made["start_time"] == 30 * 86400
    over = http.post("/v1/pool/contracts", json={**body, "hashrate_hps": FARM_HPS}, headers=auth(served.control))
    assert "over-selling refused" in str(_problem(over, 409)["detail"])
    bad = http.post("/v1/pool/contracts", json={**body, "payout_address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"},
                    headers=auth(served.control))
    assert "not a valid address" in str(_problem(bad, 422)["detail"])
    _problem(http.post("/v1/pool/contracts", json={**body, "days": 0}, headers=auth(served.control)), 422)
    _problem(http.post("/v1/pool/contracts", json={**body, "price_fiat": "NaN"}, headers=auth(served.control)), 422)
    assert len(http.get("/v1/pool/contracts", params={"customer": "carol"}).json()) == 1  # nothing half-written
    _problem(http.post(f"/v1/pool/contracts/{made['id']}/cancel", headers=auth(served.reader)), 403)
    done = http.post(f"/v1/pool/contracts/{made['id']}/cancel", headers=auth(served.control)).json()
    assert done["state"] == "cancelled" and done["cancelled_at"] >= made["start_time"]
    _problem(http.post(f"/v1/pool/contracts/{made['id']}/cancel", headers=auth(served.control)), 409)
    cap = http.get("/v1/pool/contracts/capacity").json()
    assert cap["sold_hps"] == 0 and cap["available_hps"] > 0


def test_customer_key_reads_only_its_own_contracts(served: Site, http: httpx.Client) -> None:
    _problem(http.post("/v1/pool/contracts/customers/alice/keys", headers=auth(served.reader)), 403)
    _problem(http.post("/v1/pool/contracts/customers/nobody/keys", headers=auth(served.control)), 404)
    r = http.post("/v1/pool/contracts/customers/alice/keys", headers=auth(served.control))
    assert r.status_code == 201, r.text
    alice = r.json()["token"]
    bob = http.post("/v1/pool/contracts/customers/bob/keys", json={"name": "bob-phone"},
                    headers=auth(served.control)).json()["token"]
    me = http.get("/v1/pool/contracts/me", headers=auth(alice)).json()
    assert me["id"] == "alice" and [c["id"] for c in me["contracts"]] == [served.alice_contract]
    assert me["earned_sat"] == me["contracts"][0]["earned_sat"] > 0
    assert me["balances"][CUST_A]["payable_sat"] == me["earned_sat"]
    mine = http.get(f"/v1/pool/contracts/me/{served.alice_contract}/allocations", headers=auth(alice)).json()
    assert sum(a["net"] for a in mine["items"]) == me["earned_sat"]
    # another customer's contract: the same 404 as a contract that does not exist
    _problem(http.get(f"/v1/pool/contracts/me/{served.bob_contract}/allocations", headers=auth(alice)), 404)
    assert http.get("/v1/pool/contracts/me", headers=auth(bob)).json()["id"] == "bob"
    # everything else refuses a customer key, reads included
    for path in ("/v1/pool/contracts", f"/v1/pool/contracts/{served.bob_contract}", "/v1/pool/contracts/customers/bob",
                 "/v1/pool/contracts/capacity", "/v1/pool/contracts/periods", "/v1/pool/stats", "/v1/chain/tip",
                 f"/v1/pool/contracts/{served.alice_contract}/allocations", "/"):
        assert "customer key" in str(_problem(http.get(path, headers=auth(alice)), 403)["detail"]), path
    _problem(http.post(f"/v1/pool/contracts/{served.alice_contract}/cancel", headers=auth(alice)), 403)
    _problem(http.post("/v1/pool/contracts/customers/alice/keys", headers=auth(alice)), 403)
    # /me needs a customer key: none is 401, an operator's key is 403
    _problem(http.get("/v1/pool/contracts/me"), 401)
    _problem(http.get("/v1/pool/contracts/me", headers=auth(served.control)), 403)
    # a revoked customer key is refused like any invalid key
    served.api.keys.revoke("bob-phone")
    time.sleep(0.05)
    _problem(http.get("/v1/pool/contracts/me", headers=auth(bob)), 401)
