"""The WebSocket<->Stratum bridge: browser miners speak Stratum v1 over a WebSocket, one JSON
message per text frame, and become ordinary pool workers.

Nothing Stratum-specific is re-implemented here: each WebSocket gets the connector's own
StratumProtocol behind an adapter transport (real peer address, flow control), so the limits,
flood policy, timeouts, metrics and disconnect reasons are the TCP server's. Frame rules:
- a text frame is one line (a trailing newline is allowed); the line-length limit applies to
  its UTF-8 bytes: longer is error reply 20, then disconnect ("line too long");
- a binary frame is a malformed line (error reply 20, counted toward `max_protocol_errors`);
- several lines written at once by the stratifier leave as one frame each.
The handshake is refused (HTTP 403) when the Origin header is not one of the allowed origins:
`ws_origins` (exact origins, such as the dashboard's; `hashforge up` passes its own), "*" for any,
and by default only loopback pages on this port. The Host header proves nothing (a DNS-rebinding
page names its own host in both), so it is never compared. Clients that send no Origin (not
browsers) are let in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from hashforge.stratum import StratumErrorCode, error_reply

from .connector import Connector, StratumProtocol

log = logging.getLogger(__name__)

HIGH_WATER = 256 * 1024  # queued outgoing bytes above which the protocol stops reading
LOW_WATER = 64 * 1024


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def loopback_origins(port: int) -> tuple[str, ...]:
    """The default allowed origins: pages served from this machine's loopback names on `port`."""
    return tuple(f"{scheme}://{host}:{port}" for scheme in ("http", "https") for host in LOOPBACK_HOSTS)


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether a handshake with this Origin may proceed (see the module docstring)."""
    if origin is None:
        return True
    if "*" in allowed:
        return True
    return origin.strip().rstrip("/").lower() in {a.strip().rstrip("/").lower() for a in allowed}


class WsTransport(asyncio.Transport):
    """What StratumProtocol writes to: bytes (one or more lines) out as text frames, in order."""

    def __init__(self, ws: ServerConnection, protocol: StratumProtocol) -> None:
        super().__init__()
        self.ws = ws
        self.protocol = protocol
        self.frames: deque[str] = deque()
        self.queued = 0
        self.wakeup = asyncio.Event()
        self.reading = asyncio.Event()
        self.reading.set()
        self.closing = False
        self.aborted = False
        self.write_paused = False
        self.writer = asyncio.get_running_loop().create_task(self._write_loop())

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peername":
            return self.ws.remote_address
        if name == "websocket":
            return self.ws
        return default  # no "socket": the TCP keepalive is replaced by WebSocket pings

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.closing:
            return
        for line in bytes(data).split(b"\n"):
            if line:
                text = line.decode("utf-8", "replace")
                self.frames.append(text)
                self.queued += len(line)
        self.wakeup.set()
        if self.queued > HIGH_WATER and not self.write_paused:
            self.write_paused = True
            self.protocol.pause_writing()

    def pause_reading(self) -> None:
        self.reading.clear()

    def resume_reading(self) -> None:
        self.reading.set()

    def is_reading(self) -> bool:
        return self.reading.is_set()

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        """Send what is queued, then close the WebSocket."""
        self.closing = True
        self.reading.set()
        self.wakeup.set()

    def abort(self) -> None:
        self.closing = self.aborted = True
        self.frames.clear()
        self.reading.set()
        self.wakeup.set()

    async def _write_loop(self) -> None:
        ws = self.ws
        try:
            while True:
                while self.frames:
                    frame = self.frames.popleft()
                    self.queued -= len(frame)
                    await ws.send(frame)
                    if self.write_paused and self.queued <= LOW_WATER:
                        self.write_paused = False
                        self.protocol.resume_writing()
                if self.closing:
                    break
                self.wakeup.clear()
                await self.wakeup.wait()
        except ConnectionClosed:
            pass
        finally:
            self.closing = True
            if self.aborted:
                ws.transport.abort()
            else:
                await ws.close(1008 if self.protocol.closing else 1000)  # 1008: the pool's policy closed it


class WsStratumProtocol(StratumProtocol):
    """StratumProtocol fed by frames instead of a byte stream."""

    def frame_received(self, frame: str | bytes) -> None:
        if self.closing or self.session is None:
            return
        self.last_activity = time.monotonic()
        if isinstance(frame, bytes):
            self.protocol_errors += 1
            self.connector.stratifier.metrics.protocol_errors.inc()
            self.send(error_reply(None, StratumErrorCode.OTHER, "binary frames are not Stratum; send JSON text"))
            if self.protocol_errors >= self.cfg.max_protocol_errors:
                self.close("too many malformed lines")
            return
        line = frame.encode("utf-8")
        if line.endswith(b"\n"):
            line = line[:-1]
        if len(line) > self.cfg.max_line_bytes:
            self._too_long()
            return
        self._line(line)


class WebSocketBridge:
    """Serves Stratum over WebSocket on (host, port), sharing the connector's sessions and limits."""

    def __init__(self, connector: Connector, host: str, port: int, origins: tuple[str, ...] = ()) -> None:
        self.connector = connector
        self.host = host
        self.port = port
        self.origins = origins  # () until start(): loopback pages on the bound port
        self.server: Server | None = None

    @property
    def bound_port(self) -> int:
        assert self.server is not None
        return int(next(iter(self.server.sockets)).getsockname()[1])

    def _check_origin(self, conn: ServerConnection, request: Request) -> Response | None:
        origin = request.headers.get("Origin")
        if origin_allowed(origin, self.origins):
            return None
        log.info("websocket from %s refused: origin %r not allowed", conn.remote_address, origin)
        self.connector.metrics_disconnect("origin not allowed")
        return conn.respond(HTTPStatus.FORBIDDEN, f"origin {origin} is not allowed\n")

    async def start(self) -> None:
        # Frames a bit over the line limit still get the TCP server's error reply; far larger
        # ones are cut off by the library (close 1009) before they are buffered.
        self.server = await serve(
            self._handle, self.host, self.port, process_request=self._check_origin,
            max_size=self.connector.cfg.max_line_bytes * 4, max_queue=64, compression=None,
            ping_interval=30, ping_timeout=60, server_header=None,
        )
        self.origins = self.origins or loopback_origins(self.bound_port)

    async def _handle(self, ws: ServerConnection) -> None:
        proto = WsStratumProtocol(self.connector)
        transport = WsTransport(ws, proto)
        proto.connection_made(transport)
        try:
            # After the pool closed the session, frames are still read (and dropped) so the
            # peer's close frame is seen and the closing handshake completes at once.
            while not transport.aborted:
                await transport.reading.wait()
                frame = await ws.recv()
                if not proto.closing:
                    proto.frame_received(frame)
        except ConnectionClosed as e:
            if e.rcvd is None and e.sent is not None and e.sent.code == 1009:
                self.connector.metrics_disconnect("line too long")
        finally:
            transport.close()
            with contextlib.suppress(Exception):
                await transport.writer
            proto.connection_lost(None)

    def stop_accepting(self) -> None:
        """Close the listening socket now (as Connector.stop_accepting does for TCP); sessions stay
        open, so they still get the shutdown's client.reconnect, and a handshake under way is
        answered 503. `Server.close()` would only schedule this, and close the sessions too."""
        if self.server is not None:
            self.server.server.close()

    async def stop(self) -> None:
        self.stop_accepting()
        if self.server is not None:
            self.server.close(close_connections=True)
            await self.server.wait_closed()
