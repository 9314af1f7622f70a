"""Bitcoin P2P messages, one small class each (Core's test_framework/messages.py style).

Every class has its defaults, `deserialize(f)`, `serialize()` with fields in the same order, and a
repr; `command` is the name on the wire. `decode_payload` turns (command, payload) into a message,
raising only MessageDecodeError. Compact block messages (BIP152) live in compact.py.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import BinaryIO, ClassVar

from hashforge.consensus.block import Block, BlockHeader
from hashforge.consensus.serialize import (
    DeserializationError,
    deser_compact_size,
    deser_i32,
    deser_i64,
    deser_u32,
    read_exact,
    ser_compact_size,
    ser_i32,
    ser_i64,
    ser_u32,
)
from hashforge.consensus.tx import Transaction

from .errors import MessageDecodeError
from .netaddr import AddrRecord

PROTOCOL_VERSION = 70016
MIN_PEER_PROTO_VERSION = 31800
SENDHEADERS_VERSION = 70012
FEEFILTER_VERSION = 70013
SHORT_IDS_BLOCKS_VERSION = 70014
WTXID_RELAY_VERSION = 70016

NODE_NETWORK = 1 << 0
NODE_BLOOM = 1 << 2
NODE_WITNESS = 1 << 3
NODE_COMPACT_FILTERS = 1 << 6
NODE_NETWORK_LIMITED = 1 << 10
NODE_P2P_V2 = 1 << 11
SERVICE_NAMES = {
    NODE_NETWORK: "NETWORK",
    NODE_BLOOM: "BLOOM",
    NODE_WITNESS: "WITNESS",
    NODE_COMPACT_FILTERS: "COMPACT_FILTERS",
    NODE_NETWORK_LIMITED: "NETWORK_LIMITED",
    NODE_P2P_V2: "P2P_V2",
}

MSG_TX = 1
MSG_BLOCK = 2
MSG_FILTERED_BLOCK = 3
MSG_CMPCT_BLOCK = 4
MSG_WTX = 5
MSG_WITNESS_FLAG = 1 << 30
MSG_WITNESS_TX = MSG_TX | MSG_WITNESS_FLAG
MSG_WITNESS_BLOCK = MSG_BLOCK | MSG_WITNESS_FLAG

MAX_INV_SZ = 50_000
MAX_HEADERS_RESULTS = 2000
MAX_ADDR_TO_SEND = 1000
MAX_LOCATOR_SZ = 101
MAX_SUBVERSION_LENGTH = 256


def service_names(services: int) -> list[str]:
    return [name for bit, name in SERVICE_NAMES.items() if services & bit]


def _deser_bounded_count(f: BinaryIO, limit: int, what: str) -> int:
    n = deser_compact_size(f)
    if n > limit:
        raise DeserializationError(f"{what}: {n} entries, at most {limit}")
    return n


class Message:
    """Base class: subclasses set `command` and implement serialize/deserialize."""

    __slots__ = ()
    command: ClassVar[bytes] = b""

    def serialize(self) -> bytes:
        raise NotImplementedError

    @classmethod
    def deserialize(cls, f: BinaryIO) -> Message:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Inv:
    """An inventory vector (CInv)."""

    type: int = 0
    hash: bytes = b"\x00" * 32

    def serialize(self) -> bytes:
        return ser_u32(self.type) + self.hash

    @classmethod
    def deserialize(cls, f: BinaryIO) -> Inv:
        return cls(deser_u32(f), read_exact(f, 32))

    def __repr__(self) -> str:
        return f"Inv({self.type:#x}, {self.hash[::-1].hex()})"


# --- handshake and keep-alive --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MsgVersion(Message):
    command: ClassVar[bytes] = b"version"
    version: int = PROTOCOL_VERSION
    services: int = NODE_NETWORK | NODE_WITNESS
    timestamp: int = 0
    addr_recv: AddrRecord = field(default_factory=AddrRecord)
    addr_from: AddrRecord = field(default_factory=AddrRecord)
    nonce: int = 0
    user_agent: bytes = b""
    start_height: int = 0
    relay: bool = True

    def serialize(self) -> bytes:
        return (
            ser_i32(self.version)
            + self.services.to_bytes(8, "little")
            + ser_i64(self.timestamp)
            + self.addr_recv.serialize_version()
            + self.addr_from.serialize_version()
            + self.nonce.to_bytes(8, "little")
            + ser_compact_size(len(self.user_agent))
            + self.user_agent
            + ser_i32(self.start_height)
            + bytes([self.relay])
        )

    @classmethod
    def deserialize(cls, f: BinaryIO) -> MsgVersion:
        version = deser_i32(f)
        services = int.from_bytes(read_exact(f, 8), "little")
        timestamp = deser_i64(f)
        addr_recv = AddrRecord.deserialize_version(f)
        # Fields after addr_recv were optional in ancient versions; Core reads them if present.
        addr_from, nonce, user_agent, start_height, relay = AddrRecord(), 0, b"", 0, True
        rest = f.read()
        if rest:
            g = io.BytesIO(rest)
            addr_from = AddrRecord.deserialize_version(g)
            nonce = int.from_bytes(read_exact(g, 8), "little")
            n = deser_compact_size(g)
            if n > MAX_SUBVERSION_LENGTH:
                raise DeserializationError("user agent too long")
            user_agent = read_exact(g, n)
            start_height = deser_i32(g)
            flag = g.read(1)
            relay = bool(flag[0]) if flag else True
            # Anything after `relay` is ignored, as Core does (room for future fields).
        return cls(version, services, timestamp, addr_recv, addr_from, nonce, user_agent, start_height, relay)


@dataclass(frozen=True, slots=True)
class _Empty(Message):
    def serialize(self) -> bytes:
        return b""

    @classmethod
    def deserialize(cls, f: BinaryIO) -> _Empty:
        return cls()


@dataclass(frozen=True, slots=True)
class MsgVerack(_Empty):
    command: ClassVar[bytes] = b"verack"


@dataclass(frozen=True, slots=True)
class MsgGetaddr(_Empty):
    command: ClassVar[bytes] = b"getaddr"


@dataclass(frozen=True, slots=True)
class MsgSendheaders(_Empty):
    """BIP130: announce new blocks with `headers` instead of `inv`."""

    command: ClassVar[bytes] = b"sendheaders"


@dataclass(frozen=True, slots=True)
class MsgWtxidrelay(_Empty):
    """BIP339: announce and request transactions by wtxid (sent between version and verack)."""

    command: ClassVar[bytes] = b"wtxidrelay"


@dataclass(frozen=True, slots=True)
class MsgSendaddrv2(_Empty):
    """BIP155: send addresses as `addrv2` (sent between version and verack)."""

    command: ClassVar[bytes] = b"sendaddrv2"


@dataclass(frozen=True, slots=True)
class MsgMempool(_Empty):
    command: ClassVar[bytes] = b"mempool"


@dataclass(frozen=True, slots=True)
class MsgPing(Message):
    command: ClassVar[bytes] = b"ping"
    nonce: int = 0

    def serialize(self) -> bytes:
        return self.nonce.to_bytes(8, "little")

    @classmethod
    def deserialize(cls, f: BinaryIO) -> MsgPing:
        return cls(int.from_bytes(read_exact(f, 8), "little"))


@dataclass(frozen=True, slots=True)
class MsgPong(Message):
    command: ClassVar[bytes] = b"pong"
    nonce: int = 0

    def serialize(self) -> bytes:
        return self.nonce.to_bytes(8, "little")

    @classmethod
    def deserialize(cls, f: BinaryIO) -> MsgPong:
        return cls(int.from_bytes(read_exact(f, 8), "little"))


@dataclass(frozen=True, slots=True)
class MsgFeefilter(Message):
    """BIP133: do not announce transactions paying less than `feerate` sat/kvB."""

    command: ClassVar[bytes] = b"feefilter"
    feerate: int = 0

    def serialize(self) -> bytes:
        return ser_i64(self.feerate)

    @classmethod
    def deserialize(cls, f: BinaryIO) -> MsgFeefilter:
        return cls(deser_i64(f))


# --- addresses -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MsgAddr(Message):
    command: ClassVar[bytes] = b"addr"
    addrs: tuple[AddrRecord, ...] = ()

    def serialize(self) -> bytes:
        return ser_compact_size(len(self.addrs)) + b"".join(a.serialize_v1() for a in self.addrs)

    @classmethod
    def deserialize(cls, f: BinaryIO) -> MsgAddr:
        n = _deser_bounded_count(f, MAX_ADDR_TO_SEND, "addr")
        return cls(tuple(AddrRecord.deserialize_v1(f) for _ in range(n)))


@dataclass(frozen=True, slots=True)
class MsgAddrv2(Message):
    """BIP155 addresses (any network)."""

    command: ClassVar[bytes] = b"addrv2"
    addrs: tuple[AddrRecord, ...] = ()

    def serialize(self) -> bytes:
        return ser_compact_size(len(self.addrs)) + b"".join(a.serialize_v2() for a in self.addrs)

    @classmethod
    def deserialize(cls, f: BinaryIO) -> MsgAddrv2:
        n = _deser_bounded_count(f, MAX_ADDR_TO_SEND, "addrv2")
        return cls(tuple(AddrRecord.deserialize_v2(f) for _ in range(n)))


# --- inventory -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _InvList(Message):
    inventory: tuple[Inv, ...] = ()

    def serialize(self) -> bytes:
        return ser_compact_size(len(self.inventory)) + b"".join(i.serialize() for i in self.inventory)

    @classmethod
    def deserialize(cls, f: BinaryIO) -> _InvList:
        n = _deser_bounded_count(f, MAX_INV_SZ, cls.command.decode())
        return cls(tuple(Inv.deserialize(f) for _ in range(n)))


@dataclass(frozen=True, slots=True)
class MsgInv(_InvList):
    command: ClassVar[bytes] = b"inv"


@dataclass(frozen=True, slots=True)
class MsgGetdata(_InvList):
    command: ClassVar[bytes] = b"getdata"


@dataclass(frozen=True, slots=True)
class MsgNotfound(_InvList):
    command: ClassVar[bytes] = b"notfound"


# --- headers and blocks --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MsgGetheaders(Message):
    command: ClassVar[bytes] = b"getheaders"
    version: int = PROTOCOL_VERSION
    locator: tuple[bytes, ...] = ()  # block hashes, newest first
    hash_stop: bytes = b"\x00" * 32

    def serialize(self) -> bytes:
        return ser_u32(self.version) + ser_compact_size(len(self.locator)) + b"".join(self.locator) + self.hash_stop

    @classmethod
    def deserialize(cls, f: BinaryIO) -> MsgGetheaders:
        version = deser_u32(f)
        n = _deser_bounded_count(f, MAX_LOCATOR_SZ, cls.command.decode())
        locator = tuple(read_exact(f, 32) for _ in range(n))
        return cls(version, locator, read_exact(f, 32))


@dataclass(frozen=True, slots=True)
class MsgGetblocks(MsgGetheaders):
    command: ClassVar[bytes] = b"getblocks"


@dataclass(frozen=True, slots=True)
class MsgHeaders(Message):
    """Block headers, each followed by a transaction count that is always 0."""

    command: ClassVar[bytes] = b"headers"
    headers: tuple[BlockHeader, ...] = ()

    def serialize(self) -> bytes:
        return ser_compact_size(len(self.headers)) + b"".join(h.serialize() + b"\x00" for h in self.headers)

    @classmethod
    def deserialize(cls, f: BinaryIO) -> MsgHeaders:
        n = _deser_bounded_count(f, MAX_HEADERS_RESULTS, "headers")
        headers = []
        for _ in range(n):
            headers.append(BlockHeader.deserialize(f))
            if deser_compact_size(f) != 0:
                raise DeserializationError("headers: non-zero transaction count")
        return cls(tuple(headers))


@dataclass(frozen=True, slots=True)
class MsgBlock(Message):
    command: ClassVar[bytes] = b"block"
    block: Block = field(default_factory=lambda: Block(BlockHeader()))

    def serialize(self) -> bytes:
        return self.block.serialize()

    @classmethod
    def deserialize(cls, f: BinaryIO) -> MsgBlock:
        return cls(Block.deserialize(f))


@dataclass(frozen=True, slots=True)
class MsgTx(Message):
    command: ClassVar[bytes] = b"tx"
    tx: Transaction = field(default_factory=Transaction)

    def serialize(self) -> bytes:
        return self.tx.serialize_with_witness()

    @classmethod
    def deserialize(cls, f: BinaryIO) -> MsgTx:
        return cls(Transaction.deserialize(f))


MESSAGE_TYPES: dict[bytes, type[Message]] = {}


def register(*classes: type[Message]) -> None:
    for c in classes:
        MESSAGE_TYPES[c.command] = c


register(
    MsgVersion, MsgVerack, MsgGetaddr, MsgSendheaders, MsgWtxidrelay, MsgSendaddrv2, MsgMempool,
    MsgPing, MsgPong, MsgFeefilter, MsgAddr, MsgAddrv2, MsgInv, MsgGetdata, MsgNotfound,
    MsgGetheaders, MsgGetblocks, MsgHeaders, MsgBlock, MsgTx,
)


def decode_payload(command: bytes, payload: bytes) -> Message | None:
    """The message for `command` (None if the command is unknown: ignore it, as Core does).
    Raises MessageDecodeError, and nothing else, on a payload that does not decode completely."""
    cls = MESSAGE_TYPES.get(command)
    if cls is None:
        return None
    f = io.BytesIO(payload)
    try:
        msg = cls.deserialize(f)
    except (DeserializationError, ValueError, OverflowError, IndexError) as e:
        raise MessageDecodeError(f"{command.decode(errors='replace')}: {e}") from None
    if f.tell() != len(payload) and cls is not MsgVersion:
        raise MessageDecodeError(f"{command.decode()}: {len(payload) - f.tell()} trailing bytes")
    return msg
