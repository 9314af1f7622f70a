"""`/v1/chain` over real HTTP against a real node: values match the node's RPC, pagination walks
whole collections, errors are problem+json."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import Chain

PROBLEM = "application/problem+json"


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["title"] and body["type"]
    assert "Traceback" not in r.text
    return body


def walk(client: httpx.Client, path: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        page = client.get(path, params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["limit"] == limit and len(body["items"]) <= limit
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def test_tip_matches_node(client: httpx.Client, chain: Chain) -> None:
    tip = client.get("/v1/chain/tip").json()
    best = chain.node.call("getbestblockhash")
    header = chain.node.call("getblockheader", best)
    assert tip["hash"] == best and tip["height"] == header["height"]
    assert tip["time"] == header["time"] and tip["difficulty"] == header["difficulty"]
    assert tip["bits"] == header["bits"] and tip["chainwork"] == header["chainwork"]


def test_mining_summary(client: httpx.Client, chain: Chain) -> None:
    m = client.get("/v1/chain/mining", params={"window": 10}).json()
    assert m["height"] == chain.node.call("getblockcount") and m["window"] == 10
    assert m["network_hashrate_hps"] == pytest.approx(chain.node.call("getnetworkhashps", 10))
    assert m["difficulty"] > 0


def test_blocks_pagination_walks_the_whole_chain(client: httpx.Client, chain: Chain) -> None:
    height = chain.node.call("getblockcount")
    blocks = walk(client, "/v1/chain/blocks", 17)
    assert [b["height"] for b in blocks] == list(range(height, -1, -1))
    assert blocks[-1]["hash"] == chain.node.call("getblockhash", 0)
    assert blocks[0]["hash"] == chain.node.call("getbestblockhash")
    assert len({b["hash"] for b in blocks}) == len(blocks)


def test_block_by_height_and_hash(client: httpx.Client, chain: Chain) -> None:
    by_hash = client.get(f"/v1/chain/blocks/{chain.busy_block}").json()
    by_height = client.get(f"/v1/chain/blocks/{by_hash['height']}").json()
    upper = client.get(f"/v1/chain/blocks/{chain.busy_block.upper()}").json()
    assert by_hash == upper
    assert by_hash["hash"] == by_height["hash"] == chain.busy_block
    raw = chain.node.call("getblock", chain.busy_block, 1)
    assert by_hash["tx_count"] == 5 and by_hash["size"] == raw["size"] and by_hash["weight"] == raw["weight"]
    assert by_hash["previous_hash"] == raw["previousblockhash"] and by_hash["merkle_root"] == raw["merkleroot"]
    assert by_hash["confirmations"] >= 1


def test_block_transactions_pagination(client: httpx.Client, chain: Chain) -> None:
    txs = walk(client, f"/v1/chain/blocks/{chain.busy_block}/transactions", 2)
    assert [t["index"] for t in txs] == [0, 1, 2, 3, 4]
    assert [t["txid"] for t in txs] == chain.node.call("getblock", chain.busy_block, 1)["tx"]
    assert set(chain.busy_txids) <= {t["txid"] for t in txs}
    # a cursor of one block is refused by another
    first = client.get(f"/v1/chain/blocks/{chain.busy_block}/transactions", params={"limit": 1}).json()
    problem(client.get("/v1/chain/blocks/0/transactions", params={"cursor": first["next_cursor"]}), 400)


def test_confirmed_transaction(client: httpx.Client, chain: Chain) -> None:
    txid = chain.busy_txids[0]
    tx = client.get(f"/v1/chain/transactions/{txid}").json()
    raw = chain.node.call("getrawtransaction", txid, True)
    assert tx["status"] == "confirmed" and tx["block_hash"] == chain.busy_block
    assert tx["block_height"] == client.get(f"/v1/chain/blocks/{chain.busy_block}").json()["height"]
    assert tx["wtxid"] == raw["hash"] and tx["vsize"] == raw["vsize"]
    assert tx["inputs"][0]["txid"] and len(tx["inputs"][0]["witness"]) == 2
    assert tx["outputs"][0]["value_sat"] == 50 * 100_000_000 - 2_001
    assert tx["outputs"][0]["type"] == "witness_v0_keyhash" and tx["outputs"][0]["address"].startswith("bcrt1")
    coinbase_txid = chain.node.call("getblock", chain.busy_block, 1)["tx"][0]
    cb = client.get(f"/v1/chain/transactions/{coinbase_txid}").json()
    assert cb["inputs"][0]["coinbase"] is not None and cb["inputs"][0]["txid"] is None


def test_mempool_summary_and_entries_by_fee_rate(client: httpx.Client, chain: Chain) -> None:
    fees = [1_000, 5_000, 2_000, 9_000, 3_000]
    txids = chain.send(fees)
    summary = client.get("/v1/chain/mempool").json()
    info = chain.node.call("getmempoolinfo")
    assert summary["tx_count"] == info["size"] >= 5 and summary["vbytes"] == info["bytes"]
    assert summary["total_fee_sat"] >= sum(fees)
    entries = walk(client, "/v1/chain/mempool/transactions", 2)
    assert len(entries) == info["size"]
    rates = [e["fee_rate_sat_vb"] for e in entries]
    assert rates == sorted(rates, reverse=True)
    ours = [e for e in entries if e["txid"] in txids]
    assert [e["fee_sat"] for e in ours] == sorted(fees, reverse=True)
    tx = client.get(f"/v1/chain/transactions/{txids[3]}").json()
    assert tx["status"] == "mempool" and tx["fee_sat"] == 9_000 and tx["block_hash"] is None


def test_history_matches_getnetworkhashps(client: httpx.Client, chain: Chain) -> None:
    page = client.get("/v1/chain/history", params={"limit": 5, "window": 10}).json()
    assert len(page["items"]) == 5 and page["next_cursor"]
    for point in page["items"]:
        expected = chain.node.call("getnetworkhashps", 10, point["height"])
        assert point["network_hashrate_hps"] == pytest.approx(expected)
        assert point["difficulty"] == chain.node.call("getblockheader", point["hash"])["difficulty"]
    points = walk(client, "/v1/chain/history", 50, window=4)
    assert points[-1]["height"] == 0 and points[-1]["network_hashrate_hps"] is None


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/chain/blocks/99999", 404),
        ("/v1/chain/blocks/" + "ab" * 32, 404),
        ("/v1/chain/transactions/" + "cd" * 32, 404),
        ("/v1/chain/blocks/notablock", 422),
        ("/v1/chain/transactions/xyz", 422),
        ("/v1/chain/blocks?limit=0", 422),
        ("/v1/chain/blocks?limit=101", 422),
        ("/v1/chain/blocks?cursor=!!", 422),
        ("/v1/chain/blocks?cursor=bm90LWpzb24", 400),
        ("/v1/chain/history?window=1", 422),
        ("/v1/nothing-here", 404),
        ("/nothing", 404),
    ],
)
def test_errors_are_problem_json(client: httpx.Client, path: str, status: int) -> None:
    body = problem(client.get(path), status)
    assert body["instance"] == path.split("?")[0]
    if status == 422:
        assert body["errors"] and body["errors"][0]["loc"]


def test_method_not_allowed_is_problem_json(client: httpx.Client) -> None:
    r = client.post("/v1/chain/tip", json={})
    problem(r, 405)
    assert r.headers["allow"] == "GET"


def test_node_down_is_503_without_internals(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.api.served import serve
    from tests.helpers.nodeproc import free_port

    served = serve(chain.node, tmp_path_factory.mktemp("down"), node_rpc_url=f"http://127.0.0.1:{free_port()}/")
    try:
        with httpx.Client(base_url=served.url) as c:
            body = problem(c.get("/v1/chain/tip"), 503)
            assert "127.0.0.1" not in body.get("detail", "") and "Errno" not in c.get("/v1/chain/tip").text
            assert c.get("/v1/health").json()["status"] == "degraded"
            assert c.get("/").status_code == 200  # the dashboard says so instead of failing
    finally:
        served.stop()


def test_metrics_and_health(client: httpx.Client) -> None:
    client.get("/v1/chain/tip")
    text = client.get("/metrics").text
    assert 'hashforge_api_requests_total{method="GET",route="/v1/chain/tip",status="200"}' in text
    assert "hashforge_chain_height " in text and "hashforge_node_up 1.0" in text
    assert client.get("/v1/health").json()["status"] == "ok"


def test_security_headers_and_no_cors_by_default(client: httpx.Client) -> None:
    r = client.get("/v1/chain/tip", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    pre = client.options("/v1/chain/tip", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in pre.headers
