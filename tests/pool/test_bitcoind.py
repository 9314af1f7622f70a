"""The pool against Bitcoin Core (regtest) instead of hashforge's node: runs when `bitcoind` is on
PATH, skips otherwise. SOLO: shares accepted, blocks accepted by Core, coinbase to the miner."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from hashforge.pool.config import Scheme
from hashforge.pool.service import PoolService
from tests.helpers.bitcoind import BitcoinCore, requires_bitcoind

from .test_end_to_end import BURN, addr, config, mine

pytestmark = requires_bitcoind("the pool's Bitcoin Core test")


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
