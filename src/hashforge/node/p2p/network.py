"""The P2P network of one node: wires connections, message handling, block sync and transaction
relay together, runs the housekeeping timer, and answers the network RPCs.

Threading: everything here runs on the node's event loop, except ChainView and the tip-changed
listener, which run on the chain thread (`Node.call`). The listener hands its result back with
`call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from hashforge.consensus.block import BlockHeader

from ..chain import BlockIndex
from .addrbook import AddrBook
from .banman import BanMan
from .blocksync import BlockSync
from .chainview import ChainView
from .connman import ConnectionManager
from .messages import NODE_NETWORK, NODE_NETWORK_LIMITED, NODE_WITNESS, service_names
from .peer import Peer
from .processing import PeerManager
from .settings import P2PSettings
from .txrelay import TxRelay

if TYPE_CHECKING:
    from ..service import Node

log = logging.getLogger(__name__)
T = TypeVar("T")

TICK = 0.1
ADDRBOOK_SAVE_INTERVAL = 60.0
ANNOUNCE_WHILE_SYNCING = 8  # no announcements while more than this many blocks behind the best header


class P2PNetwork:
    def __init__(self, node: Node, settings: P2PSettings) -> None:
        self.node = node
        self.settings = settings
        self.params = node.params
        self.magic = node.params.message_start
        self.local_services = NODE_NETWORK | NODE_WITNESS | NODE_NETWORK_LIMITED
        self.local_nonces: set[int] = set()
        self.min_fee_filter = node.config.min_relay_fee
        datadir = node.datadir
        self.banman = BanMan(datadir / "banlist.json")
        self.addrbook = AddrBook(datadir / "peers.json")
        self.peers: dict[int, Peer] = {}
        self.connman = ConnectionManager(self)
        self.peerman = PeerManager(self)
        self.blocks = BlockSync(self)
        self.txs = TxRelay(self)
        self._view: ChainView | None = None
        self._last_announced: BlockIndex | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.closed_bytes_sent = 0
        self.closed_bytes_recv = 0
        self.started = time.time()

    @property
    def view(self) -> ChainView:
        assert self._view is not None, "P2P not started"
        return self._view

    async def call(self, fn: Callable[[], T]) -> T:
        return await self.node.call(fn)

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()

        def init() -> None:
            chain = self.node.chain
            assert chain is not None
            self._view = ChainView(chain)
            self._last_announced = chain.tip
            chain.events.tip_changed.append(self._on_tip_changed)

        await self.call(init)
        s = self.settings
        if s.listen:
            required = bool(s.bind) or s.port != 0
            await self.connman.listen(s.bind, s.port or self.params.default_port, required)
        for text in s.connect:
            if text != "0":
                self.connman.add_node(text, exclusive=True)
        for text in s.addnode:
            self.connman.add_node(text)
        self._task = asyncio.ensure_future(self._housekeeping())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.connman.close()
        await self.blocks.queue.close()
        self.addrbook.save()

        def detach() -> None:
            chain = self.node.chain
            if chain is not None and self._on_tip_changed in chain.events.tip_changed:
                chain.events.tip_changed.remove(self._on_tip_changed)

        with contextlib.suppress(RuntimeError):
            await self.call(detach)

    # --- chain events (chain thread) -------------------------------------------------------------

    def _on_tip_changed(self, tip: BlockIndex) -> None:
        view = self.view
        view.refresh()
        if view.best_header.height - tip.height > ANNOUNCE_WHILE_SYNCING:
            return  # still syncing: announce once caught up
        headers = view.headers_to_announce(tip, self._last_announced)
        self._last_announced = tip
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._announce, headers, tip.hash)

    def _announce(self, headers: list[BlockHeader] | None, tip_hash: bytes) -> None:
        self.txs.tip_changed()
        self.blocks.announce(headers, tip_hash)

    # --- peers ---------------------------------------------------------------------------------

    async def peer_closed(self, peer: Peer) -> None:
        if self.peers.pop(peer.id, None) is None:
            return
        self.local_nonces.discard(peer.version_nonce)
        self.closed_bytes_sent += peer.stats.bytes_sent
        self.closed_bytes_recv += peer.stats.bytes_recv
        had_blocks = bool(peer.in_flight) or peer.id in self.blocks.headers_catching_up
        self.blocks.release_peer(peer)
        self.txs.orphans.remove_for_peer(peer.id)
        if peer.should_discourage:
            self.banman.discourage(peer.addr)
        if had_blocks:  # hand its downloads to the others at once
            for other in list(self.peers.values()):
                await self.blocks.request_blocks(other)

    async def _housekeeping(self) -> None:
        last_slow = 0.0
        last_save = time.monotonic()
        while True:
            await asyncio.sleep(TICK)
            try:
                now = time.monotonic()
                if self.peers:
                    await self.txs.poll_mempool()
                for peer in list(self.peers.values()):
                    if peer.handshake_done and not peer.is_closed:
                        self.txs.trickle(peer, now)
                        self.peerman.flush_addrs(peer)
                if now - last_slow >= 1.0:
                    last_slow = now
                    await self._slow_tick(now)
                if now - last_save >= ADDRBOOK_SAVE_INTERVAL:
                    last_save = now
                    self.addrbook.save()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("P2P housekeeping failed (continuing)")

    async def _slow_tick(self, now: float) -> None:
        for peer in list(self.peers.values()):
            if peer.is_closed:
                continue
            self.peerman.check_timeouts(peer, now)
            self.blocks.check_timeouts(peer, now)
        self.txs.expire_requests(now)
        await self.connman.open_connections()
        for peer in list(self.peers.values()):
            if peer.handshake_done and not peer.is_closed and len(peer.in_flight) < self.settings.max_blocks_in_flight:
                await self.blocks.request_blocks(peer)

    # --- RPC views -----------------------------------------------------------------------------

    def connection_counts(self) -> tuple[int, int, int]:
        live = [p for p in self.peers.values() if not p.is_closed]
        inbound = sum(1 for p in live if p.inbound)
        return len(live), inbound, len(live) - inbound

    def totals(self) -> tuple[int, int]:
        sent = self.closed_bytes_sent + sum(p.stats.bytes_sent for p in self.peers.values())
        recv = self.closed_bytes_recv + sum(p.stats.bytes_recv for p in self.peers.values())
        return sent, recv

    def _inflight_heights(self, peer: Peer) -> list[int]:
        """Heights of the blocks asked of `peer` and not received yet (Core's `inflight`)."""
        index = self.view.chain.index
        return sorted(e.height for h in list(peer.in_flight) if (e := index.get(h)) is not None)

    def peer_info(self, peer: Peer) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "id": peer.id,
            "addr": peer.address,
            "addrbind": peer.addr_bind,
            "addrlocal": peer.addr_local,
            "network": peer.addr.network_name if not peer.addr.is_local else "not_publicly_routable",
            "services": f"{peer.services:016x}",
            "servicesnames": service_names(peer.services),
            "relaytxes": peer.relay_txs,
            "lastsend": int(peer.stats.last_send),
            "lastrecv": int(peer.stats.last_recv),
            "last_transaction": int(peer.stats.last_tx),
            "last_block": int(peer.stats.last_block),
            "bytessent": peer.stats.bytes_sent,
            "bytesrecv": peer.stats.bytes_recv,
            "conntime": int(peer.conn_time),
            "timeoffset": peer.time_offset,
            **({"pingtime": round(peer.ping_time, 6)} if peer.ping_time is not None else {}),
            **({"minping": round(peer.min_ping, 6)} if peer.min_ping is not None else {}),
            **({"pingwait": round(now - peer.ping_sent, 6)} if peer.ping_nonce else {}),
            "version": peer.version,
            "subver": peer.user_agent,
            "inbound": peer.inbound,
            "bip152_hb_to": peer.cmpct_hb_to,
            "bip152_hb_from": False,
            "startingheight": peer.start_height,
            "presynced_headers": -1,
            "synced_headers": peer.synced_headers,
            "synced_blocks": peer.synced_blocks,
            "inflight": self._inflight_heights(peer),
            "addr_relay_enabled": True,
            "addr_processed": peer.stats.addr_processed,
            "addr_rate_limited": peer.stats.addr_rate_limited,
            "permissions": ["addr"] if peer.manual else [],
            "minfeefilter": peer.fee_filter / 1e8,
            "bytessent_per_msg": dict(peer.stats.sent_per_msg),
            "bytesrecv_per_msg": dict(peer.stats.recv_per_msg),
            "connection_type": peer.conn_type,
            "transport_protocol_type": "v1",
            "session_id": "",
            "misbehavior_score": peer.misbehavior,
            "wtxidrelay": peer.wtxid_relay,
        }
