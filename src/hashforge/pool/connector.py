"""The connector owns sockets: accept, per-IP limits, Stratum line framing, timeouts, ordered
output. It knows no Stratum method; every decoded line goes to the stratifier.

Policy for bad input (documented, tested):
- a line longer than `max_line_bytes` (16 KB): error reply 20, then disconnect;
- non-JSON or a JSON value that is not a Stratum message: error reply 20 (id null); after
  `max_protocol_errors` such lines, disconnect;
- unknown methods and bad params: error reply 20, the connection stays;
- a connection that has not subscribed and authorized a worker within `handshake_timeout` is
  closed (so sockets that never authorize cannot fill the per-IP limit); an authorized one is
  closed only after `idle_timeout` of total silence (24 h by default) or when TCP keepalive
  finds the peer dead;
- more than `max_connections_per_ip` connections from one address: refused at accept;
- share floods: see ConnectorConfig (token bucket, then disconnect).

Output order: replies leave in request order even when a share's reply waits for the recorder
(a future); notifications queue behind them. If the peer does not read (transport buffer above
its high-water mark) or too many replies are pending, reading pauses until they drain.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections import deque
from typing import Any, cast

from hashforge import jsonlimits
from hashforge.stratum import StratumErrorCode, StratumProtocolError, decode_line, error_reply

from .config import ConnectorConfig
from .pending import Pending
from .session import Session
from .stratifier import Stratifier

log = logging.getLogger(__name__)

MAX_PENDING = 4096


def _keepalive(sock: socket.socket | None) -> None:
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if hasattr(socket, "TCP_KEEPIDLE"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 120)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 30)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 6)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


def _request_id(line: bytes) -> Any:
    """The id of a malformed request when it has one, so the error reply answers it."""
    try:
        obj = jsonlimits.loads(line)
    except ValueError:
        return None
    msg_id = obj.get("id") if isinstance(obj, dict) else None
    return msg_id if isinstance(msg_id, (int, str)) and len(str(msg_id)) <= 64 else None


class StratumProtocol(asyncio.Protocol):
    def __init__(self, connector: Connector) -> None:
        self.connector = connector
        self.cfg = connector.cfg
        self.transport: asyncio.Transport | None = None
        self.session: Session | None = None
        self.ip = ""
        self.buffer = bytearray()
        self.outbox: deque[bytes | Pending] = deque()
        self.pending = 0
        self.protocol_errors = 0
        self.last_activity = time.monotonic()
        self.reading_paused = False
        self.write_paused = False
        self.closing = False

    # --- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)
        peer = self.transport.get_extra_info("peername")
        self.ip = str(peer[0]) if peer else "?"
        c = self.connector
        if c.per_ip.get(self.ip, 0) >= self.cfg.max_connections_per_ip or len(c.protocols) >= self.cfg.max_connections:
            c.metrics_disconnect("connection limit")
            self.closing = True
            self.transport.abort()
            return
        c.per_ip[self.ip] = c.per_ip.get(self.ip, 0) + 1
        c.protocols.add(self)
        _keepalive(self.transport.get_extra_info("socket"))
        self.session = c.stratifier.new_session(f"{self.ip}:{peer[1] if peer else 0}", self.send, self.close)

    def connection_lost(self, exc: Exception | None) -> None:
        c = self.connector
        if self in c.protocols:
            c.protocols.discard(self)
            n = c.per_ip.get(self.ip, 1) - 1
            if n <= 0:
                c.per_ip.pop(self.ip, None)
            else:
                c.per_ip[self.ip] = n
        if self.session is not None:
            c.stratifier.end_session(self.session)
        self.closing = True
        for item in self.outbox:
            if isinstance(item, Pending):
                item.forget()
        self.outbox.clear()

    def pause_writing(self) -> None:
        self.write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._update_reading()

    def data_received(self, data: bytes) -> None:
        if self.closing or self.session is None:
            return
        self.last_activity = time.monotonic()
        buf = self.buffer
        buf += data
        max_line = self.cfg.max_line_bytes
        start = 0
        while not self.closing:
            end = buf.find(b"\n", start)
            if end < 0:
                break
            line = bytes(buf[start:end])
            start = end + 1
            if len(line) > max_line:
                self._too_long()
                return
            self._line(line)
        del buf[:start]
        if len(buf) > max_line:
            self._too_long()

    # --- lines -----------------------------------------------------------------------------

    def _too_long(self) -> None:
        self.send(error_reply(None, StratumErrorCode.OTHER, f"line exceeds {self.cfg.max_line_bytes} bytes"))
        self.close("line too long")

    def _line(self, line: bytes) -> None:
        line = line.strip()
        if not line:
            return
        assert self.session is not None
        try:
            msg = decode_line(line, self.cfg.max_line_bytes)
        except StratumProtocolError as e:
            self.protocol_errors += 1
            self.connector.stratifier.metrics.protocol_errors.inc()
            self.send(error_reply(_request_id(line), StratumErrorCode.OTHER, str(e)[:200]))
            if self.protocol_errors >= self.cfg.max_protocol_errors:
                self.close("too many malformed lines")
            return
        try:
            out = self.connector.stratifier.handle(self.session, msg)
        except Exception:  # a bug must cost one reply, never the server
            log.exception("stratifier failed on %r", msg.get("method"))
            out = error_reply(msg.get("id"), StratumErrorCode.OTHER, "internal error")
        if out is not None:
            self._push(out)

    # --- output ----------------------------------------------------------------------------

    def send(self, line: bytes) -> None:
        if line:
            self._push(line)

    def _push(self, item: bytes | Pending) -> None:
        if self.closing or self.transport is None:
            return
        if isinstance(item, bytes) and not self.outbox:
            self.transport.write(item)
            return
        self.outbox.append(item)
        if isinstance(item, Pending):
            self.pending += 1
            item.listen(self._flush)
            self._update_reading()
        else:
            self._flush()

    def _flush(self) -> None:
        if self.transport is None or self.closing:
            return
        out = self.outbox
        chunks: list[bytes] = []
        while out:
            head = out[0]
            if isinstance(head, Pending):
                if head.data is None:
                    break
                self.pending -= 1
                chunks.append(head.data)
            else:
                chunks.append(head)
            out.popleft()
        if chunks:
            self.transport.write(b"".join(chunks))
        self._update_reading()

    def _update_reading(self) -> None:
        if self.transport is None or self.closing:
            return
        should_pause = self.write_paused or self.pending >= MAX_PENDING
        if should_pause and not self.reading_paused:
            self.transport.pause_reading()
            self.reading_paused = True
        elif not should_pause and self.reading_paused:
            self.transport.resume_reading()
            self.reading_paused = False

    def close(self, reason: str) -> None:
        if self.closing or self.transport is None:
            return
        log.info("closing %s: %s", self.session.peer if self.session else self.ip, reason)
        self.connector.metrics_disconnect(reason)
        self._flush()
        self.closing = True
        self.transport.close()


class Connector:
    """Listens on the Stratum port (and optionally a TLS port) and sweeps timeouts."""

    def __init__(self, cfg: ConnectorConfig, stratifier: Stratifier) -> None:
        self.cfg = cfg
        self.stratifier = stratifier
        self.protocols: set[StratumProtocol] = set()
        self.per_ip: dict[str, int] = {}
        self.servers: list[asyncio.base_events.Server] = []
        self._sweeper: asyncio.Task[None] | None = None

    def metrics_disconnect(self, reason: str) -> None:
        self.stratifier.metrics.disconnects.labels(reason).inc()

    @property
    def ports(self) -> list[int]:
        return [int(s.sockets[0].getsockname()[1]) for s in self.servers if s.sockets]

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: StratumProtocol(self), self.cfg.host, self.cfg.port,
                                          backlog=4096, reuse_address=True)
        self.servers.append(server)
        if self.cfg.tls_port is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            assert self.cfg.tls_cert is not None and self.cfg.tls_key is not None
            ctx.load_cert_chain(str(self.cfg.tls_cert), str(self.cfg.tls_key))
            tls = await loop.create_server(lambda: StratumProtocol(self), self.cfg.host, self.cfg.tls_port,
                                           ssl=ctx, backlog=4096, reuse_address=True)
            self.servers.append(tls)
        self._sweeper = loop.create_task(self._sweep())

    async def _sweep(self) -> None:
        interval = max(0.5, min(30.0, self.cfg.handshake_timeout / 4))
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for p in list(self.protocols):
                s = p.session
                if s is None:
                    continue
                idle = now - p.last_activity
                if not s.workers and now - s.connected_at_mono >= self.cfg.handshake_timeout:
                    p.close("no authorized worker within the handshake timeout")
                elif idle >= self.cfg.idle_timeout:
                    p.close("idle timeout")
            self.stratifier.tick()

    def stop_accepting(self) -> None:
        for s in self.servers:
            s.close()

    async def stop(self) -> None:
        self.stop_accepting()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for p in list(self.protocols):
            p.close("shutdown")
        for s in self.servers:
            await s.wait_closed()
