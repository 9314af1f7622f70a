"""PoolService: wires the roles together and runs them on one event loop.

    connector --lines--> stratifier --ShareRecord--> recorder (durable, group commit)
                              |  \\--block hex--> generator.submit_block --BlockFound--> accountant
                              ^
    generator --Template------+            accountant/payouts: periodic task (`maintenance`)

With merged mining (merged.py) each aux chain has its own books: an Accountant over that chain's
node and, when the pool has a wallet for that coin (`aux_wallets`), a PayoutProcessor paying it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import resource
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from hashforge.consensus.address import address_to_script
from hashforge.consensus.block import BlockHeader
from hashforge.consensus.params import ChainParams, PowAlgorithm, get_params
from hashforge.consensus.pow import pow_hash as consensus_pow_hash
from hashforge.logs import Repeated
from hashforge.rpcclient import AsyncRPCClient, RPCClientError

from .accounting import Accountant, NodeChainView
from .auxaddress import AuxAddressBook
from .config import PoolConfig, Scheme
from .connector import Connector
from .contracts import allocate_pending
from .db import StateRepository, make_engine, migrate
from .errors import ConfigError
from .fanout import PgTipBus
from .generator import Generator
from .merged import AuxChainConfig, MergedMining, check_parent
from .metrics import PoolMetrics
from .payouts import PayoutProcessor, PayoutWallet
from .recorder import ShareRecorder
from .records import BlockFound, ShareRecord
from .shares import PowFunction, ShareCheck, sha256d
from .stratifier import Stratifier
from .template import PoolJob, Template
from .unsent import UnsentBlocks
from .websocket import WebSocketBridge

log = logging.getLogger(__name__)


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def pow_function(params: ChainParams) -> PowFunction:
    if params.pow_algorithm is PowAlgorithm.SCRYPT:
        return lambda header: consensus_pow_hash(BlockHeader.from_bytes(header), params)
    return sha256d


class PoolService:
    def __init__(self, cfg: PoolConfig, wallet: PayoutWallet | None = None, *, maintenance_interval: float = 5.0,
                 aux_chains: Sequence[AuxChainConfig] = (), aux_wallets: Mapping[str, PayoutWallet] | None = None) -> None:
        self.cfg = cfg.validate()
        self.params = get_params(cfg.network)
        self.metrics = PoolMetrics()
        cfg.datadir.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(cfg.database_url)
        self.rpc = AsyncRPCClient(cfg.node_url, cfg.node_user, cfg.node_password, cfg.node_cookie, timeout=60)
        self.longpoll_rpc = AsyncRPCClient(cfg.node_url, cfg.node_user, cfg.node_password, cfg.node_cookie, timeout=700)
        self.generator = Generator(self.rpc, cfg.stratifier, self.params, self.longpoll_rpc)
        self.unsent = UnsentBlocks(cfg.datadir / "unsent-blocks")
        self.recorder = ShareRecorder(self.engine, cfg.recorder, cfg.datadir / "shares.spill", self.metrics)
        a = cfg.accounting
        pool_script = address_to_script(a.pool_address, self.params) if a.pool_address else None
        scrypt = self.params.pow_algorithm is PowAlgorithm.SCRYPT
        self.stratifier = Stratifier(
            cfg, self.recorder, self.generator,
            self.generator.validate_address_remote if cfg.stratifier.validate_with_node else self.generator.validate_address,
            self._on_block,
            pool_script=pool_script, metrics=self.metrics, pow_fn=pow_function(self.params), scrypt=scrypt,
            unsent=self.unsent,
        )
        self.generator.on_template = self.stratifier.set_template
        aux_chains = tuple(aux_chains) or cfg.aux_chains  # given here, else the configuration's
        self.merged = self._merged(aux_chains) if aux_chains else None
        self.aux_accountants: dict[str, Accountant] = {}
        self.aux_payouts: dict[str, PayoutProcessor] = {}
        self.connector = Connector(cfg.connector, self.stratifier)
        c = cfg.connector
        self.websocket = (WebSocketBridge(self.connector, c.ws_host or c.host, c.ws_port, c.ws_origins)
                          if c.ws_port is not None else None)
        self.accountant = Accountant(self.engine, a, NodeChainView(self.rpc), self.params.coinbase_maturity)
        self.payouts = (
            PayoutProcessor(self.engine, wallet, a.payout_threshold, exclude=[a.pool_address or ""], metrics=self.metrics)
            if wallet is not None and a.scheme is not Scheme.SOLO else None
        )
        if self.merged is not None:
            self._aux_books(self.merged, aux_wallets or {})
        self.maintenance_interval = maintenance_interval
        self._maint: asyncio.Task[None] | None = None
        self._resubmitting: asyncio.Task[None] | None = None
        self._repeated = Repeated(log)
        self._last_payout = 0.0
        self.started_at = time.time()
        self.found: list[BlockFound] = []
        postgres = cfg.database_url.startswith(("postgresql", "postgres:"))
        self.tip_bus = PgTipBus(cfg.database_url, cfg.stratifier.instance_id) if postgres else None

    def _merged(self, aux_chains: Sequence[AuxChainConfig]) -> MergedMining:
        check_parent(self.params)
        merged = MergedMining(list(aux_chains))
        self.generator.decorate = self._with_aux
        self.stratifier.on_aux_share = self._aux_share
        self.stratifier.aux_chains_of = merged.current
        merged.on_change = self.generator.refresh
        return merged

    def _aux_books(self, merged: MergedMining, wallets: Mapping[str, PayoutWallet]) -> None:
        """Per aux chain: its Accountant, its payouts (given that coin's wallet), and the miners'
        addresses on it (from the Stratum password)."""
        a = self.cfg.accounting
        unknown = set(wallets) - {c.params.name for c in merged.chains}
        if unknown:
            raise ConfigError(f"a payout wallet for {', '.join(sorted(unknown))}, which is not an aux chain here")
        for c in merged.chains:
            name = c.params.name
            self.aux_accountants[name] = Accountant(
                self.engine, a, NodeChainView(c.rpc), c.params.coinbase_maturity, network=name,
                aux_value=functools.partial(merged.value, name))
            if name in wallets:  # every scheme: an aux coinbase pays the pool, SOLO finders included
                self.aux_payouts[name] = PayoutProcessor(self.engine, wallets[name], a.payout_threshold,
                                                         exclude=[a.pool_address or ""], metrics=self.metrics,
                                                         chain=name)
        self.aux_addresses = AuxAddressBook(self.engine, [c.params for c in merged.chains])
        self.stratifier.on_authorize = self.aux_addresses.on_authorize
        merged.on_found = self._on_aux_block

    async def _on_aux_block(self, found: BlockFound, durable: asyncio.Future[bool] | None) -> None:
        if durable is not None and not await durable:
            log.error("the share of aux block %s was not recorded", found.hash_hex)
        assert found.chain is not None
        await asyncio.to_thread(self.aux_accountants[found.chain].record_block, found)

    def _with_aux(self, t: Template) -> Template:
        bundle = self.merged.bundle if self.merged is not None else None
        return replace(t, aux=bundle) if bundle is not None else t

    def _aux_share(self, pj: PoolJob, extranonce1: bytes, share: ShareCheck, record: ShareRecord,
                   durable: asyncio.Future[bool] | None) -> None:
        if self.merged is not None and pj.template.aux is not None:
            self.merged.on_share(pj.template.aux, share.pow_hash, pj.job.coinbase(extranonce1, share.extranonce2),
                                 pj.job.merkle_branch, share.header, record, durable)

    @property
    def stratum_port(self) -> int:
        return self.connector.ports[0]

    async def start(self) -> None:
        raise_fd_limit()
        await asyncio.to_thread(migrate, self.engine)
        await asyncio.to_thread(self._remember_network)
        await self.recorder.start()
        for acc in self.aux_accountants.values():
            await asyncio.to_thread(acc.begin)
        if self.merged is not None:  # aux work first: the first job already commits to it
            await self.merged.start()
        await self.generator.start()
        self._resubmitting = asyncio.get_running_loop().create_task(self._resubmit_unsent())
        await self.connector.start()
        if self.websocket is not None:
            await self.websocket.start()
        if self.tip_bus is not None:
            await self.tip_bus.start(lambda _hash: self.generator.refresh())
        self._maint = asyncio.get_running_loop().create_task(self._maintenance())
        log.info("pool %s on %s:%s (%s)", self.cfg.accounting.scheme.value, self.cfg.connector.host,
                 self.stratum_port, self.cfg.network)

    def _remember_network(self) -> None:
        """The database says which chain its books without a `chain` are in (for `hashforge pool balances`)."""
        with self.engine.begin() as conn:
            if StateRepository.get(conn, "network") != self.cfg.network:
                StateRepository.set(conn, "network", self.cfg.network)

    async def stop(self, reconnect: tuple[str, int] | None = None) -> None:
        """client.reconnect to every miner, stop accepting, flush every share, close."""
        self.connector.stop_accepting()
        if self.websocket is not None:
            self.websocket.stop_accepting()
        self.stratifier.shutdown_notice(*(reconnect or (None, None)))
        await asyncio.sleep(0.05)
        if self._maint is not None:
            self._maint.cancel()
        if self.tip_bus is not None:
            await self.tip_bus.stop()
        if self._resubmitting is not None:
            self._resubmitting.cancel()
            await asyncio.gather(self._resubmitting, return_exceptions=True)
        await self.generator.stop()
        if self.merged is not None:
            await self.merged.stop()
        if self.websocket is not None:
            await self.websocket.stop()
        await self.connector.stop()
        await self.recorder.stop()
        await self.rpc.aclose()
        await self.longpoll_rpc.aclose()
        self.engine.dispose()

    async def _resubmit_unsent(self) -> None:
        """Blocks found before the last stop that the node never answered: submitted now, then
        recorded like any found block (a block the node already has answers "duplicate")."""
        for u in await asyncio.to_thread(self.unsent.load):
            log.warning("submitting block %s (height %d) found before the last stop", u.found.hash_hex, u.found.height)
            try:
                result = await self.generator.submit_block(u.block_hex)
            except RPCClientError as e:  # the node's own rejection
                result = f"submitblock failed: {e}"
            await self._on_block(replace(u.found, ts=time.time(), submit_result=result))
            self.unsent.remove(u.found.hash)

    async def _on_block(self, found: BlockFound) -> None:
        self.found.append(found)
        if found.accepted and self.tip_bus is not None:
            await self.tip_bus.publish(found.hash_hex)
        await asyncio.to_thread(self.accountant.record_block, found)

    async def maintenance_once(self, payout: bool = True) -> None:
        await asyncio.to_thread(self.accountant.credit_blocks)
        await asyncio.to_thread(self.accountant.credit_pps)
        await asyncio.to_thread(allocate_pending, self.engine, self.stratifier.scrypt)  # before any payout
        await self.accountant.settle()
        for name, acc in self.aux_accountants.items():  # each aux coin's books, its node for maturity
            try:
                await asyncio.to_thread(acc.credit_blocks)
                await asyncio.to_thread(acc.credit_pps)
                await acc.settle()
                if payout and name in self.aux_payouts:
                    await self.aux_payouts[name].run_once()
                self._repeated.clear(f"aux:{name}", f"{name}: accounting/payout run succeeded again")
            except Exception as e:  # that node away: the parent's books go on
                self._repeated.failure(f"aux:{name}", f"{name}: accounting/payout run failed", e)
        if payout and self.payouts is not None:
            await self.payouts.run_once()

    async def _maintenance(self) -> None:
        while True:
            await asyncio.sleep(self.maintenance_interval)
            try:
                now = time.monotonic()
                due = now - self._last_payout >= self.cfg.accounting.payout_interval
                await self.maintenance_once(payout=due)
                if due:
                    self._last_payout = now
                self._repeated.clear("maintenance", "accounting/payout run succeeded again")
            except Exception as e:  # the node away or a payout refused: counted lines, not a traceback each 5 s
                self._repeated.failure("maintenance", "accounting/payout run failed", e)

    def live(self) -> dict[str, Any]:
        t = self.stratifier.template
        return {
            "connections": len(self.connector.protocols),
            "network": self.cfg.network,
            "height": t.height if t else None,
            "network_difficulty": t.network_difficulty if t else None,
            "instance": self.cfg.stratifier.instance_id,
            "coin": self.params.coin,
            **({"aux_chains": self.merged.live()} if self.merged is not None else {}),
        }
