"""PPLNS payouts paid by the real hashforge wallet: the pool's coinbase lands in the wallet, the
wallet builds and signs the batched payout, the node confirms it, every miner is paid once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hashforge.consensus.params import REGTEST
from hashforge.pool.config import Scheme
from hashforge.pool.payouts import PayoutProcessor
from hashforge.pool.service import PoolService
from hashforge.pool.wallet_payouts import WalletPayouts
from hashforge.rpcclient import RPCClient
from hashforge.wallet import ScryptParams, Wallet
from tests.helpers.nodeproc import NodeProcess

from .test_end_to_end import BURN, addr, config, mine, onchain

PASSPHRASE = "correct horse battery staple"


def test_pplns_payout_through_hashforge_wallet(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path / "regtest", "regtest").start()
    try:
        node.call("generatetoaddress", 5, BURN)
        rpc = RPCClient(node.url, cookie=node.datadir / ".cookie")
        wallet, _ = Wallet.create(tmp_path / "wallet", REGTEST, PASSPHRASE, rpc=rpc, kdf=ScryptParams(log_n=10))
        pool_address = wallet.new_address()
        wallet.close()
        miner_a, miner_b = addr(0xA11), addr(0xB22)

        async def run() -> dict[str, int]:
            svc = PoolService(config(node, tmp_path / "pool", Scheme.PPLNS, pool_address, 3), maintenance_interval=3600)
            svc.payouts = None
            await svc.start()
            payouts = WalletPayouts(tmp_path / "wallet", PASSPHRASE, REGTEST, RPCClient(node.url, cookie=node.datadir / ".cookie"))
            try:
                got = await asyncio.gather(mine(svc.stratum_port, miner_a + ".x", 2), mine(svc.stratum_port, miner_b + ".y", 1))
                assert got == [2, 1]
                await asyncio.to_thread(node.call, "generatetoaddress", 101, BURN)
                svc.payouts = PayoutProcessor(svc.engine, payouts, 1000, exclude=[pool_address])
                await svc.maintenance_once()
                with svc.engine.connect() as conn:
                    paid = {a: int(v) for a, v in conn.exec_driver_sql(
                        "SELECT address, sum(amount) FROM payout_items GROUP BY address").all()}
                    txids = [t for (t,) in conn.exec_driver_sql("SELECT txid FROM payouts").all()]
                assert miner_a in paid and len(txids) == 1
                # the payout transaction is the wallet's, signed and in the node's mempool
                assert txids[0] in node.call("getrawmempool")
                await asyncio.to_thread(node.call, "generatetoaddress", 1, BURN)
                await svc.maintenance_once()  # nothing is paid twice
                with svc.engine.connect() as conn:
                    assert conn.exec_driver_sql("SELECT count(*) FROM payouts").scalar() == 1
                return paid
            finally:
                payouts.close()
                await svc.stop()

        paid = asyncio.run(run())
        for who, amount in paid.items():
            assert onchain(node, who) == [amount]
    finally:
        node.stop()
