"""The dashboard and the API label amounts with the coin of the network they run on: a hashforge
pool and wallet on a real litecoind (regtest), hashforge's scrypt miner finding blocks, and the API
served over them with `network = litecoin-regtest`: pool pages, wallet and earnings say LTC.

litecoind comes from ../shared/bin or PATH (skipped with a message otherwise)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hashforge.api.attach import pool_component, wallet_component
from hashforge.consensus.params import LITECOIN_REGTEST
from hashforge.pool.apiguard import COOKIE_FILE
from hashforge.rpcclient import RPCClient
from hashforge.services.gateways.pool import PoolGateway
from hashforge.services.gateways.wallet import WalletGateway
from hashforge.wallet import ScryptParams, Wallet
from hashforge.web.render import network_ticker
from tests.api.served import ServedApi, serve
from tests.api.stack import wait_for
from tests.helpers.nodeproc import free_port
from tests.helpers.peers import find_peer, requires_peer
from tests.integration.test_altcoin_daemons import Daemon
from tests.integration.test_litecoin_pool import stop_process, wait_listening

PASSPHRASE = "coin labels"


def test_network_tickers() -> None:
    assert [network_ticker(n) for n in ("litecoin-regtest", "dogecoin", "regtest", None, "nonesuch")] == \
        ["LTC", "DOGE", "BTC", "coins", "coins"]


@dataclass
class _NodeRef:
    """What `serve` needs of a node: its RPC URL and a datadir holding a `.cookie` file."""

    url: str
    datadir: Path


@pytest.fixture
def ltc_stack(tmp_path: Path) -> Iterator[tuple[Daemon, Path, Path, int, str]]:
    program = find_peer("litecoind")
    assert program is not None
    daemon = Daemon(program, tmp_path / "litecoind").start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        wallet_dir = tmp_path / "wallet"
        w, _ = Wallet.create(wallet_dir, LITECOIN_REGTEST, PASSPHRASE, rpc=daemon.rpc, kdf=ScryptParams(log_n=10))
        address = w.new_address()
        w.close()
        daemon.call("generatetoaddress", 101, address)  # one mature coinbase for the wallet
        stratum, api_port, pool_dir = free_port(), free_port(), tmp_path / "pool"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        pool_log, miner_log = tmp_path / "pool.log", tmp_path / "miner.log"
        with open(pool_log, "ab") as f:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "hashforge", "pool", "--network", "litecoin-regtest",
                 "--node-rpc", f"http://hf:hf-pass@127.0.0.1:{daemon.port}/", "--stratum-port", str(stratum),
                 "--stratum-host", "127.0.0.1", "--api-port", str(api_port), "--scheme", "solo",
                 "--datadir", str(pool_dir), "--log-level", "WARNING"],
                stdout=f, stderr=subprocess.STDOUT, env=env))
        wait_listening(stratum, procs[0], pool_log)
        with open(miner_log, "ab") as f:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "hashforge", "mine", "-a", "scrypt", "-t", "1", "-o",
                 f"stratum+tcp://127.0.0.1:{stratum}", "-u", f"{address}.rig1", "-p", "x", "--quiet",
                 "--api-listen", f"127.0.0.1:{free_port()}"], stdout=f, stderr=subprocess.STDOUT, env=env))
        yield daemon, wallet_dir, pool_dir, api_port, address
    finally:
        for p in reversed(procs):
            stop_process(p)
        daemon.stop()


@requires_peer("litecoind", "the dashboard's coin labels on a Litecoin pool")
def test_pool_wallet_and_earnings_say_ltc(tmp_path: Path, ltc_stack: tuple[Daemon, Path, Path, int, str]) -> None:
    daemon, wallet_dir, pool_dir, api_port, address = ltc_stack
    node_dir = tmp_path / "node-ref"
    node_dir.mkdir()
    (node_dir / ".cookie").write_text("hf:hf-pass")  # litecoind's -rpcuser/-rpcpassword, as a cookie
    rpc = RPCClient(f"http://127.0.0.1:{daemon.port}/", user="hf", password="hf-pass", timeout=30)
    pool = PoolGateway(f"http://127.0.0.1:{api_port}/", pool_dir / COOKIE_FILE)
    wallet = WalletGateway(wallet_dir, LITECOIN_REGTEST, rpc, PASSPHRASE, sync_s=0.5)
    served: ServedApi = serve(_NodeRef(f"http://127.0.0.1:{daemon.port}/", node_dir), tmp_path / "api",  # type: ignore[arg-type]
                              lambda bus: pool_component(pool, bus, poll_s=0.5), lambda _: wallet_component(wallet),
                              network="litecoin-regtest")
    try:
        with httpx.Client(base_url=served.url, timeout=30) as c:
            wait_for(lambda: c.get("/v1/pool/stats").json()["blocks"]["pending"] > 0, 120,
                     "the pool found no block on litecoind")
            wait_for(lambda: c.get("/v1/wallet/balance").json()["spendable_sat"] > 0, 60, "a synced wallet")
            balance = c.get("/v1/wallet/balance").json()
            assert balance["coin"] == "LTC" and balance["spendable_sat"] >= 50 * 10**8  # mature coinbases (SOLO pays it too)
            assert c.get("/v1/pool/stats").json()["coin"] == "LTC"
            earnings = c.get("/v1/pool/earnings").json()
            assert earnings["coin"] == "LTC" and earnings["block_reward_sat"] > 0
            overview = c.get("/").text
            for label in ("Spendable (LTC)", "Immature (LTC)", 'data-field="earnings-coin">LTC</span> per day',
                          "Reward (LTC)"):
                assert label in overview, label
            assert not re.search(r"\bBTC\b", overview)
            blocks = c.get("/blocks").text
            assert "Reward (LTC)" in blocks and address[:12] in blocks
            assert "Total (LTC)" in c.get("/payouts").text
            worker = c.get(f"/workers/{address}.rig1").text
            assert "paid (LTC)" in worker
    finally:
        served.stop()

