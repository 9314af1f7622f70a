"""The measured hash rate: a real `hashforge mine --solo` on a regtest node, its cgminer API attached
to the API, and /v1/ops/profit?measured=true taking the hash rate from it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from hashforge.api.attach import miner_component
from hashforge.services.gateways.miner import MinerGateway
from tests.api.served import ServedApi
from tests.api.stack import MINE, wait_for
from tests.helpers.nodeproc import NodeProcess, free_port
from tests.ops.test_profit_live import ADDRESS, serve_with_ops

pytestmark = pytest.mark.slow  # a node, a miner and the API


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedApi, Path]]:
    root = tmp_path_factory.mktemp("profitmeasured")
    node = NodeProcess(root / "regtest").start()
    port = free_port()
    log_path = root / "miner.log"
    with open(log_path, "ab") as log:
        miner = subprocess.Popen(
            [sys.executable, "-c", MINE, "--solo", "--node-rpc", node.url, "--rpc-cookie",
             str(node.datadir / ".cookie"), "--address", ADDRESS, "--threads", "1", "--quiet",
             "--api-listen", f"127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    served = None
    try:
        served = serve_with_ops(node, root / "api", miner_component(MinerGateway("127.0.0.1", port)))
        yield served, log_path
    finally:
        if served is not None:
            served.stop()
        miner.send_signal(signal.SIGTERM)
        try:
            miner.wait(15)
        except subprocess.TimeoutExpired:
            miner.kill()
            miner.wait()
        node.stop()


def test_measured_hashrate_from_our_miner(api: tuple[ServedApi, Path]) -> None:
    served, log_path = api
    with httpx.Client(base_url=served.url, timeout=60) as c:
        wait_for(lambda: c.get("/v1/ops/profit/live").json()["measured_hashrate_hps"] is not None, 60,
                 "the miner reported no hash rate", lambda: log_path.read_text(errors="replace")[-3000:])
        live = c.get("/v1/ops/profit/live").json()
        assert live["measured_source"].startswith("miner (cgminer API")
        body = c.get("/v1/ops/profit", params={"measured": "true", "power": "65W", "price_usd": "1"}).json()
        assert body["sources"]["hashrate"].startswith("miner (cgminer API")
        rate = Decimal(body["inputs"]["hashrate_hps"])
        farm = c.get("/v1/miner/summary").json()["hashrate"]
        # the same miner, read twice a moment apart: same order of magnitude
        assert rate > 0 and Decimal(str(farm["average_hps"])) / 10 < rate < Decimal(str(farm["average_hps"])) * 10
        given = c.get("/v1/ops/profit", params={"measured": "true", "hashrate": "1TH/s", "power": "65W"}).json()
        assert given["sources"]["hashrate"] == "user" and Decimal(given["inputs"]["hashrate_hps"]) == Decimal("1e12")
