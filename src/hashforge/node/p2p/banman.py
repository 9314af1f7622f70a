"""Bans (by the operator: setban; persisted as banlist.json) and discouragement (misbehaving
peers: kept in memory only, like Core's rolling filter).

Event-loop only.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .netaddr import NetAddr

log = logging.getLogger(__name__)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_DISCOURAGED = 50_000


def parse_subnet(text: str) -> IPNetwork:
    """"1.2.3.4", "1.2.3.0/24", "::1", "fe80::/10" (raises ValueError)."""
    net = ipaddress.ip_network(text.strip().strip("[]"), strict=False)
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96 and net.network_address.ipv4_mapped is not None:
        net = ipaddress.ip_network(f"{net.network_address.ipv4_mapped}/{net.prefixlen - 96}")
    return net


@dataclass
class BanEntry:
    subnet: IPNetwork
    created: int
    until: int


class BanMan:
    def __init__(self, path: Path | None, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self.bans: dict[IPNetwork, BanEntry] = {}
        self.discouraged: OrderedDict[NetAddr, None] = OrderedDict()
        self.load()

    # --- bans ------------------------------------------------------------------------------

    def ban(self, subnet: IPNetwork, ban_time: int, absolute: bool = False) -> None:
        now = int(self.clock())
        until = ban_time if absolute else now + ban_time
        self.bans[subnet] = BanEntry(subnet, now, until)
        self.save()

    def unban(self, subnet: IPNetwork) -> bool:
        found = self.bans.pop(subnet, None) is not None
        if found:
            self.save()
        return found

    def clear(self) -> None:
        self.bans.clear()
        self.discouraged.clear()
        self.save()

    def sweep(self) -> None:
        now = self.clock()
        expired = [s for s, e in self.bans.items() if e.until <= now]
        for s in expired:
            del self.bans[s]
        if expired:
            self.save()

    def is_banned(self, addr: NetAddr) -> bool:
        if not addr.is_ip:
            return False
        self.sweep()
        ip = ipaddress.ip_address(addr.addr)
        return any(ip.version == s.version and ip in s for s in self.bans)

    def list(self) -> list[BanEntry]:
        self.sweep()
        return sorted(self.bans.values(), key=lambda e: (e.subnet.version, e.subnet))

    # --- discouragement --------------------------------------------------------------------

    def discourage(self, addr: NetAddr) -> None:
        self.discouraged[addr] = None
        self.discouraged.move_to_end(addr)
        while len(self.discouraged) > MAX_DISCOURAGED:
            self.discouraged.popitem(last=False)

    def is_discouraged(self, addr: NetAddr) -> bool:
        return addr in self.discouraged

    # --- persistence -----------------------------------------------------------------------

    def load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text())
            for item in data.get("banned", []):
                subnet = parse_subnet(item["subnet"])
                self.bans[subnet] = BanEntry(subnet, int(item["created"]), int(item["until"]))
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.warning("ignoring unreadable ban list %s: %s", self.path, e)
        self.sweep()

    def save(self) -> None:
        if self.path is None:
            return
        data = {"banned": [{"subnet": str(e.subnet), "created": e.created, "until": e.until} for e in self.bans.values()]}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, self.path)
