"""The address book (a much simplified addrman): addresses learned from peers and from our own
connections, persisted as peers.json in the datadir.

Event-loop only. Not bucketed like Core's addrman: a bounded table where addresses that failed
often, or were not heard of for 30 days, are dropped first.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from .netaddr import AddrRecord, NetAddr

log = logging.getLogger(__name__)

MAX_ENTRIES = 20_000
HORIZON = 30 * 24 * 60 * 60
MAX_FAILURES = 10


@dataclass
class AddrInfo:
    net: int
    addr: str  # hex
    port: int
    services: int
    time: int  # last heard of
    last_try: int = 0
    last_success: int = 0
    attempts: int = 0
    source: str = ""

    @property
    def netaddr(self) -> NetAddr:
        return NetAddr(self.net, bytes.fromhex(self.addr))

    def record(self) -> AddrRecord:
        return AddrRecord(self.time, self.services, self.netaddr, self.port)

    def is_terrible(self, now: int) -> bool:
        if self.last_try and now - self.last_try < 60:
            return False
        if self.time > now + 10 * 60 or now - self.time > HORIZON:
            return True
        return (self.last_success == 0 and self.attempts >= 3) or self.attempts >= MAX_FAILURES


class AddrBook:
    def __init__(self, path: Path | None, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self.entries: dict[tuple[NetAddr, int], AddrInfo] = {}
        self.dirty = False
        self.load()

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, records: Iterable[AddrRecord], source: str = "") -> int:
        """Adds or refreshes addresses; returns how many were new."""
        now = int(self.clock())
        new = 0
        for r in records:
            if r.port == 0:
                continue
            key = (r.addr, r.port)
            t = r.time if 100_000_000 < r.time <= now + 600 else now - 5 * 24 * 60 * 60
            info = self.entries.get(key)
            if info is None:
                self.entries[key] = AddrInfo(r.addr.net, r.addr.addr.hex(), r.port, r.services, t, source=source)
                new += 1
            else:
                info.time = max(info.time, t)
                info.services |= r.services
        if new:
            self._trim(now)
        self.dirty = self.dirty or bool(new)
        return new

    def attempt(self, addr: NetAddr, port: int) -> None:
        info = self.entries.get((addr, port))
        if info is not None:
            info.last_try = int(self.clock())
            info.attempts += 1
            self.dirty = True

    def good(self, addr: NetAddr, port: int, services: int) -> None:
        """A connection to this address completed its handshake."""
        now = int(self.clock())
        key = (addr, port)
        info = self.entries.get(key)
        if info is None:
            info = self.entries[key] = AddrInfo(addr.net, addr.addr.hex(), port, services, now, source="connected")
        info.time = info.last_success = info.last_try = now
        info.attempts = 0
        info.services = services
        self.dirty = True

    def select(self, exclude: set[tuple[NetAddr, int]], routable_only: bool) -> AddrInfo | None:
        """A random address worth trying (never one tried in the last 10 minutes)."""
        now = int(self.clock())
        pool = [
            i for k, i in self.entries.items()
            if k not in exclude and i.netaddr.is_ip and (i.netaddr.is_routable or not routable_only)
            and now - i.last_try > 600 and not i.is_terrible(now)
        ]
        if not pool:
            return None
        # prefer addresses that worked before
        good = [i for i in pool if i.last_success]
        return random.choice(good if good and random.random() < 0.5 else pool)

    def sample(self, n: int) -> list[AddrRecord]:
        now = int(self.clock())
        items = [i for i in self.entries.values() if not i.is_terrible(now)]
        return [i.record() for i in random.sample(items, min(n, len(items)))]

    def _trim(self, now: int) -> None:
        if len(self.entries) <= MAX_ENTRIES:
            return
        ranked = sorted(self.entries.items(), key=lambda kv: (not kv[1].is_terrible(now), kv[1].last_success, kv[1].time))
        for key, _ in ranked[: len(self.entries) - MAX_ENTRIES]:
            del self.entries[key]

    # --- persistence -----------------------------------------------------------------------

    def load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text())
            for item in data.get("addresses", []):
                info = AddrInfo(**item)
                self.entries[(info.netaddr, info.port)] = info
        except (OSError, ValueError, TypeError) as e:
            log.warning("ignoring unreadable address book %s: %s", self.path, e)

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": 1, "addresses": [asdict(i) for i in self.entries.values()]}))
        os.replace(tmp, self.path)
        self.dirty = False
