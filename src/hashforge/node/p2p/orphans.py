"""Orphan transactions: received before their parents. Bounded in count and per-transaction
weight, expired after 20 minutes, evicted at random when full (Core's TxOrphanage).

Event-loop only.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from hashforge.consensus.tx import OutPoint, Transaction

MAX_ORPHAN_TX_WEIGHT = 400_000
ORPHAN_EXPIRE = 20 * 60


@dataclass
class Orphan:
    tx: Transaction
    peer_id: int
    expires: float


class OrphanPool:
    def __init__(self, max_orphans: int = 100, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_orphans = max_orphans
        self.clock = clock
        self.by_wtxid: dict[bytes, Orphan] = {}
        self.by_prevout: dict[OutPoint, set[bytes]] = {}

    def __len__(self) -> int:
        return len(self.by_wtxid)

    def __contains__(self, hash_: object) -> bool:
        return hash_ in self.by_wtxid or any(o.tx.txid == hash_ for o in self.by_wtxid.values())

    def add(self, tx: Transaction, peer_id: int) -> bool:
        if tx.wtxid in self.by_wtxid or tx.weight > MAX_ORPHAN_TX_WEIGHT:
            return False
        self.by_wtxid[tx.wtxid] = Orphan(tx, peer_id, self.clock() + ORPHAN_EXPIRE)
        for txin in tx.vin:
            self.by_prevout.setdefault(txin.prevout, set()).add(tx.wtxid)
        self.limit()
        return tx.wtxid in self.by_wtxid

    def remove(self, wtxid: bytes) -> None:
        orphan = self.by_wtxid.pop(wtxid, None)
        if orphan is None:
            return
        for txin in orphan.tx.vin:
            s = self.by_prevout.get(txin.prevout)
            if s is not None:
                s.discard(wtxid)
                if not s:
                    del self.by_prevout[txin.prevout]

    def remove_for_peer(self, peer_id: int) -> None:
        for w in [w for w, o in self.by_wtxid.items() if o.peer_id == peer_id]:
            self.remove(w)

    def remove_for_block(self, txs: list[Transaction]) -> None:
        """Orphans included in a block, or conflicting with one, are gone."""
        if not self.by_wtxid:
            return  # the usual case in initial sync: nothing to look up
        doomed: set[bytes] = set()
        for tx in txs:
            doomed.add(tx.wtxid)
            for txin in tx.vin:
                doomed |= self.by_prevout.get(txin.prevout, set())
        for w in doomed:
            self.remove(w)

    def children_of(self, tx: Transaction) -> list[Orphan]:
        """Orphans spending an output of `tx` (candidates to retry now that it is accepted)."""
        found: dict[bytes, Orphan] = {}
        for n in range(len(tx.vout)):
            for w in self.by_prevout.get(OutPoint(tx.txid, n), ()):
                found[w] = self.by_wtxid[w]
        return list(found.values())

    def limit(self) -> None:
        now = self.clock()
        for w in [w for w, o in self.by_wtxid.items() if o.expires <= now]:
            self.remove(w)
        while len(self.by_wtxid) > self.max_orphans:
            self.remove(random.choice(list(self.by_wtxid)))
