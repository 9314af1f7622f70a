"""Network addresses: BIP155 networks, the legacy 16-byte form, and the `addr`/`addrv2` records."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import IntEnum
from typing import BinaryIO

from hashforge.consensus.serialize import (
    DeserializationError,
    deser_compact_size,
    deser_u32,
    read_exact,
    ser_compact_size,
    ser_u32,
)

IPV4_IN_IPV6_PREFIX = b"\x00" * 10 + b"\xff\xff"
MAX_ADDRV2_SIZE = 512  # BIP155: longer addresses are rejected while decoding


class Network(IntEnum):
    """BIP155 network ids."""

    IPV4 = 1
    IPV6 = 2
    TORV2 = 3  # obsolete: decoded, never used
    TORV3 = 4
    I2P = 5
    CJDNS = 6


ADDR_SIZES = {Network.IPV4: 4, Network.IPV6: 16, Network.TORV2: 10, Network.TORV3: 32, Network.I2P: 32, Network.CJDNS: 16}


@dataclass(frozen=True, slots=True)
class NetAddr:
    """An address on one network (no port): `addr` holds ADDR_SIZES[net] bytes for known networks."""

    net: int = Network.IPV4
    addr: bytes = b"\x00\x00\x00\x00"

    @classmethod
    def from_host(cls, host: str) -> NetAddr:
        ip = ipaddress.ip_address(host.strip("[]"))
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if isinstance(ip, ipaddress.IPv4Address):
            return cls(Network.IPV4, ip.packed)
        return cls(Network.IPV6, ip.packed)

    @classmethod
    def from_v1(cls, ip16: bytes) -> NetAddr:
        """The legacy 16-byte form: IPv4 as ::ffff:a.b.c.d, everything else IPv6."""
        if ip16[:12] == IPV4_IN_IPV6_PREFIX:
            return cls(Network.IPV4, ip16[12:])
        return cls(Network.IPV6, ip16)

    def to_v1(self) -> bytes:
        """The legacy 16-byte form (all-zero for networks that have none)."""
        if self.net == Network.IPV4:
            return IPV4_IN_IPV6_PREFIX + self.addr
        if self.net in (Network.IPV6, Network.CJDNS):
            return self.addr
        return b"\x00" * 16

    @property
    def is_ip(self) -> bool:
        return self.net in (Network.IPV4, Network.IPV6)

    @property
    def host(self) -> str:
        if self.net == Network.IPV4:
            return str(ipaddress.IPv4Address(self.addr))
        if self.net in (Network.IPV6, Network.CJDNS) and len(self.addr) == 16:
            return str(ipaddress.IPv6Address(self.addr))
        return f"{Network(self.net).name.lower() if self.net in ADDR_SIZES else self.net}:{self.addr.hex()}"

    @property
    def network_name(self) -> str:
        """getpeerinfo's `network`."""
        return {Network.IPV4: "ipv4", Network.IPV6: "ipv6", Network.TORV3: "onion", Network.I2P: "i2p", Network.CJDNS: "cjdns"}.get(
            Network(self.net) if self.net in ADDR_SIZES else Network.IPV4, "not_publicly_routable"
        )

    def _ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        if self.net == Network.IPV4 and len(self.addr) == 4:
            return ipaddress.IPv4Address(self.addr)
        if self.net == Network.IPV6 and len(self.addr) == 16:
            return ipaddress.IPv6Address(self.addr)
        return None

    @property
    def is_local(self) -> bool:
        """Loopback (Core's IsLocal): such peers are disconnected but never discouraged."""
        ip = self._ip()
        return ip is not None and (ip.is_loopback or ip.is_unspecified)

    @property
    def is_routable(self) -> bool:
        """Worth storing from gossip and dialling automatically (Core's IsRoutable, roughly)."""
        ip = self._ip()
        if ip is None:
            return self.net in (Network.TORV3, Network.I2P, Network.CJDNS)
        return ip.is_global

    def __str__(self) -> str:
        return self.host


def format_hostport(addr: NetAddr, port: int) -> str:
    return f"[{addr.host}]:{port}" if addr.net == Network.IPV6 else f"{addr.host}:{port}"


def parse_hostport(text: str, default_port: int) -> tuple[str, int]:
    """"host", "host:port", "[v6]:port" or "v6" -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else default_port
    elif text.count(":") == 1:
        host, _, p = text.partition(":")
        port = int(p)
    else:
        host, port = text, default_port
    if not host or not 0 < port < 65536:
        raise ValueError(f"bad address {text!r}")
    return host, port


@dataclass(frozen=True, slots=True)
class AddrRecord:
    """A peer address as gossiped: `addr` (v1, time first) and `addrv2` (BIP155) encodings, and
    the time-less form inside `version`."""

    time: int = 0
    services: int = 0
    addr: NetAddr = NetAddr()
    port: int = 0

    # --- `version` form: services, 16-byte ip, port (big-endian) --------------------------

    def serialize_version(self) -> bytes:
        return self.services.to_bytes(8, "little") + self.addr.to_v1() + self.port.to_bytes(2, "big")

    @classmethod
    def deserialize_version(cls, f: BinaryIO) -> AddrRecord:
        services = int.from_bytes(read_exact(f, 8), "little")
        addr = NetAddr.from_v1(read_exact(f, 16))
        return cls(0, services, addr, int.from_bytes(read_exact(f, 2), "big"))

    # --- `addr` form -----------------------------------------------------------------------

    def serialize_v1(self) -> bytes:
        return ser_u32(self.time) + self.serialize_version()

    @classmethod
    def deserialize_v1(cls, f: BinaryIO) -> AddrRecord:
        time = deser_u32(f)
        r = cls.deserialize_version(f)
        return cls(time, r.services, r.addr, r.port)

    # --- `addrv2` form (BIP155) ------------------------------------------------------------

    def serialize_v2(self) -> bytes:
        return (
            ser_u32(self.time)
            + ser_compact_size(self.services)
            + bytes([self.addr.net])
            + ser_compact_size(len(self.addr.addr))
            + self.addr.addr
            + self.port.to_bytes(2, "big")
        )

    @classmethod
    def deserialize_v2(cls, f: BinaryIO) -> AddrRecord:
        time = deser_u32(f)
        services = deser_compact_size(f, range_check=False)
        net = read_exact(f, 1)[0]
        size = deser_compact_size(f)
        if size > MAX_ADDRV2_SIZE:
            raise DeserializationError(f"addrv2 address too long ({size} bytes)")
        raw = read_exact(f, size)
        if net in ADDR_SIZES and size != ADDR_SIZES[Network(net)]:
            raise DeserializationError(f"addrv2 address of network {net} has wrong size {size}")
        port = int.from_bytes(read_exact(f, 2), "big")
        return cls(time, services, NetAddr(net, raw), port)

    @property
    def v1_compatible(self) -> bool:
        return self.addr.net in (Network.IPV4, Network.IPV6)

    def __repr__(self) -> str:
        return f"AddrRecord({format_hostport(self.addr, self.port)}, services={self.services:#x}, time={self.time})"
