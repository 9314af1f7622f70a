"""/v1/ops/tax over real HTTP (uvicorn on loopback, a real regtest node): the scripted year entered
through the API gives the hand-computed report; writes need the control scope; bad input is an RFC
9457 problem naming file:line and field, with nothing written; exports are text/csv and text/html."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hashforge.api import ApiServer, ApiSettings, Components, EventBus, NodeGateway
from hashforge.api.attach import ops_component
from hashforge.consensus.params import REGTEST
from hashforge.ops.gateway import OpsGateway
from hashforge.rpcclient import AsyncRPCClient
from hashforge.services.keys import KeyStore, Scope
from tests.api.served import ServedApi
from tests.helpers.nodeproc import NodeProcess

from .test_ledger_csv import KOINLY
from .test_ledger_year import POOL_CSV, PRICES, TX

pytestmark = pytest.mark.slow  # a node and the API per xdist worker


def serve_ops(node: NodeProcess, root: Path) -> ServedApi:
    """As tests.api.served.serve, plus the ops component over root/ops (it needs the Components)."""
    settings = ApiSettings(host="127.0.0.1", port=0, datadir=root / "data", node_rpc_url=node.url,
                           node_cookie=node.datadir / ".cookie", tip_poll_s=0.5, rate_per_s=10_000, rate_burst=10_000)
    components = Components(
        node=NodeGateway(AsyncRPCClient(settings.node_rpc_url, cookie=settings.node_cookie, timeout=30)),
        bus=EventBus(settings.event_buffer))
    components.add(ops_component(OpsGateway(root / "ops", REGTEST, components)))
    keys = KeyStore(settings.keys_path)
    return ServedApi(ApiServer(settings, components, keys), components, keys).start()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    root = tmp_path_factory.mktemp("taxapi")
    node = NodeProcess(root / "regtest").start()
    try:
        api = serve_ops(node, root)
        yield api
        api.stop()
    finally:
        node.stop()


@pytest.fixture(scope="module")
def control(served: ServedApi) -> dict[str, str]:
    _, token = served.keys.create("tax-control", frozenset({Scope.READ, Scope.CONTROL}))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def client(served: ServedApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url + "/v1/ops/tax", timeout=30) as c:
        yield c


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture(scope="module")
def year(client: httpx.Client, control: dict[str, str]) -> None:
    """The scripted year of test_ledger_year, entered over HTTP."""
    post = lambda path, body, status=200: ok(client.post(path, json=body, headers=control), status)  # noqa: E731
    assert post("/prices/import", {"csv": PRICES, "name": "prices.csv"})["added"] == 4
    post("/income", {"time": "2023-03-01T12:00:00Z", "amount_sat": 100_000_000, "source": "block", "txid": TX["A"]}, 201)
    post("/income", {"time": "2024-01-10T12:00:00Z", "amount_sat": 50_000_000, "source": "block", "txid": TX["B"]}, 201)
    assert post("/income/import-csv", {"csv": POOL_CSV, "name": "pool.csv"}) == \
        {"added": 2, "unchanged": 0, "skipped": 0, "removed": 0}
    [d] = [i for i in client.get("/income", params={"year": 2024}).json() if i["txid"] == TX["D"]]
    assert d["needs_price"] is True
    fixed = ok(client.put(f"/income/{d['id']}/fmv", json={"fmv": "3000"}, headers=control))
    assert fixed["fmv"] == "3000" and fixed["fmv_source"] == "manual"
    post("/income", {"time": "2024-09-01T12:00:00Z", "amount_sat": 1_000_000, "txid": TX["E"]}, 201)
    post("/expenses", {"date": "2024-01-31", "category": "electricity", "amount": "250.00"}, 201)
    e = post("/expenses", {"date": "2024-02-29", "category": "electricity", "kw": "3.5", "hours": "720",
                           "price_kwh": "0.10"}, 201)
    assert e["fiat"] == "252.00"
    assert post("/expenses", {"date": "2024-02-15", "category": "pool_fee", "amount_sat": 200_000}, 201)["fiat"] == "100.00"
    post("/expenses", {"date": "2024-05-01", "category": "other", "amount": "49.99"}, 201)
    hw = post("/hardware", {"name": "Antminer S21", "cost": "5000", "salvage": "500", "life": "3y",
                            "in_service": "2024-04-15"}, 201)
    assert hw["schedule"][0] == {"year": 2024, "depreciation": "1125.00"}
    post("/disposals", {"time": "2024-03-01T12:00:00Z", "amount_sat": 60_000_000, "proceeds": "36000", "fee": "60"}, 201)
    post("/disposals", {"time": "2024-08-01T12:00:00Z", "amount_sat": 15_000_000, "proceeds": "9000"}, 201)


def test_report(client: httpx.Client, year: None) -> None:
    for method, short, long, net in [("fifo", "23940.00", "6000.00", "61163.01"),
                                     ("lifo", "13940.00", "0.00", "45163.01"),
                                     ("hifo", "13440.00", "0.00", "44663.01")]:
        r = ok(client.get("/report", params={"year": 2024, "method": method}))
        assert (r["income"]["total"], r["expenses"]["total"], r["expenses"]["depreciation"]) == \
            ("33000.00", "651.99", "1125.00")
        assert (r["gains"]["short"], r["gains"]["long"], r["net"]) == (short, long, net), method
        assert r["income"]["by_source"]["pool"]["fmv"] == "13000.00" and len(r["income"]["needs_price"]) == 1
        assert "not tax advice" in r["note"]
    problem(client.get("/report", params={"year": 2024, "method": "avg"}), 422)


def test_exports(client: httpx.Client, year: None) -> None:
    r = client.get("/export/koinly", params={"year": 2024})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="hashforge-koinly-2024.csv"' in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == KOINLY and sum(row[9] == "mining" for row in rows[1:]) == 4
    r = client.get("/export/csv", params={"year": 2024, "method": "hifo"})
    assert r.headers["content-type"].startswith("text/csv") and r.text.startswith("type,date,")
    r = client.get("/export/html", params={"year": 2024})
    assert r.headers["content-type"].startswith("text/html") and r.text.count("<svg") == 2
    assert "attachment" in r.headers["content-disposition"]
    problem(client.get("/export/koinly", params={"year": 99}), 422)
    assert client.get("/report", params={"year": 9999}).json()["income"]["count"] == 0  # the last year there is


def test_writes_need_control(client: httpx.Client, year: None) -> None:
    problem(client.post("/income", json={"time": "2024-01-01", "amount_sat": 5}), 401)
    problem(client.post("/prices/import", json={"csv": "date,price\n2024-01-01,1\n"}), 401)
    problem(client.put("/settings", json={"jurisdiction": "generic"}), 401)
    assert ok(client.get("/settings"))["name"] == "us"


def test_bad_csv_is_a_problem_and_writes_nothing(client: httpx.Client, control: dict[str, str], year: None) -> None:
    before = client.get("/prices").json()
    p = problem(client.post("/prices/import", headers=control, json={
        "csv": "date,price\n2025-01-01,5\n2025-01-02,zero\n", "name": "mine.csv"}), 422)
    assert p["detail"] == "mine.csv:3: price: price must be a number, not 'zero'"
    assert p["type"].endswith("invalid-csv")
    assert client.get("/prices").json() == before
    income = client.get("/income").json()
    p = problem(client.post("/income/import-csv", headers=control, json={
        "csv": f"date,txid,amount_sat\n2025-01-01,{'f' * 64},5\n2025-01-01,{'0' * 64},5.5\n", "name": "ext.csv"}), 422)
    assert p["detail"].startswith("ext.csv:3: amount_sat: ")
    assert client.get("/income").json() == income


def test_bad_entries_are_problems(client: httpx.Client, control: dict[str, str], year: None) -> None:
    disposals = client.get("/disposals").json()
    p = problem(client.post("/disposals", headers=control, json={
        "time": "2024-03-02", "amount_sat": 200_000_000, "proceeds": "1"}), 422)
    assert "more than the 1.1 held" in p["detail"] and p["type"].endswith("insufficient-holdings")
    assert client.get("/disposals").json() == disposals
    p = problem(client.post("/income", headers=control, json={"time": "2024-13-01", "amount_sat": 5}), 422)
    assert p["detail"] == "time must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, not '2024-13-01'"
    p = problem(client.post("/income", headers=control, json={"time": "2024-01-01", "amount_sat": 5,
                                                              "txid": TX["A"], "vout": 0}), 422)
    assert "already recorded" in p["detail"]
    p = problem(client.post("/expenses", headers=control, json={"date": "2024-01-01", "category": "other",
                                                                "amount": 1.5}), 422)
    assert p["errors"][0]["loc"][-1] == "amount"  # a JSON number is refused: money is decimal text
    p = problem(client.post("/hardware", headers=control, json={"name": "x", "cost": "5", "life": "forever",
                                                                "in_service": "2024-01-01"}), 422)
    assert "life must be months or years" in p["detail"]
    problem(client.put("/income/99999/fmv", headers=control, json={"fmv": "1"}), 404)
    problem(client.delete("/expenses/99999", headers=control), 404)
    problem(client.delete("/expenses/1"), 401)
    assert problem(client.delete("/income/99999", headers=control), 404)["detail"] == "No income with id 99999."
    p = problem(client.post("/income/import-wallet", headers=control, json={}), 404)
    assert "wallet" in p["detail"]
    p = problem(client.put("/settings", headers=control, json={"jurisdiction": "us", "currency": "EUR"}), 422)
    assert "reports in USD" in p["detail"]
