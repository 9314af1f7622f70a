"""One peer connection: framed message I/O with timeouts and byte accounting, and the per-peer
protocol state the message handlers keep.

Event-loop only. Reading: the first byte of the next message may take up to the inactivity
timeout; once it has arrived, the whole message must follow within `message_timeout` (plus time
for its size), so a slowloris peer is cut off instead of holding a slot forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import Any

from .framing import HEADER_SIZE, MessageDecoder, MessageHeader, frame
from .messages import Message
from .netaddr import AddrRecord, NetAddr, format_hostport
from .settings import P2PSettings

log = logging.getLogger(__name__)

MIN_TRANSFER_RATE = 50_000  # bytes/s a message must at least arrive at, beyond message_timeout
SEND_BUFFER_HIGH = 8_000_000
SEND_BUFFER_LOW = SEND_BUFFER_HIGH // 4  # asyncio's low-water mark for that high one: paused until below it
READ_SIZE = 1 << 18  # bytes asked of the socket per read (asyncio's selector reads up to 256 KiB)


class BoundedSet:
    """A set that forgets its oldest members beyond `limit` (Core's rolling filters)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._d: OrderedDict[bytes, None] = OrderedDict()

    def add(self, item: bytes) -> None:
        self._d[item] = None
        self._d.move_to_end(item)
        if len(self._d) > self.limit:
            self._d.popitem(last=False)

    def __contains__(self, item: object) -> bool:
        return item in self._d

    def __len__(self) -> int:
        return len(self._d)


class TokenBucket:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.stamp = rate, burst, burst, now

    def take(self, now: float, n: float = 1.0) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False


@dataclass
class InFlight:
    block_hash: bytes
    requested: float


@dataclass
class PeerStats:
    bytes_sent: int = 0
    bytes_recv: int = 0
    sent_per_msg: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    recv_per_msg: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    last_send: float = 0.0
    last_recv: float = 0.0
    last_block: float = 0.0
    last_tx: float = 0.0
    addr_processed: int = 0
    addr_rate_limited: int = 0


class Peer:
    def __init__(
        self,
        peer_id: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        addr: NetAddr,
        port: int,
        inbound: bool,
        conn_type: str,
        magic: bytes,
        settings: P2PSettings,
    ) -> None:
        self.id = peer_id
        self.reader = reader
        self.writer = writer
        self.addr = addr
        self.port = port
        self.inbound = inbound
        self.conn_type = conn_type  # inbound, outbound-full-relay, manual
        self.magic = magic
        self.settings = settings
        self.conn_time = time.time()
        self.opened = time.monotonic()
        self.version_nonce = 0
        self.version_sent = False
        self.stats = PeerStats()
        sock = writer.get_extra_info("sockname")
        self.addr_bind = format_hostport(NetAddr.from_host(sock[0]), sock[1]) if sock else ""
        with contextlib.suppress(Exception):
            writer.transport.set_write_buffer_limits(high=SEND_BUFFER_HIGH)
        self.closed = asyncio.Event()
        self._decoder = MessageDecoder(magic)
        self._message_started = 0.0
        self.disconnect_reason = ""
        # handshake
        self.version: int = 0
        self.services: int = 0
        self.user_agent = ""
        self.start_height = 0
        self.relay_txs = False
        self.version_received = False
        self.verack_received = False
        self.time_offset = 0
        self.addr_local = ""
        # negotiated features
        self.wtxid_relay = False
        self.addrv2 = False
        self.send_headers = False
        self.cmpct_version = 0
        self.cmpct_hb_to = False  # they asked us to push cmpctblock (high bandwidth)
        self.fee_filter = 0
        # keep-alive
        self.ping_nonce = 0
        self.ping_sent = 0.0
        self.ping_time: float | None = None
        self.min_ping: float | None = None
        # sync
        self.best_known_hash: bytes | None = None
        self.best_known_work = 0
        self.best_known_height = -1
        self.synced_headers = -1
        self.synced_blocks = -1
        self.headers_requested_at = 0.0
        self.unconnecting_headers = 0
        self.in_flight: dict[bytes, InFlight] = {}
        self.known_blocks = BoundedSet(2000)
        self.pending_cmpct: tuple[bytes, Any] | None = None  # (block hash, PartialBlock) awaiting blocktxn
        self.headers_task: asyncio.Task[None] | None = None  # a long headers message being accepted
        # relay
        self.known_txs = BoundedSet(50_000)
        self.tx_to_announce: dict[bytes, int] = {}  # hash to announce -> fee rate (sat/kvB)
        self.next_inv_send = 0.0
        self.getaddr_answered = False
        self.addr_known = BoundedSet(5000)
        self.addr_to_send: list[AddrRecord] = []
        now = time.monotonic()
        self.addr_bucket = TokenBucket(settings.addr_rate, 1000, now)
        self.msg_bucket = TokenBucket(settings.max_msgs_per_second, settings.max_msgs_per_second * 2, now)
        # punishment
        self.misbehavior = 0
        self.should_discourage = False
        self.manual = conn_type == "manual"

    @property
    def handshake_done(self) -> bool:
        return self.version_received and self.verack_received

    @property
    def address(self) -> str:
        return format_hostport(self.addr, self.port)

    @property
    def is_closed(self) -> bool:
        return self.closed.is_set()

    # --- I/O --------------------------------------------------------------------------------

    async def read_messages(self) -> list[tuple[MessageHeader, bytes]]:
        """The framed messages that have arrived, at least one. Raises FramingError, TimeoutError
        or IncompleteReadError.

        Reads whatever the socket has (in initial sync, many blocks at once) under one timeout:
        between messages the inactivity timeout, while a message is incomplete the time left for
        it since its first bytes arrived.
        """
        s = self.settings
        loop = asyncio.get_running_loop()
        decoder = self._decoder
        while True:
            pending = decoder.pending_length()
            if decoder.buffered:
                deadline = self._message_started + s.message_timeout + pending / MIN_TRANSFER_RATE
            else:
                deadline = loop.time() + s.inactivity_timeout
            async with asyncio.timeout_at(deadline):
                data = await self.reader.read(max(READ_SIZE, pending + HEADER_SIZE - decoder.buffered))
            if not data:
                raise asyncio.IncompleteReadError(bytes(decoder.buf), None)
            had = decoder.buffered
            messages = decoder.feed(data)
            if decoder.buffered and (messages or not had):
                self._message_started = loop.time()  # the next message began in this read
            if messages:
                stats = self.stats
                for header, _ in messages:
                    n = HEADER_SIZE + header.length
                    stats.bytes_recv += n
                    stats.recv_per_msg[header.command.decode() if header.command else "*other*"] += n
                stats.last_recv = time.time()
                return messages

    def send(self, msg: Message) -> int:
        """Queues `msg`; returns the bytes queued (0 if the connection is closing)."""
        if self.is_closed or self.writer.is_closing():
            return 0
        return self.send_raw(msg.command, msg.serialize())

    def send_raw(self, command: bytes, payload: bytes) -> int:
        """Queues a message whose payload is already serialized (e.g. a stored block)."""
        if self.is_closed or self.writer.is_closing():
            return 0
        data = frame(self.magic, command, payload)
        self.writer.write(data)
        self.stats.bytes_sent += len(data)
        self.stats.sent_per_msg[command.decode()] += len(data)
        self.stats.last_send = time.time()
        return len(data)

    async def drain(self) -> None:
        """Waits while our send buffer to this peer is above the high-water mark."""
        # Most of the time nothing is buffered: no coroutine, no timeout object then.
        if self.writer.transport.get_write_buffer_size() > SEND_BUFFER_LOW:
            async with asyncio.timeout(self.settings.send_timeout):
                await self.writer.drain()

    def disconnect(self, reason: str) -> None:
        if self.is_closed:
            return
        self.disconnect_reason = reason
        log.info("disconnecting peer=%d %s: %s", self.id, self.address, reason)
        self.closed.set()
        with contextlib.suppress(Exception):
            self.writer.close()

    def __repr__(self) -> str:
        return f"Peer({self.id}, {self.address}, {self.conn_type})"

