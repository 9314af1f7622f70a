"""Transactions: requesting announced ones, accepting them into the mempool, orphans, serving
them, and announcing mempool additions with Poisson-timed trickling (BIP339 wtxids, BIP133 fee
filters).

Event-loop only. Whatever enters the mempool, from a peer or from sendrawtransaction, is found by
polling `Mempool.transactions_updated` and announced to every peer that does not know it yet.
"""

from __future__ import annotations

import logging
import random
import time
from typing import TYPE_CHECKING

from hashforge.consensus.block import Block
from hashforge.consensus.tx import Transaction, TxIn

from ..mempool_accept import MempoolAcceptResult, TxResult
from .messages import MSG_TX, MSG_WITNESS_TX, MSG_WTX, Inv, MsgGetdata, MsgInv, MsgNotfound, MsgTx
from .orphans import OrphanPool
from .peer import BoundedSet, Peer

if TYPE_CHECKING:
    from .network import P2PNetwork

log = logging.getLogger(__name__)

TX_REQUEST_TIMEOUT = 60.0
MAX_INV_PER_SEND = 1000
MAX_PEER_TX_REQUESTS = 5000


def strip_witness(tx: Transaction) -> Transaction:
    return Transaction(tx.version, tuple(TxIn(i.prevout, i.script_sig, i.sequence) for i in tx.vin), tx.vout, tx.locktime)


