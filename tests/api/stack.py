"""A whole mining operation on loopback for the component routers: its own regtest node, a
hashforge wallet with mined coins, `hashforge pool` (SOLO, paying the wallet, REST API on), and
`hashforge mine` (one CPU thread, two pool entries, cgminer API with write access) — real processes
talking their real protocols — and the API served over them with the pool, miner and wallet attached."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from hashforge.api import ComponentAPI, EventBus
from hashforge.api.attach import miner_component, pool_component, wallet_component
from hashforge.consensus.params import REGTEST
from hashforge.pool.apiguard import COOKIE_FILE
from hashforge.rpcclient import RPCClient
from hashforge.services.gateways.miner import MinerGateway
from hashforge.services.gateways.pool import PoolGateway
from hashforge.services.gateways.wallet import WalletGateway
from hashforge.up.operation import MINER_CONTROLS
from hashforge.wallet import ScryptParams, Wallet
from tests.api.served import ServedApi
from tests.helpers.nodeproc import NodeProcess, free_port

PASSPHRASE = "correct horse battery"
MINE = ("import sys, typer; from hashforge.miner.cli import mine; sys.argv[0] = 'hashforge mine'; typer.run(mine)")


def wait_for(pred: Callable[[], bool], timeout: float, what: str, logs: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except (httpx.HTTPError, OSError, KeyError, ValueError, TypeError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} within {timeout} s\n{logs()}")


@dataclass
class Stack:
    root: Path
    node: NodeProcess
    wallet_dir: Path
    address: str  # the wallet's first receive address: the miner's payout address (SOLO)
    stratum_port: int = field(default_factory=free_port)
    pool_api_port: int = field(default_factory=free_port)
    miner_api_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    api: ServedApi | None = None

    @property
    def pool_cookie(self) -> Path:
        """The pool API's secret (the pool writes it into its datadir when its API starts)."""
        return self.root / "pool" / COOKIE_FILE

    @property
    def worker(self) -> str:
        return f"{self.address}.rig1"

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def _spawn(self, name: str, argv: list[str]) -> None:
        with open(self.root / f"{name}.log", "ab") as log:
            self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                                env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def start_pool(self) -> None:
        self._spawn("pool", [
            sys.executable, "-m", "hashforge", "pool", "--network", "regtest", "--node-rpc", self.node.url,
            "--node-cookie", str(self.node.datadir / ".cookie"), "--stratum-port", str(self.stratum_port),
            "--api-port", str(self.pool_api_port), "--datadir", str(self.root / "pool"), "--scheme", "solo",
            "--start-difficulty", "0.0001", "--log-level", "WARNING",
        ])

    def start_miner(self) -> None:
        url = f"stratum+tcp://127.0.0.1:{self.stratum_port}"
        self._spawn("miner", [
            sys.executable, "-c", MINE, "-o", url, "-o", url, "-u", self.worker, "-p", "x", "--threads", "1",
            "--quiet", "--api-listen", f"127.0.0.1:{self.miner_api_port}",
            # as `hashforge up` runs it: the dashboard's pool controls only (no addpool/quit)
            "--api-groups", f"P:{':'.join(MINER_CONTROLS)}:*", "--api-allow", "P:127.0.0.1",
        ])

    def stop(self) -> None:
        if self.api is not None:
            self.api.stop()
        for name in ("miner", "pool"):
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.node.stop()


def attach(stack: Stack) -> list[Callable[[EventBus], ComponentAPI]]:
    """The three components, as `hashforge api --pool-api --miner-api --wallet-dir` attaches them."""
    rpc = RPCClient(stack.node.url, cookie=stack.node.datadir / ".cookie", timeout=30)
    pool = PoolGateway(f"http://127.0.0.1:{stack.pool_api_port}/", stack.pool_cookie)
    miner = MinerGateway("127.0.0.1", stack.miner_api_port)
    wallet = WalletGateway(stack.wallet_dir, REGTEST, rpc, PASSPHRASE, sync_s=0.5)
    return [lambda bus: pool_component(pool, bus, poll_s=0.5), lambda _: miner_component(miner),
            lambda _: wallet_component(wallet)]


def build_stack(root: Path) -> Stack:
    node = NodeProcess(root / "regtest").start()
    wallet_dir = root / "wallet"
    wallet, _ = Wallet.create(wallet_dir, REGTEST, PASSPHRASE, rpc=node.rpc, kdf=ScryptParams(log_n=10))  # type: ignore[arg-type]
    address = wallet.new_address()
    wallet.close()
    stack = Stack(root, node, wallet_dir, address)
    stack.start_pool()
    stack.start_miner()
    node.call("generatetoaddress", 101, address)  # one mature coinbase for the wallet, the rest immature
    return stack
