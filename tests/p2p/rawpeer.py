"""A minimal blocking P2P client for tests: raw bytes, or our message classes, over a socket."""

from __future__ import annotations

import socket
import time

from hashforge.consensus.params import REGTEST
from hashforge.node.p2p.framing import HEADER_SIZE, MessageHeader, frame_message
from hashforge.node.p2p.messages import Message, MsgVerack, MsgVersion, decode_payload
from hashforge.node.p2p.netaddr import AddrRecord, NetAddr


class RawPeer:
    def __init__(self, port: int, source: str = "127.0.0.1", timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
        self.magic = REGTEST.message_start

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, msg: Message) -> None:
        self.sock.sendall(frame_message(self.magic, msg))

    def _read(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def recv(self) -> Message | None:
        header = MessageHeader.parse(self.magic, self._read(HEADER_SIZE))
        return decode_payload(header.command, self._read(header.length))

    def handshake(self) -> MsgVersion:
        self.send(MsgVersion(timestamp=int(time.time()), addr_recv=AddrRecord(0, 0, NetAddr.from_host("127.0.0.1"), 1), nonce=12345, user_agent=b"/rawpeer/"))
        version = None
        while True:
            msg = self.recv()
            if isinstance(msg, MsgVersion):
                version = msg
            if isinstance(msg, MsgVerack):
                break
        self.send(MsgVerack())
        assert version is not None
        return version

    def closed_by_remote(self, timeout: float = 5.0) -> bool:
        """True once the node has closed the connection (reading everything it sends meanwhile)."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
        return False

    def close(self) -> None:
        self.sock.close()
