"""The running node: chain manager, mempool and JSON-RPC server wired together on one event loop.

Threading: all chain and mempool state is touched only from one worker thread (`self.chain_executor`);
RPC handlers that read or change it run there. Signature checks fan out to `script_executor`.
Full scans of the UTXO set (gettxoutsetinfo, scantxoutset) run on `utxo_scans`' threads, on a
snapshot the chain thread takes (node/utxoscan.py), so they hold up no other RPC.
The event loop thread only does I/O and waits (e.g. getblocktemplate longpoll).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from hashforge.consensus.params import ChainParams

from .assembler import BlockAssembler
from .chain import BlockIndex, ChainManager, ProgressFn
from .config import NodeConfig
from .mempool import Mempool
from .rpc.server import Credentials, RPCDispatcher, RPCLimits, RPCServer, write_cookie
from .scriptpool import make_script_executor
from .utxoscan import UTXOScanner

if TYPE_CHECKING:
    from .p2p import P2PNetwork

log = logging.getLogger(__name__)
T = TypeVar("T")


class Node:
    def __init__(self, config: NodeConfig, progress: ProgressFn | None = None) -> None:
        self.config = config
        self.progress = progress
        self.params: ChainParams = config.params
        self.datadir: Path = config.resolved_datadir
        self.started_at = time.time()
        self.chain_executor = ThreadPoolExecutor(1, thread_name_prefix="chain")
        # Signature checks: inline on the chain thread by default; `script_workers = "process"` runs them in processes.
        self.script_executor, self._script_map = make_script_executor(config.script_workers, config.script_threads)
        self.utxo_scans = UTXOScanner()
        self.chain: ChainManager | None = None
        self._mempool: Mempool | None = None
        self._assembler: BlockAssembler | None = None
        self.rpc: RPCServer | None = None
        self.p2p: P2PNetwork | None = None  # the P2P network (node/p2p), started after RPC
        self.cookie_path: Path | None = None
        self._stopping: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Longpoll: bumped whenever the tip changes or the mempool gains transactions.
        self.work_id = 0
        self._work_changed: asyncio.Condition | None = None
        self._bump_pending = False  # a bump is scheduled on the loop and has not run yet
        self._work_waiters = 0  # longpolls waiting in wait_for_new_work (event loop only)

    # --- running on the chain thread ------------------------------------------------------

    async def call(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.chain_executor, fn)

    def _open_chain(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.chain = ChainManager(
            self.params, self.datadir, script_map=self._script_map, progress=self.progress,
            dbcache_mib=self.config.dbcache_mib, reindex=self.config.reindex, assume_valid=self.config.assume_valid,
            minimum_chain_work=self.config.minimum_chain_work,
        )
        self.chain.events.tip_changed.append(self._on_tip_changed)
        self._mempool = Mempool(
            self.chain,
            self.params,
            max_size_bytes=self.config.max_mempool_mb * 1_000_000,
            min_relay_fee=self.config.min_relay_fee,
            incremental_relay_fee=self.config.incremental_relay_fee,
        )
        self._assembler = BlockAssembler(
            self.chain, self._mempool, self.params, block_min_fee=self.config.block_min_tx_fee
        )

    @property
    def mempool(self) -> Mempool:
        assert self._mempool is not None, "node not started"
        return self._mempool

    @property
    def assembler(self) -> BlockAssembler:
        assert self._assembler is not None, "node not started"
        return self._assembler

    def _on_tip_changed(self, tip: BlockIndex) -> None:
        self.notify_new_work()

    def notify_new_work(self) -> None:
        """Thread-safe: a new work id, and a wake-up for longpolling getblocktemplate callers."""
        self.work_id += 1
        loop = self._loop
        # Nobody waiting (all of initial sync): no wake-up of the loop at all. A waiter counts
        # itself before it reads work_id, so it either sees this id or gets this wake-up.
        if loop is None or self._work_changed is None or not self._work_waiters:
            return
        cond = self._work_changed
        # While the tip moves hundreds of times a second, one wake-up covers every change made
        # before it runs.
        if self._bump_pending:
            return
        self._bump_pending = True

        async def bump() -> None:
            self._bump_pending = False
            async with cond:
                cond.notify_all()

        asyncio.run_coroutine_threadsafe(bump(), loop)

    async def wait_for_new_work(self, since: int, timeout: float) -> int:
        """The work id once it differs from `since`, or after `timeout` seconds."""
        assert self._work_changed is not None
        self._work_waiters += 1
        try:
            async with self._work_changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._work_changed.wait_for(lambda: self.work_id != since), timeout)
                return self.work_id
        finally:
            self._work_waiters -= 1

    # --- lifecycle -------------------------------------------------------------------------

    def _credentials(self) -> Credentials:
        pairs = []
        if self.config.rpc_user and self.config.rpc_password:
            pairs.append((self.config.rpc_user, self.config.rpc_password))
        self.cookie_path, password = write_cookie(self.datadir)
        pairs.append(("__cookie__", password))
        return Credentials(pairs)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._work_changed = asyncio.Condition()
        await self.call(self._open_chain)
        dispatcher = RPCDispatcher(self.chain_executor)
        from .rpc.methods import register_all

        register_all(dispatcher, self)
        limits = RPCLimits(self.config.rpc_threads, self.config.rpc_work_queue, self.config.rpc_server_timeout)
        self.rpc = RPCServer(dispatcher, self._credentials(), self.config.rpc_host, self.config.resolved_rpc_port, limits)
        await self.rpc.start()
        from .p2p import P2PNetwork, P2PSettings

        self.p2p = P2PNetwork(self, P2PSettings.from_node_config(self.config))
        await self.p2p.start()
        (self.datadir / "node.pid").write_text(str(os.getpid()))
        log.info("node on %s: tip %d, RPC on %s:%d", self.params.name, self.chain_height, self.config.rpc_host, self.rpc.port)

    @property
    def chain_height(self) -> int:
        return self.chain.height if self.chain else -1

    def request_stop(self) -> None:
        if self._stopping is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)

    async def run_until_stopped(self) -> None:
        assert self._stopping is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
                loop.add_signal_handler(sig, self._stopping.set)
        await self._stopping.wait()
        await self.stop()

    async def stop(self) -> None:
        if self.p2p is not None:
            await self.p2p.stop()
        if self.rpc is not None:
            await self.rpc.stop()
        await asyncio.get_running_loop().run_in_executor(None, self.utxo_scans.close)
        if self.chain is not None:
            await self.call(self.chain.close)
        self.chain_executor.shutdown(wait=True)
        if self.script_executor is not None:
            self.script_executor.shutdown(wait=True)
        for path in (self.cookie_path, self.datadir / "node.pid"):
            if path is not None and path.exists():
                path.unlink()


async def run_node(
    config: NodeConfig, on_started: Callable[[Node], None] | None = None, progress: ProgressFn | None = None
) -> None:
    node = Node(config, progress)
    await node.start()
    if on_started:
        on_started(node)
    await node.run_until_stopped()
