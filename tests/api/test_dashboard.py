"""Dashboard pages over HTTP (no browser): what they show with only a node, and the chart SVGs."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import APIRouter

from hashforge.api import ComponentAPI
from tests.api.conftest import Chain
from tests.api.served import ServedApi, serve


def test_overview_shows_chain_and_honest_placeholders(client: httpx.Client, chain: Chain) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    height = chain.node.call("getblockcount")
    assert re.search(rf'id="stat-height">{height}<', html)
    assert "Pool not running" in html and "Wallet not running" in html and "No miner connected" in html
    assert html.count("<tr data-height=") == 10
    assert '<html lang="en">' in html and 'name="viewport"' in html and 'href="#main"' in html
    assert "<script>" not in html and " style=" not in html  # CSP: no inline script or style


def test_blocks_page_pagination_and_block_page(client: httpx.Client, chain: Chain) -> None:
    first = client.get("/blocks").text
    heights = [int(h) for h in re.findall(r'<tr data-height="(\d+)"', first)]
    assert len(heights) == 25 and heights == sorted(heights, reverse=True)
    nxt = re.search(r'href="/blocks\?cursor=([A-Za-z0-9_-]+)" rel="next"', first)
    assert nxt is not None
    second = client.get("/blocks", params={"cursor": nxt.group(1)}).text
    assert int(re.findall(r'<tr data-height="(\d+)"', second)[0]) == heights[-1] - 1
    page = client.get(f"/blocks/{chain.busy_block}")
    assert page.status_code == 200 and chain.busy_block in page.text and "<dd>5</dd>" in page.text
    assert client.get("/blocks/999999").status_code == 404
    assert client.get("/blocks/not-a-block").status_code == 404


@pytest.mark.parametrize("path", ["/workers", "/workers/rig1", "/payouts"])
def test_stub_pages_say_what_is_missing(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200 and "Pool not running" in r.text


def test_chart_svgs(client: httpx.Client) -> None:
    for metric in ("hashrate", "difficulty"):
        r = client.get(f"/charts/{metric}.svg")
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
        assert 'role="img"' in r.text and "<title" in r.text and "<polyline" in r.text
    assert client.get("/charts/other.svg").status_code == 404


@pytest.fixture()
def with_pool(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    async def summary() -> dict[str, object]:
        return {"hash_rate": "1.2 MH/s", "workers_online": 3}

    router = APIRouter()

    @router.get("/stats")
    async def stats() -> dict[str, int]:
        return {"workers": 3}

    served = serve(chain.node, tmp_path_factory.mktemp("withpool"), ComponentAPI("pool", router, summary))
    yield served
    served.stop()


def test_component_router_and_summary_plug_in(with_pool: ServedApi) -> None:
    with httpx.Client(base_url=with_pool.url) as c:
        assert c.get("/v1/pool/stats").json() == {"workers": 3}
        assert "/v1/pool/stats" in c.get("/v1/openapi.json").json()["paths"]
        html = c.get("/").text
        assert "Pool not running" not in html and "workers online" in html and "1.2 MH/s" in html
        assert "Wallet not running" in html
