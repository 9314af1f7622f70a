"""Message framing: magic (network), 12-byte command, payload length, checksum (first 4 bytes of
SHA-256d of the payload), payload.

Limits (Core's): a payload over MAX_PROTOCOL_MESSAGE_LENGTH (4 MB) is a FramingError (disconnect);
so is a wrong magic. A bad checksum or a malformed command name drops that one message.
"""

from __future__ import annotations

from dataclasses import dataclass

from hashforge.consensus.hashes import hash256

from .errors import FramingError, MessageDecodeError
from .messages import Message

HEADER_SIZE = 24
COMMAND_SIZE = 12
MAX_PROTOCOL_MESSAGE_LENGTH = 4_000_000


def checksum(payload: bytes) -> bytes:
    return hash256(payload)[:4]


def encode_command(command: bytes) -> bytes:
    if len(command) > COMMAND_SIZE:
        raise ValueError(f"command {command!r} too long")
    return command.ljust(COMMAND_SIZE, b"\x00")


def frame(magic: bytes, command: bytes, payload: bytes) -> bytes:
    return magic + encode_command(command) + len(payload).to_bytes(4, "little") + checksum(payload) + payload


def frame_message(magic: bytes, msg: Message) -> bytes:
    return frame(magic, msg.command, msg.serialize())


@dataclass(frozen=True, slots=True)
class MessageHeader:
    command: bytes  # without the padding; b"" if the name was malformed
    length: int
    checksum: bytes

    @classmethod
    def parse(cls, magic: bytes, data: bytes) -> MessageHeader:
        """Raises FramingError for a wrong magic or an oversized payload."""
        if len(data) != HEADER_SIZE:
            raise FramingError("short message header")
        if data[:4] != magic:
            raise FramingError(f"wrong network magic {data[:4].hex()}")
        length = int.from_bytes(data[16:20], "little")
        if length > MAX_PROTOCOL_MESSAGE_LENGTH:
            raise FramingError(f"oversized message ({length} bytes)")
        return cls(_command_name(data[4:16]), length, data[20:24])


def _command_name(raw: bytes) -> bytes:
    """Printable ASCII followed only by NUL padding (Core's IsMessageTypeValid), else b""."""
    name = raw.rstrip(b"\x00")
    if b"\x00" in name or any(c < 0x20 or c > 0x7E for c in name):
        return b""
    return name


def check_payload(header: MessageHeader, payload: bytes) -> None:
    """Raises MessageDecodeError if the message must be dropped (bad checksum or command name)."""
    if not header.command:
        raise MessageDecodeError("malformed command name")
    if checksum(payload) != header.checksum:
        raise MessageDecodeError(f"{header.command.decode()}: bad checksum")


class MessageDecoder:
    """Splits a byte stream into (header, payload) pairs: the peer's socket reader, and the fuzz
    tests. Holds at most one incomplete message (its header says how long, at most 4 MB)."""

    def __init__(self, magic: bytes) -> None:
        self.magic = magic
        self.buf = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete message held."""
        return len(self.buf)

    def pending_length(self) -> int:
        """Payload length of the incomplete message held, once its header is in (else 0)."""
        if len(self.buf) < HEADER_SIZE:
            return 0
        return MessageHeader.parse(self.magic, bytes(self.buf[:HEADER_SIZE])).length

    def feed(self, data: bytes) -> list[tuple[MessageHeader, bytes]]:
        buf = self.buf
        buf += data
        out = []
        pos, n = 0, len(buf)
        # a cursor, one cut at the end: a read holding many small messages stays linear
        while n - pos >= HEADER_SIZE:
            header = MessageHeader.parse(self.magic, bytes(buf[pos : pos + HEADER_SIZE]))
            end = pos + HEADER_SIZE + header.length
            if n < end:
                break
            out.append((header, bytes(buf[pos + HEADER_SIZE : end])))
            pos = end
        if pos:
            del buf[:pos]
        return out
