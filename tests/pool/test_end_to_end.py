"""End to end on loopback: a real `hashforge node` (regtest), the pool service, test miners
using the native kernels. Shares are accepted, blocks found and accepted by the node, rewards
mature, payouts (PPLNS) and coinbases (SOLO) arrive at the miners' addresses on chain."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from hashforge.consensus.address import script_to_address
from hashforge.consensus.params import REGTEST
from hashforge.kernels import scan_sha256d
from hashforge.pool.config import (
    AccountingConfig,
    ConnectorConfig,
    PoolConfig,
    Scheme,
    StratifierConfig,
    VardiffConfig,
)
from hashforge.pool.db.repositories import LedgerRepository
from hashforge.pool.service import PoolService
from hashforge.stratum import StratumErrorCode, difficulty_to_target
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Key

from .harness import Client, submit_params
from .wallet import TestWallet

BURN = script_to_address(Key.from_int(0xDEAD).p2wpkh, REGTEST) or ""


def addr(n: int) -> str:
    return script_to_address(Key.from_int(n).p2wpkh, REGTEST) or ""


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    n = NodeProcess(tmp_path_factory.mktemp("node") / "regtest", "regtest").start()
    n.call("generatetoaddress", 5, BURN)
    yield n
    n.stop()


def onchain(node: NodeProcess, address: str) -> list[int]:
    res = node.call("scantxoutset", "start", [f"addr({address})"])
    return sorted(int(Decimal(str(u["amount"])) * 100_000_000) for u in res["unspents"])


def config(node: NodeProcess, datadir: Path, scheme: Scheme, pool_address: str | None, instance: int) -> PoolConfig:
    return PoolConfig(
        network="regtest", datadir=datadir, node_url=node.url, node_cookie=node.datadir / ".cookie",
        connector=ConnectorConfig(port=0),
        # no grace for shares of the previous tip: mine() counts every accepted share as a block
        stratifier=StratifierConfig(instance_id=instance, tip_poll_interval=0.1, previous_tip_grace=0.0),
        vardiff=VardiffConfig(start_difficulty=1.0, min_difficulty=1e-10),  # starts at the network difficulty
        accounting=AccountingConfig(scheme=scheme, pool_address=pool_address, fee_percent=1.0, payout_threshold=1000),
    )


async def mine(port: int, user: str, blocks_wanted: int) -> int:
    """Mines until `blocks_wanted` shares were accepted (on regtest every share is a block)."""
    c = await Client.connect(port)
    await c.login(user)
    accepted = 0
    n = 0
    while accepted < blocks_wanted:
        job = c.job
        assert job is not None
        n += 1
        en2 = n.to_bytes(8, "big")
        prefix = job.header(c.en1, en2, job.time, 0)[:76]
        result = await asyncio.to_thread(scan_sha256d, prefix, difficulty_to_target(c.difficulty), 0, 4096)
        if not result.nonces:
            continue
        r = await c.call("mining.submit", submit_params(user, job, en2, job.time, result.nonces[0]))
        if r["result"] is True:
            accepted += 1
        else:
            assert r["error"][0] == StratumErrorCode.JOB_NOT_FOUND, r  # raced a new tip
        await asyncio.sleep(0.15)  # let the new tip's job arrive
    c.close()
    return accepted


def test_pplns_then_solo_end_to_end(node: NodeProcess, tmp_path: Path) -> None:
    pool_key = Key.from_int(0x900D)
    pool_addr = script_to_address(pool_key.p2wpkh, REGTEST) or ""
    miner_a, miner_b, miner_c = addr(0xA1), addr(0xB2), addr(0xC3)

    async def pplns() -> None:
        svc = PoolService(config(node, tmp_path / "pplns", Scheme.PPLNS, pool_addr, 1), maintenance_interval=3600)
        svc.payouts = None
        await svc.start()
        try:
            start = node.call("getblockcount")
            got = await asyncio.gather(mine(svc.stratum_port, miner_a + ".a", 3), mine(svc.stratum_port, miner_b + ".b", 2))
            assert got == [3, 2]
            for _ in range(100):
                if len(svc.found) >= 5:
                    break
                await asyncio.sleep(0.05)
            # two miners on one tip race: the loser's block is "inconclusive" (a side branch)
            assert all(f.submit_result in (None, "inconclusive") for f in svc.found)
            assert node.call("getblockcount") >= start + 3
            in_chain = [f for f in svc.found if node.call("getblockhash", f.height) == f.hash_hex]
            side = [f for f in svc.found if f not in in_chain]
            assert len(in_chain) >= 3
            # mature the rewards, then account, confirm (orphan the side blocks) and pay
            await asyncio.to_thread(node.call, "generatetoaddress", 100, BURN)
            wallet = TestWallet(pool_key, svc.rpc, REGTEST)
            from hashforge.pool.payouts import PayoutProcessor

            svc.payouts = PayoutProcessor(svc.engine, wallet, 1000, exclude=[pool_addr])
            await svc.maintenance_once()
            with svc.engine.connect() as conn:
                status = dict(conn.exec_driver_sql("SELECT hash, status FROM blocks").all())
                paid = dict(conn.exec_driver_sql(
                    "SELECT address, sum(amount) FROM payout_items GROUP BY address").all())
                assert LedgerRepository.payable_balances(conn).get(miner_a, 0) == 0
                reversed_ = conn.exec_driver_sql("SELECT count(*) FROM credits WHERE kind='reversal'").scalar()
            assert {status[f.hash_hex] for f in in_chain} == {"confirmed"}
            assert {status[f.hash_hex] for f in side} <= {"orphaned"}
            assert (reversed_ or 0) >= (1 if side else 0)
            assert set(paid) <= {miner_a, miner_b} and miner_a in paid
            expected = sum(f.reward - f.reward // 100 for f in in_chain)  # 1% fee
            assert sum(paid.values()) == expected
            await asyncio.to_thread(node.call, "generatetoaddress", 1, BURN)
            await svc.maintenance_once()
            for who, amount in paid.items():
                assert onchain(node, who) == [amount]  # exactly one output: paid once
        finally:
            await svc.stop()

    async def solo() -> None:
        svc = PoolService(config(node, tmp_path / "solo", Scheme.SOLO, None, 2), maintenance_interval=3600)
        await svc.start()
        try:
            assert await mine(svc.stratum_port, miner_c + ".cpu", 2) == 2
            for _ in range(100):
                if len(svc.found) >= 2:
                    break
                await asyncio.sleep(0.05)
            rewards = sorted(f.reward for f in svc.found if f.accepted)
            assert len(rewards) == 2  # one miner: no races
            await asyncio.to_thread(node.call, "generatetoaddress", 100, BURN)
            await svc.maintenance_once()
            with svc.engine.connect() as conn:
                assert {r.status for r in conn.exec_driver_sql("SELECT status FROM blocks")} == {"confirmed"}
            # the coinbase paid the finder directly (no pool address, no fee output)
            assert onchain(node, miner_c) == rewards
            tip = node.call("getblockcount")
            mature = node.call("scantxoutset", "start", [f"addr({miner_c})"])["unspents"]
            assert all(tip - u["height"] + 1 >= 100 for u in mature)
        finally:
            await svc.stop()

    asyncio.run(asyncio.wait_for(pplns(), 120))
    asyncio.run(asyncio.wait_for(solo(), 120))