class TxRelay:
    def __init__(self, net: P2PNetwork) -> None:
        self.net = net
        self.requested: dict[bytes, tuple[int, float]] = {}  # txid or wtxid -> (peer id, when)
        self.recent_rejects = BoundedSet(120_000)
        self.orphans = OrphanPool(net.settings.max_orphans)
        self._mempool_version = -1
        self._announced: set[bytes] = set()  # mempool txids already queued for announcement

    # --- announcements in ----------------------------------------------------------------------

    async def on_inv(self, peer: Peer, invs: list[Inv]) -> None:
        wanted_type = MSG_WTX if peer.wtxid_relay else MSG_TX
        hashes = [i.hash for i in invs if i.type == wanted_type]
        for h in hashes:
            peer.known_txs.add(h)
        now = time.monotonic()
        fresh = [
            h for h in hashes
            if h not in self.recent_rejects and h not in self.orphans
            and not (h in self.requested and now - self.requested[h][1] < TX_REQUEST_TIMEOUT)
        ]
        if not fresh or len(self.requested) > MAX_PEER_TX_REQUESTS * 10:
            return
        pool = self.net.node.mempool
        have = await self.net.call(lambda: {h for h in fresh if h in pool.entries or pool.get_by_wtxid(h) is not None})
        want = [h for h in fresh if h not in have][:MAX_PEER_TX_REQUESTS]
        if want:
            for h in want:
                self.requested[h] = (peer.id, now)
            kind = MSG_WTX if peer.wtxid_relay else MSG_WITNESS_TX
            peer.send(MsgGetdata(tuple(Inv(kind, h) for h in want)))

    def on_notfound(self, peer: Peer, msg: MsgNotfound) -> None:
        for inv in msg.inventory:
            if self.requested.get(inv.hash, (None,))[0] == peer.id:
                del self.requested[inv.hash]

    # --- transactions in -----------------------------------------------------------------------

    async def on_tx(self, peer: Peer, tx: Transaction) -> None:
        peer.known_txs.add(tx.txid)
        peer.known_txs.add(tx.wtxid)
        peer.stats.last_tx = time.time()
        self.requested.pop(tx.wtxid, None)
        self.requested.pop(tx.txid, None)
        if tx.wtxid in self.recent_rejects or tx.wtxid in self.orphans.by_wtxid:
            return
        pool = self.net.node.mempool
        if await self.net.call(lambda: tx.txid in pool.entries):
            return
        result = await self.net.call(lambda: pool.accept(tx))
        if result.allowed:
            await self._process_orphans(tx)
            return
        if result.result is TxResult.MISSING_INPUTS:
            await self._handle_orphan(peer, tx)
        elif result.result is not TxResult.RECONSIDERABLE:
            self.recent_rejects.add(tx.wtxid)
            if result.result not in (TxResult.WITNESS_STRIPPED, TxResult.WITNESS_MUTATED):
                self.recent_rejects.add(tx.txid)

    async def _handle_orphan(self, peer: Peer, tx: Transaction) -> None:
        parents = {i.prevout.hash for i in tx.vin}
        if any(p in self.recent_rejects for p in parents):
            self.recent_rejects.add(tx.wtxid)  # a parent was rejected: so is this one
            return
        if not self.orphans.add(tx, peer.id):
            return
        pool = self.net.node.mempool
        missing = await self.net.call(lambda: [p for p in parents if p not in pool.entries])
        now = time.monotonic()
        ask = [p for p in missing if p not in self.requested]
        for p in ask:
            self.requested[p] = (peer.id, now)
        if ask:
            peer.send(MsgGetdata(tuple(Inv(MSG_WITNESS_TX, p) for p in ask)))

    async def _process_orphans(self, parent: Transaction) -> None:
        """Retries orphans that spend `parent` (and, transitively, what they unlock)."""
        pool = self.net.node.mempool
        work = [parent]
        while work:
            tx = work.pop()
            for orphan in self.orphans.children_of(tx):
                child = orphan.tx
                result: MempoolAcceptResult = await self.net.call(lambda c=child: pool.accept(c))  # type: ignore[misc]
                if result.allowed:
                    self.orphans.remove(child.wtxid)
                    work.append(child)
                elif result.result is not TxResult.MISSING_INPUTS:
                    self.orphans.remove(child.wtxid)
                    self.recent_rejects.add(child.wtxid)

    def block_received(self, block: Block) -> None:
        self.orphans.remove_for_block(list(block.vtx))

    def tip_changed(self) -> None:
        # what was invalid on the old tip may be valid now (Core resets its reject filter too)
        self.recent_rejects = BoundedSet(self.recent_rejects.limit)

    # --- serving -------------------------------------------------------------------------------

    async def serve(self, peer: Peer, invs: list[Inv]) -> None:
        pool = self.net.node.mempool

        def lookup() -> list[Transaction | None]:
            out = []
            for inv in invs:
                e = pool.get_by_wtxid(inv.hash) if inv.type == MSG_WTX else pool.get(inv.hash)
                out.append(e.tx if e is not None else None)
            return out

        found = await self.net.call(lookup)
        missing = []
        for inv, tx in zip(invs, found, strict=True):
            if tx is None:
                missing.append(inv)
            else:
                peer.send(MsgTx(strip_witness(tx) if inv.type == MSG_TX else tx))
        if missing:
            peer.send(MsgNotfound(tuple(missing)))

    async def on_mempool(self, peer: Peer) -> None:
        pool = self.net.node.mempool

        def listing() -> list[tuple[bytes, bytes, int]]:
            return [(e.txid, e.wtxid, e.fee * 1000 // max(1, e.vsize)) for e in pool.entries.values()]

        for txid, wtxid, rate in await self.net.call(listing):
            h = wtxid if peer.wtxid_relay else txid
            if rate >= peer.fee_filter and h not in peer.known_txs:
                peer.tx_to_announce[h] = rate
        peer.next_inv_send = 0.0

    # --- announcements out (called every ~100 ms) ------------------------------------------------

    async def poll_mempool(self) -> None:
        """Queues transactions new to the mempool for announcement to every relaying peer."""
        pool = self.net.node.mempool
        if pool.transactions_updated == self._mempool_version:
            return
        announced = self._announced

        def diff() -> tuple[int, list[tuple[bytes, bytes, int]], set[bytes]]:
            current = set(pool.entries)
            new = [
                (t, e.wtxid, e.fee * 1000 // max(1, e.vsize))
                for t, e in pool.entries.items() if t not in announced
            ]
            return pool.transactions_updated, new, current

        version, new, current = await self.net.call(diff)
        self._mempool_version = version
        self._announced = (announced & current) | {t for t, _, _ in new}
        if not new:
            return
        for peer in self.net.peers.values():
            if not peer.handshake_done or not peer.relay_txs:
                continue
            for txid, wtxid, rate in new:
                h = wtxid if peer.wtxid_relay else txid
                if h not in peer.known_txs:
                    peer.tx_to_announce[h] = rate

    def trickle(self, peer: Peer, now: float) -> None:
        if not peer.tx_to_announce or now < peer.next_inv_send:
            return
        s = self.net.settings
        interval = s.inbound_inv_interval if peer.inbound else s.outbound_inv_interval
        peer.next_inv_send = now + random.expovariate(1.0 / interval) if interval > 0 else now
        kind = MSG_WTX if peer.wtxid_relay else MSG_TX
        invs: list[Inv] = []
        for h, rate in list(peer.tx_to_announce.items()):
            if len(invs) >= MAX_INV_PER_SEND:
                break
            del peer.tx_to_announce[h]
            if rate >= peer.fee_filter and h not in peer.known_txs:
                invs.append(Inv(kind, h))
                peer.known_txs.add(h)
        if invs:
            peer.send(MsgInv(tuple(invs)))

    def expire_requests(self, now: float) -> None:
        for h in [h for h, (_, t) in self.requested.items() if now - t > TX_REQUEST_TIMEOUT]:
            del self.requested[h]

