"""Profitability against a real regtest node: Core-compatible `getblockstats` (totalfee = coinbase
minus subsidy), live inputs over RPC (`hashforge calc --node-rpc`), and /v1/ops/profit served over
real HTTP with the ops component attached."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from hashforge.api import ComponentAPI
from hashforge.consensus.address import script_to_address
from hashforge.consensus.params import REGTEST
from hashforge.consensus.pow import difficulty_exact
from hashforge.consensus.tx import OutPoint, TxOut
from hashforge.ops.profit.calc import sig
from hashforge.rpcclient import RPCClientError
from tests.api.served import ServedApi, serve
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Key, Utxo, spend

KEY = Key.from_int(0x9F0F17)
OTHER = Key.from_int(0x5EED)
pytestmark = pytest.mark.slow  # a regtest node (and the API) per xdist worker
ADDRESS = script_to_address(KEY.p2wpkh, REGTEST)
assert ADDRESS is not None
FEES = [1_000, 2_500, 7_000]  # three spends mined together in one block
REGTEST_SUBSIDY_AT_112 = 50 * 100_000_000 >> (112 // 150)  # regtest halves every 150 blocks


@dataclass
class Chain:
    node: NodeProcess
    fee_block: str  # holds the FEES spends
    fee_height: int


def _coinbase_utxo(node: NodeProcess, height: int) -> Utxo:
    cb = node.call("getblock", node.call("getblockhash", height), 2)["tx"][0]
    value = int(Decimal(str(cb["vout"][0]["value"])) * 100_000_000)
    return Utxo(OutPoint(bytes.fromhex(cb["txid"])[::-1], 0), TxOut(value, KEY.p2wpkh), KEY)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    node = NodeProcess(tmp_path_factory.mktemp("profitnode") / "regtest").start()
    try:
        node.call("generatetoaddress", 111, ADDRESS)
        for height, fee in enumerate(FEES, start=1):
            node.call("sendrawtransaction", spend(_coinbase_utxo(node, height), OTHER, fee=fee).serialize().hex())
        [fee_block] = node.call("generatetoaddress", 1, ADDRESS)
        yield Chain(node, fee_block, 112)
    finally:
        node.stop()


def serve_with_ops(node: NodeProcess, datadir: Path, *extras: ComponentAPI) -> ServedApi:
    """The API as `hashforge api --ops-dir` serves it: anonymous loopback reads, ops (and `extras`) attached."""
    return serve(node, datadir, *extras, ops_dir=datadir / "ops", tip_poll_s=0.2)


@pytest.fixture(scope="module")
def api(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    served = serve_with_ops(chain.node, tmp_path_factory.mktemp("profitapi"))
    yield served
    served.stop()


@pytest.fixture()
def client(api: ServedApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=60) as c:
        yield c


# --- getblockstats ---------------------------------------------------------------------------

def test_getblockstats_totalfee_is_coinbase_minus_subsidy(chain: Chain) -> None:
    node = chain.node
    stats = node.call("getblockstats", chain.fee_height)
    block = node.call("getblock", chain.fee_block, 2)
    coinbase_out = sum(int(Decimal(str(o["value"])) * 100_000_000) for o in block["tx"][0]["vout"])
    assert stats["subsidy"] == REGTEST_SUBSIDY_AT_112
    assert stats["totalfee"] == coinbase_out - stats["subsidy"] == sum(FEES)
    assert stats["blockhash"] == chain.fee_block and stats["height"] == chain.fee_height
    assert stats["txs"] == 4 and stats["ins"] == 3
    assert stats["time"] == block["time"] and stats["mediantime"] == block["mediantime"]
    # Core's integer rules: avgfee = totalfee // (txs - 1); medianfee is the middle fee
    assert stats["avgfee"] == sum(FEES) // 3 and stats["medianfee"] == 2_500
    assert (stats["minfee"], stats["maxfee"]) == (min(FEES), max(FEES))
    non_coinbase = block["tx"][1:]
    assert stats["total_size"] == sum(t["size"] for t in non_coinbase)
    assert stats["total_weight"] == sum(t["weight"] for t in non_coinbase)
    assert stats["avgfeerate"] == sum(FEES) * 4 // stats["total_weight"]
    assert stats["total_out"] == sum(int(Decimal(str(o["value"])) * 100_000_000)
                                     for t in non_coinbase for o in t["vout"])
    assert stats["swtxs"] == 3  # P2WPKH spends carry witnesses
    assert stats["outs"] == sum(len(t["vout"]) for t in block["tx"])
    assert stats["utxo_increase"] == stats["outs"] - stats["ins"]
    assert len(stats["feerate_percentiles"]) == 5
    assert stats["feerate_percentiles"] == sorted(stats["feerate_percentiles"])
    # a block with only its coinbase: no fees, zeros as Core gives them
    empty = node.call("getblockstats", 5)
    assert empty["totalfee"] == 0 and empty["txs"] == 1 and empty["avgfee"] == 0 and empty["minfee"] == 0
    # the stats filter, by hash too
    assert node.call("getblockstats", chain.fee_block, ["totalfee", "txs"]) == {"totalfee": sum(FEES), "txs": 4}


def test_getblockstats_bad_requests(chain: Chain) -> None:
    for params, code, text in [((10_000,), -8, "after current tip"), ((-1,), -8, "negative"),
                               (("00" * 32,), -5, "Block not found"), ((1, ["nope"]), -8, "Invalid selected statistic")]:
        with pytest.raises(RPCClientError) as info:
            chain.node.call("getblockstats", *params)
        assert info.value.code == code and text in info.value.message, params


# --- live inputs on the command line -----------------------------------------------------------

def _calc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hashforge", "calc", *args], capture_output=True, text=True,
                          timeout=60)


def test_cli_live_inputs_from_node(chain: Chain) -> None:
    node = chain.node
    height = node.call("getblockcount")
    cookie = str(node.datadir / ".cookie")
    out = _calc("--hashrate", "1GH/s", "--power", "100W", "--price-usd", "50000", "--electricity", "0.1",
                "--node-rpc", node.url, "--node-cookie", cookie, "--fee-blocks", "3", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    live = report["live"]
    assert live["chain"] == "regtest" and live["height"] == height
    # regtest's difficulty, exactly from nBits 0x207fffff
    exact = difficulty_exact(0x207FFFFF)
    assert Decimal(live["difficulty"]) == (Decimal(exact.numerator) / Decimal(exact.denominator)).normalize(
        __import__("decimal").Context(prec=12))
    assert report["inputs"]["subsidy_sat"] == 50 * 100_000_000 >> ((height + 1) // 150)
    # fees: the last three blocks hold FEES in one of them (if no block came after it)
    blocks = [node.call("getblockstats", h, ["totalfee"])["totalfee"] for h in range(height - 2, height + 1)]
    assert report["inputs"]["fees_sat"] == sum(blocks) // 3
    assert report["sources"]["difficulty"].startswith("node (regtest")
    assert report["chain"]["halving_interval"] == 150
    # regtest: the next halving is at the next multiple of 150 above the next block
    assert report["projection"]["next_halving_height"] == ((height + 1) // 150 + 1) * 150

    bad = _calc("--hashrate", "1GH/s", "--power", "100W", "--node-rpc", "http://u:p@127.0.0.1:1/")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --node-rpc: cannot read live inputs")
    assert "Traceback" not in bad.stderr and bad.stdout == ""
    nocred = _calc("--hashrate", "1GH/s", "--power", "100W", "--node-rpc", "http://127.0.0.1:1/")
    assert nocred.returncode == 2 and nocred.stderr.startswith("error: --node-rpc: RPC credentials needed")


# --- the API ----------------------------------------------------------------------------------

def test_api_profit_with_user_inputs(client: httpx.Client) -> None:
    r = client.get("/v1/ops/profit", params={
        "preset": "s21", "difficulty": "1.1e14", "subsidy": "3.125", "fees": "0", "price_usd": "95000",
        "electricity": "0.08", "pool_fee": "2", "hardware_cost": "5000", "months": 6, "growth": "3%"})
    assert r.status_code == 200, r.text
    body = r.json()
    # 200e12 x 86400 x 312,500,000 / (1.1e14 x 2^48/65535) = 11,429.69 sat gross; 2 % fee -> 11,201.10
    assert Decimal(body["result"]["gross_sat_per_day"]) == pytest.approx(Decimal("11429.6935"), abs=Decimal("0.001"))
    assert Decimal(body["result"]["cost_per_day"]) == Decimal("6.72")
    assert Decimal(body["result"]["profit_per_day"]) == pytest.approx(Decimal("3.921"), abs=Decimal("0.001"))
    assert body["hardware"]["key"] == "s21" and body["sources"]["hashrate"] == "preset s21"
    assert len(body["projection"]["months"]) == 6
    assert body["live"]["chain"] == "regtest"  # live data fetched, but the user's figures win
    assert body["sources"]["difficulty"] == "user"


def test_api_profit_live_defaults(client: httpx.Client, chain: Chain) -> None:
    body = client.get("/v1/ops/profit", params={"hashrate": "1TH/s", "power": "10W", "price_usd": "1"}).json()
    assert body["sources"]["difficulty"].startswith("node (regtest")
    assert body["inputs"]["subsidy_sat"] == 50 * 100_000_000 >> ((chain.node.call("getblockcount") + 1) // 150)
    live = client.get("/v1/ops/profit/live").json()
    assert live["live"]["height"] == chain.node.call("getblockcount")
    assert live["measured_hashrate_hps"] is None  # no pool or miner attached
    off = client.get("/v1/ops/profit", params={"preset": "s21", "live": "false"}).json()
    assert off["live"] is None and off["sources"]["difficulty"].startswith("reference BTC")


def test_api_presets_and_compare(client: httpx.Client) -> None:
    presets = client.get("/v1/ops/profit/presets").json()
    keys = {h["key"]: h for h in presets["hardware"]}
    assert Decimal(keys["s21-pro"]["hashrate_hps"]) == Decimal("234e12") and keys["cpu"]["measured"] is True
    assert {c["key"] for c in presets["coins"]} >= {"btc", "ltc", "eth"}
    cmp = client.get("/v1/ops/profit/compare", params={"preset": "l7"}).json()
    by_coin = {c["coin"]: c for c in cmp["coins"]}
    assert by_coin["ltc"]["mineable"] and by_coin["ltc"]["result"] is not None
    assert not by_coin["btc"]["mineable"] and "sha256d" in by_coin["btc"]["reason"]
    assert not by_coin["eth"]["mineable"] and "proof of stake" in by_coin["eth"]["reason"]


BAD_INPUTS: list[tuple[dict[str, str], int, str]] = [
    ({"preset": "s21", "difficulty": "0"}, 400, "difficulty"),
    ({"hashrate": "1TH/s", "power": "-5W"}, 400, "power"),
    ({"preset": "s21", "price_usd": "NaN"}, 400, "price_usd"),
    ({"preset": "s21", "pool_fee": "150"}, 400, "pool_fee"),
    ({"preset": "nope"}, 400, "preset"),
    ({"preset": "s21", "months": "0"}, 422, "months"),
    ({"preset": "s21", "hashrate": "x" * 100}, 422, "hashrate"),
]


def test_api_bad_input_is_problem_json(client: httpx.Client) -> None:
    for params, status, field in BAD_INPUTS:
        r = client.get("/v1/ops/profit", params=params)
        assert r.status_code == status, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        if status == 400:
            assert problem["type"].endswith("bad-calculator-input") and problem["detail"].startswith(f"{field}:")
        else:
            assert [e["loc"] for e in problem["errors"]] == [["query", field]]
    r = client.get("/v1/ops/profit/compare", params={"hashrate": "-1TH/s", "power": "1W"})
    assert r.status_code == 400 and r.json()["detail"].startswith("hashrate:")


def test_api_and_page_merged_ltc_doge_with_coin_labels(client: httpx.Client) -> None:
    """/v1/ops/profit?merge=doge and the /profit page: per-coin merged figures, each labelled."""
    params = {"preset": "l7", "coin": "ltc", "merge": "doge", "merge_price_usd": "0.2", "live": "false",
              "electricity": "0.05"}
    body = client.get("/v1/ops/profit", params=params).json()
    assert body["coin"] == "LTC" and body["sources"]["difficulty"].startswith("reference LTC")
    chains = body["merged"]["chains"]
    assert [c["coin"] for c in chains] == ["LTC", "DOGE"] and chains[1]["price"] == "0.2"
    assert body["merged"]["sources"]["price"] == "user"
    assert Decimal(body["merged"]["merged_gain_per_day"]) == Decimal(chains[1]["revenue_per_day"])
    plain = client.get("/v1/ops/profit", params={"preset": "s21", "live": "false"}).json()
    assert plain["coin"] == "BTC" and plain["merged"] is None
    bad = client.get("/v1/ops/profit", params={**params, "merge": "btc"})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("merge:")
    page = client.get("/profit", params={**params, "live": "0", "months": "3"}).text
    assert 'id="merged"' in page and 'data-coin="DOGE"' in page and "Coins (LTC)" in page
    assert f"{sig(Decimal(chains[1]['coins_per_day']), 6)} DOGE" in page


def test_api_user_presets_file(client: httpx.Client, api: ServedApi) -> None:
    ops = api.components.gateway("ops")
    assert ops is not None
    ops.dir.mkdir(parents=True, exist_ok=True)
    path = ops.dir / "presets.toml"
    try:
        path.write_text('[hardware.my-rig]\nname = "My rig"\nalgorithm = "sha256d"\nhashrate = "100 TH/s"\n'
                        'power = "2000 W"\ncost_usd = "1500"\n')
        body = client.get("/v1/ops/profit", params={"preset": "my-rig", "live": "false"}).json()
        assert Decimal(body["inputs"]["hashrate_hps"]) == Decimal("1e14")
        assert Decimal(body["inputs"]["hardware_cost_usd"]) == 1500
        path.write_text('[hardware.broken]\nname = "x"\nalgorithm = "sha256d"\nhashrate = "-1 TH/s"\npower = "1 W"\n')
        r = client.get("/v1/ops/profit/presets")
        assert r.status_code == 500 and "[hardware.broken]" in r.json()["detail"]
    finally:
        path.unlink()


@pytest.mark.parametrize(("network", "preset", "merged"), [("regtest", "s21", False), ("scryptnet", "l7", False),
                                                          ("litecoin-regtest", "l7", True)])
def test_the_page_starts_from_a_machine_of_the_operations_algorithm(
        chain: Chain, tmp_path: Path, network: str, preset: str, merged: bool) -> None:
    """/profit before any input: an S21 on SHA-256d operations, an L7 on scrypt ones, Dogecoin
    merged on Litecoin (as `up` runs it)."""
    served = serve(chain.node, tmp_path, ops_dir=tmp_path / "ops", ops_network=network)
    try:
        r = httpx.get(served.url + "/profit", timeout=60)
        assert r.status_code == 200, r.text[-2000:]
        assert re.search(rf'<option value="{preset}"[^>]*selected', r.text), r.text[-3000:]
        assert ('id="merged"' in r.text) == merged
    finally:
        served.stop()
