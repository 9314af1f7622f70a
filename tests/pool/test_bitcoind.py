"""The pool against Bitcoin Core (regtest) instead of hashforge's node: runs when `bitcoind` is in
../shared/bin or on PATH (tests.helpers.peers), skips otherwise. SOLO: shares accepted, blocks
accepted by Core, coinbase to the miner; once from our own Stratum client, once as `hashforge pool`
with pooler's cpuminer (`minerd`, a plain Stratum v1 miner: no version rolling, no
extranonce.subscribe) as the miner."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from hashforge.pool.apiguard import COOKIE_FILE, read_cookie
from hashforge.pool.config import Scheme
from hashforge.pool.service import PoolService
from tests.helpers.bitcoind import BitcoinCore, requires_bitcoind
from tests.helpers.nodeproc import free_port
from tests.helpers.peers import find_peer, requires_peer

from .test_end_to_end import BURN, addr, config, mine

pytestmark = requires_bitcoind("the pool's Bitcoin Core tests")
MINERD = find_peer("minerd")


@pytest.fixture()
def core(tmp_path: Path) -> Iterator[BitcoinCore]:
    with BitcoinCore(tmp_path / "core", "-listen=0", user="pool", password="pool", rpc_timeout=60) as c:
        yield c


def test_solo_against_bitcoin_core(core: BitcoinCore, tmp_path: Path) -> None:
    miner = addr(0xC0DE)
    core.call("generatetoaddress", 1, BURN)

    async def main() -> None:
        cfg = config(core, tmp_path / "pool", Scheme.SOLO, None, 7)  # type: ignore[arg-type]
        cfg = replace(cfg, node_cookie=None, node_user=core.user, node_password=core.password)
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


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@requires_peer("minerd", "minerd on the pool on Bitcoin Core")
@pytest.mark.slow
def test_minerd_on_hashforge_pool_on_bitcoin_core(core: BitcoinCore, tmp_path: Path) -> None:
    """`hashforge pool` on regtest Core, minerd mining on it for at least 3 accepted shares: minerd
    says each was accepted and none rejected, it is never disconnected, and the blocks reach Core
    (Core's own chain shows coinbases paying minerd's address)."""
    assert MINERD is not None
    miner = addr(0x313E2D)
    core.call("generatetoaddress", 1, BURN)
    start_height = core.call("getblockcount")
    stratum, api = free_port(), free_port()
    pool_log, miner_log = tmp_path / "pool.log", tmp_path / "minerd.log"
    with open(pool_log, "wb") as out:
        pool = subprocess.Popen(
            [sys.executable, "-m", "hashforge", "pool", "--network", "regtest",
             "--node-rpc", f"http://{core.user}:{core.password}@127.0.0.1:{core.port}/",
             "--stratum-host", "127.0.0.1", "--stratum-port", str(stratum), "--api-port", str(api),
             "--scheme", "solo", "--datadir", str(tmp_path / "pool")],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    procs = [pool]
    try:
        deadline = time.monotonic() + 30
        while True:
            assert pool.poll() is None, pool_log.read_text()[-3000:]
            try:
                socket.create_connection(("127.0.0.1", stratum), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, pool_log.read_text()[-3000:]
                time.sleep(0.2)
        with open(miner_log, "wb") as out:
            procs.append(subprocess.Popen(
                [MINERD, "-a", "sha256d", "-t", "1", "-o", f"stratum+tcp://127.0.0.1:{stratum}",
                 "-u", f"{miner}.minerd", "-p", "x"], stdout=out, stderr=subprocess.STDOUT))

        def accepted() -> list[str]:
            return re.findall(r"accepted: \d+/\d+ \([0-9.]+%\).*\((yay!!!|booooo)\)", miner_log.read_text(errors="replace"))

        deadline = time.monotonic() + 90
        while len(accepted()) < 3 or core.call("getblockcount") < start_height + 2:
            assert procs[1].poll() is None, "minerd exited:\n" + miner_log.read_text()[-3000:]
            assert time.monotonic() < deadline, (miner_log.read_text()[-3000:], pool_log.read_text()[-3000:])
            time.sleep(0.2)
        said = miner_log.read_text(errors="replace")
        assert set(accepted()) == {"yay!!!"}, said[-3000:]  # minerd prints "booooo" for a rejected share
        for problem in ("authentication failed", "Stratum connection interrupted", "JSON decode failed"):
            assert problem not in said, said[-3000:]
        assert "share flood" not in pool_log.read_text(errors="replace")
        # the pool counts them too, for minerd's worker
        workers = httpx.get(f"http://127.0.0.1:{api}/v1/pool/workers", auth=read_cookie(tmp_path / "pool" / COOKIE_FILE),
                            timeout=10).json()
        assert any(w["address"] == miner and w["worker"] == "minerd" and w["shares"] >= 3 for w in workers), workers
        # the blocks are Core's now: its chain has them, paying minerd's address
        tip = core.call("getblockcount")
        paid = [core.call("getblock", core.call("getblockhash", h), 2)["tx"][0]["vout"][0]["scriptPubKey"].get("address")
                for h in range(start_height + 1, tip + 1)]
        assert paid and set(paid) == {miner}, paid
    finally:
        for p in reversed(procs):
            _stop(p)
    assert pool.returncode == 0, pool_log.read_text()[-3000:]
