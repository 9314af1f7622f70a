"""The pool against Bitcoin Core (regtest) instead of hashforge's node: runs when `bitcoind` is on
PATH, skips otherwise. SOLO: shares accepted, blocks accepted by Core, coinbase to the miner."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from hashforge.pool.config import Scheme
from hashforge.pool.service import PoolService
from hashforge.rpcclient import RPCClient, RPCTransportError
from tests.helpers.nodeproc import free_port

from .test_end_to_end import BURN, addr, config, mine

BITCOIND = shutil.which("bitcoind")
pytestmark = pytest.mark.skipif(BITCOIND is None, reason="bitcoind is not on PATH (see DESIGN.md §8 to build it)")


class Core:
    def __init__(self, datadir: Path) -> None:
        self.datadir = datadir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.rpc: RPCClient | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Core:
        self.datadir.mkdir(parents=True, exist_ok=True)
        assert BITCOIND is not None
        self.proc = subprocess.Popen(
            [BITCOIND, "-regtest", f"-datadir={self.datadir}", "-listen=0", f"-rpcport={self.port}",
             "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1", "-rpcuser=pool", "-rpcpassword=pool",
             "-disablewallet", "-server=1", "-printtoconsole=0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.rpc = RPCClient(self.url, "pool", "pool", timeout=60)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.rpc.call("getblockcount")
                return self
            except Exception:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("bitcoind did not start") from None
                time.sleep(0.2)

    def call(self, method: str, *params: object) -> object:
        assert self.rpc is not None
        return self.rpc.call(method, *params)

    def stop(self) -> None:
        with contextlib.suppress(RPCTransportError, OSError, ValueError, RuntimeError):
            self.call("stop")
        if self.proc is not None:
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture()
def core(tmp_path: Path) -> Iterator[Core]:
    c = Core(tmp_path / "core").start()
    yield c
    c.stop()


def test_solo_against_bitcoin_core(core: Core, tmp_path: Path) -> None:
    miner = addr(0xC0DE)
    core.call("generatetoaddress", 1, BURN)

    async def main() -> None:
        cfg = config(core, tmp_path / "pool", Scheme.SOLO, None, 7)  # type: ignore[arg-type]
        cfg = replace(cfg, node_cookie=None, node_user="pool", node_password="pool")
        svc = PoolService(cfg, maintenance_interval=3600)
        await svc.start()
        try:
            assert await mine(svc.stratum_port, miner + ".core", 2) == 2
            for _ in range(100):
                if len(svc.found) >= 2:
                    break
                await asyncio.sleep(0.05)
            assert [f.submit_result for f in svc.found] == [None, None]
            await asyncio.to_thread(core.call, "generatetoaddress", 100, BURN)
            await svc.maintenance_once()
            res = await asyncio.to_thread(core.call, "scantxoutset", "start", [f"addr({miner})"])
            got = sorted(int(Decimal(str(u["amount"])) * 100_000_000) for u in res["unspents"])  # type: ignore[index]
            assert got == sorted(f.reward for f in svc.found)
        finally:
            await svc.stop()

    asyncio.run(asyncio.wait_for(main(), 120))
