"""Attaching components to the API: each factory returns the `ComponentAPI` to `Components.add`.

    components.add(pool_component(PoolGateway("http://127.0.0.1:8421/"), components.bus))
    components.add(miner_component(MinerGateway("127.0.0.1", 4028)))
    components.add(wallet_component(WalletGateway(datadir, params, rpc, passphrase)))
    components.add(ops_component(OpsGateway(ops_dir, params, components)))

`hashforge api --pool-api URL --miner-api HOST:PORT --wallet-dir D --wallet-passphrase-file F`
does exactly this; a component not given is absent (no router, the dashboard says so).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hashforge.services.events import EventBus
from hashforge.services.gateways.miner import MinerGateway
from hashforge.services.gateways.pool import PoolGateway, PoolWatcher
from hashforge.services.gateways.wallet import WalletGateway
from hashforge.services.registry import ComponentAPI

if TYPE_CHECKING:
    from hashforge.ops.gateway import OpsGateway


def pool_component(gateway: PoolGateway, bus: EventBus, poll_s: float = 2.0) -> ComponentAPI:
    from hashforge.services.pool import to_stats

    from .routers import pool

    watcher = PoolWatcher(gateway, bus, poll_s)

    async def summary() -> dict[str, Any]:
        s = to_stats(await gateway.stats())
        return {"hashrate_hps": s.hashrate_hps, "workers": s.workers, "miners": s.miners,
                "blocks_found": s.blocks.pending + s.blocks.confirmed + s.blocks.orphaned,
                "effort": s.effort, "scheme": s.scheme}

    return ComponentAPI("pool", pool.router, summary, gateway=gateway, tasks=(watcher.run,), close=gateway.aclose)


def miner_component(gateway: MinerGateway) -> ComponentAPI:
    from hashforge.services.miner import to_summary

    from .routers import miner

    async def summary() -> dict[str, Any]:
        s = to_summary(await gateway.summary())
        return {"hashrate_hps": s.hashrate.last_1m_hps or s.hashrate.last_5s_hps, "accepted": s.accepted,
                "rejected": s.rejected, "hardware_errors": s.hardware_errors}

    return ComponentAPI("miner", miner.router, summary, gateway=gateway)


def wallet_component(gateway: WalletGateway) -> ComponentAPI:
    from .routers import wallet

    async def summary() -> dict[str, Any]:
        b = await gateway.balance()
        return {"spendable_sat": b.confirmed, "immature_sat": b.immature, "unconfirmed_sat": b.unconfirmed}

    return ComponentAPI("wallet", wallet.router, summary, gateway=gateway, tasks=(gateway.run,), close=gateway.aclose)


def ops_component(gateway: OpsGateway) -> ComponentAPI:
    """Profitability, alerts, maintenance and tax records, kept in `gateway.dir`."""
    from .routers import ops

    return ComponentAPI("ops", ops.router, gateway=gateway, tasks=(gateway.run,), close=gateway.aclose)
