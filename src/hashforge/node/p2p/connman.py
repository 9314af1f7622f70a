"""Connections (Core's CConnman): listening sockets, inbound limits and eviction, outbound
connections from the address book, added nodes (`--addnode`, RPC addnode) and `--connect`.

Event-loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .netaddr import NetAddr, parse_hostport
from .peer import Peer

if TYPE_CHECKING:
    from .network import P2PNetwork

log = logging.getLogger(__name__)
T = TypeVar("T")

EVICTION_PROTECT = 4  # per criterion: lowest ping, latest block, latest transaction


@dataclass
class AddedNode:
    text: str  # as the user gave it
    host: str
    port: int
    last_try: float = 0.0
    peer_id: int | None = None
    exclusive: bool = False  # from --connect


class ConnectionManager:
    def __init__(self, net: P2PNetwork) -> None:
        self.net = net
        self.servers: list[asyncio.Server] = []
        self.listen_addrs: list[tuple[str, int]] = []
        self.added: dict[str, AddedNode] = {}
        self._next_id = 0
        self._dialing: set[tuple[str, int]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.network_active = True

    # --- listening ---------------------------------------------------------------------------

    async def listen(self, hosts: list[str], port: int, required: bool) -> None:
        for host in hosts or [""]:
            try:
                server = await asyncio.start_server(self._accept, host or None, port, reuse_address=True, limit=2**16)
            except OSError as e:
                if required:
                    raise
                log.warning("P2P: cannot listen on %s:%d (%s); continuing without inbound connections there", host or "*", port, e)
                continue
            self.servers.append(server)
            for sock in server.sockets:
                addr = sock.getsockname()
                self.listen_addrs.append((addr[0], addr[1]))
            log.info("P2P listening on %s", ", ".join(f"{h}:{p}" for h, p in self.listen_addrs))

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        try:
            addr = NetAddr.from_host(peername[0])
        except (ValueError, TypeError, IndexError):
            writer.close()
            return
        net = self.net
        reason = None
        if not self.network_active:
            reason = "network not active"
        elif net.banman.is_banned(addr):
            reason = "banned"
        elif net.banman.is_discouraged(addr) and self.inbound_count() + 1 >= net.settings.max_inbound:
            reason = "discouraged"
        elif self.inbound_count() >= net.settings.max_inbound and not self._evict_one():
            reason = "inbound slots full"
        if reason is not None:
            log.info("refusing inbound connection from %s: %s", addr, reason)
            writer.close()
            return
        self._start_peer(reader, writer, addr, peername[1], inbound=True, conn_type="inbound")

    def inbound_count(self) -> int:
        return sum(1 for p in self.net.peers.values() if p.inbound and not p.is_closed)

    def _evict_one(self) -> bool:
        """Core's AttemptToEvictConnection, simplified: keep the best peers by ping, by recent
        blocks and by recent transactions; of the rest, drop the youngest."""
        candidates = [p for p in self.net.peers.values() if p.inbound and not p.is_closed and not p.manual]
        for key in (
            lambda p: p.min_ping if p.min_ping is not None else 1e9,
            lambda p: -p.stats.last_block,
            lambda p: -p.stats.last_tx,
        ):
            candidates.sort(key=key)
            candidates = candidates[EVICTION_PROTECT:]
        if not candidates:
            return False
        victim = max(candidates, key=lambda p: (not p.handshake_done, p.conn_time))
        victim.disconnect("evicted to make room for an inbound connection")
        return True

    # --- outbound ----------------------------------------------------------------------------

    async def connect(self, host: str, port: int, conn_type: str) -> Peer | None:
        key = (host, port)
        if key in self._dialing or not self.network_active:
            return None
        try:
            addr = NetAddr.from_host(host)
        except ValueError:
            addr = None
        if addr is not None and any(p.addr == addr and p.port == port and not p.is_closed for p in self.net.peers.values()):
            return None
        self._dialing.add(key)
        try:
            if addr is not None:
                self.net.addrbook.attempt(addr, port)
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, limit=2**16), self.net.settings.connect_timeout
            )
        except (OSError, TimeoutError) as e:
            log.info("cannot connect to %s:%d: %s", host, port, e)
            return None
        finally:
            self._dialing.discard(key)
        peername = writer.get_extra_info("peername")
        with contextlib.suppress(OSError):
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._start_peer(reader, writer, NetAddr.from_host(peername[0]), peername[1], inbound=False, conn_type=conn_type)

    def _start_peer(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, addr: NetAddr, port: int, inbound: bool, conn_type: str
    ) -> Peer:
        self._next_id += 1
        peer = Peer(self._next_id, reader, writer, addr, port, inbound, conn_type, self.net.magic, self.net.settings)
        self.net.peers[peer.id] = peer
        self.spawn(self.net.peerman.run(peer))
        return peer

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Runs `coro` as a task that `close` waits for (and cancels after a while)."""
        task: asyncio.Task[T] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- added nodes and --connect -----------------------------------------------------------

    def add_node(self, text: str, exclusive: bool = False) -> AddedNode:
        host, port = parse_hostport(text, self.net.params.default_port)
        node = AddedNode(text, host, port, exclusive=exclusive)
        self.added[text] = node
        return node

    def remove_node(self, text: str) -> bool:
        return self.added.pop(text, None) is not None

    def added_connected(self, node: AddedNode) -> Peer | None:
        peer = self.net.peers.get(node.peer_id) if node.peer_id is not None else None
        return peer if peer is not None and not peer.is_closed else None

    async def open_connections(self) -> None:
        """Once a second: (re)connect added nodes; fill outbound slots from the address book."""
        now = time.monotonic()
        s = self.net.settings
        for node in list(self.added.values()):
            if self.added_connected(node) is None and now - node.last_try >= s.addnode_retry:
                node.last_try = now
                self.spawn(self._connect_added(node))
        if s.connect_only or not self.network_active:
            return
        outbound = [p for p in self.net.peers.values() if p.conn_type == "outbound-full-relay" and not p.is_closed]
        if len(outbound) + len(self._dialing) >= s.max_outbound:
            return
        exclude = {(p.addr, p.port) for p in self.net.peers.values()}
        info = self.net.addrbook.select(exclude, routable_only=not s.dial_local)
        if info is not None and not self.net.banman.is_banned(info.netaddr) and not self.net.banman.is_discouraged(info.netaddr):
            self.spawn(self.connect(info.netaddr.host, info.port, "outbound-full-relay"))

    async def _connect_added(self, node: AddedNode) -> None:
        peer = await self.connect(node.host, node.port, "manual")
        if peer is not None:
            node.peer_id = peer.id

    async def onetry(self, text: str) -> Peer | None:
        host, port = parse_hostport(text, self.net.params.default_port)
        return await self.connect(host, port, "manual")

    # --- shutdown ----------------------------------------------------------------------------

    async def close(self) -> None:
        for server in self.servers:
            server.close()
        for peer in list(self.net.peers.values()):
            peer.disconnect("shutting down")
        tasks = list(self._tasks)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=5)
            for t in pending:
                t.cancel()
        for server in self.servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)
