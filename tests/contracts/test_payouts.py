"""A contract paid through the pool's own payout path: a real regtest node, the pool service
(PPLNS) with the farm's worker finding blocks over Stratum, allocation in the pool's maintenance
run, and a batched payout built and signed by the real hashforge wallet that pays the customer
and the operator exactly what the books say, once."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import pytest

from hashforge.consensus.params import REGTEST
from hashforge.pool.config import Scheme
from hashforge.pool.contracts import Sale, book
from hashforge.pool.contracts import farm as farms
from hashforge.pool.db.repositories import ShareRepository
from hashforge.pool.payouts import PayoutProcessor
from hashforge.pool.records import ShareRecord
from hashforge.pool.service import PoolService
from hashforge.pool.wallet_payouts import WalletPayouts
from hashforge.rpcclient import RPCClient
from hashforge.wallet import ScryptParams, Wallet
from tests.helpers.nodeproc import NodeProcess
from tests.pool.test_end_to_end import BURN, config, mine, onchain

from .books import CUST_A, OP

PASSPHRASE = "correct horse battery staple"


@pytest.mark.slow
def test_contract_is_paid_by_the_pools_payouts(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path / "regtest", "regtest").start()
    try:
        node.call("generatetoaddress", 5, BURN)
        rpc = RPCClient(node.url, cookie=node.datadir / ".cookie")
        wallet, _ = Wallet.create(tmp_path / "wallet", REGTEST, PASSPHRASE, rpc=rpc, kdf=ScryptParams(log_n=10))
        pool_address = wallet.new_address()
        wallet.close()

        async def run() -> dict[str, int]:
            svc = PoolService(config(node, tmp_path / "pool", Scheme.PPLNS, pool_address, 3), maintenance_interval=3600)
            svc.payouts = None
            await svc.start()
            payouts = WalletPayouts(tmp_path / "wallet", PASSPHRASE, REGTEST, RPCClient(node.url, cookie=node.datadir / ".cookie"))
            try:
                # the farm mined for an hour, two hours ago (difficulty 1 a minute); the contract was
                # sold an hour ago for half of the rate measured then
                now = time.time()
                with svc.engine.begin() as conn:
                    ShareRepository.insert_many(conn, [
                        ShareRecord(now - 7200 + 60 * i, 0, OP, "rig", 1.0, 1.0, 1.0, 1, 0, i.to_bytes(32, "big"), False)
                        for i in range(1, 61)])
                    farms.save(conn, farms.Farm((OP,), window_s=3600))
                    rate = 60 * 2**32 // 3600
                    sold = book.sell(conn, Sale("alice", "Alice", CUST_A, rate // 2, 1, price_fiat=Decimal("10.00"),
                                                fiat_currency="USD"),
                                     scrypt=False, valid_address=lambda a: a.startswith("bcrt1"), now=now - 3600)
                assert await mine(svc.stratum_port, OP + ".rig", 2) == 2
                await asyncio.to_thread(node.call, "generatetoaddress", 101, BURN)
                svc.payouts = PayoutProcessor(svc.engine, payouts, 1000, exclude=[pool_address])
                await svc.maintenance_once()  # credit, allocate, confirm, pay
                with svc.engine.connect() as conn:
                    paid = {a: int(v) for a, v in conn.exec_driver_sql(
                        "SELECT address, sum(amount) FROM payout_items GROUP BY address").all()}
                    [txid] = [t for (t,) in conn.exec_driver_sql("SELECT txid FROM payouts").all()]
                    op_credits = int(conn.exec_driver_sql(
                        f"SELECT sum(amount) FROM credits WHERE address = '{OP}' AND kind = 'block'").scalar())
                    allocated = int(conn.exec_driver_sql("SELECT sum(net) FROM contract_allocations").scalar())
                    view = book.get(conn, int(sold["id"]))
                assert allocated > 0 and view["earned_sat"] == allocated and view["immature_sat"] == 0
                # the customer got its allocation, the operator the rest: nothing twice, nothing lost
                assert paid == {CUST_A: allocated, OP: op_credits - allocated}
                assert txid in node.call("getrawmempool")
                await asyncio.to_thread(node.call, "generatetoaddress", 1, BURN)
                await svc.maintenance_once()
                with svc.engine.connect() as conn:
                    assert conn.exec_driver_sql("SELECT count(*) FROM payouts").scalar() == 1
                    assert conn.exec_driver_sql("SELECT status FROM payouts").scalar() == "confirmed"
                    customer = book.customer(conn, "alice")
                assert customer["payouts"][0]["amount"] == allocated and customer["balances"][CUST_A]["payable"] == 0
                return paid
            finally:
                payouts.close()
                await svc.stop()

        paid = asyncio.run(run())
        assert onchain(node, CUST_A) == [paid[CUST_A]]
        assert onchain(node, OP) == [paid[OP]]
    finally:
        node.stop()
