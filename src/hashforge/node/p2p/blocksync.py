"""Blocks: header-first sync, the download window with stall detection, compact blocks (BIP152),
serving headers and blocks, and announcing new tips (BIP130 headers, or inv).

Event-loop only; chain work goes through `net.call` to ChainView on the chain thread. Received
blocks are connected through a ConnectQueue, in batches, while the peers' readers go on reading.
"""

from __future__ import annotations

import functools
import itertools
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hashforge.consensus.block import Block, BlockHeader
from hashforge.consensus.validation import BlockValidationError

from .chainview import HeadersOutcome
from .compact import HeaderAndShortIDs, MsgBlocktxn, MsgCmpctblock, MsgGetblocktxn, PartialBlock
from .connectqueue import ConnectQueue, QueuedBlock
from .gcpolicy import SyncHeapFreezer
from .messages import (
    MAX_HEADERS_RESULTS,
    MSG_BLOCK,
    MSG_CMPCT_BLOCK,
    MSG_WITNESS_BLOCK,
    Inv,
    MsgBlock,
    MsgGetdata,
    MsgGetheaders,
    MsgHeaders,
    MsgInv,
    MsgNotfound,
)
from .peer import InFlight, Peer

if TYPE_CHECKING:
    from .network import P2PNetwork

log = logging.getLogger(__name__)

MAX_UNCONNECTING_HEADERS = 10
HEADERS_CHUNK = 250  # headers accepted per chain-thread hop (~10 ms): block batches run in between
MAX_CMPCTBLOCK_DEPTH = 5  # serve cmpctblock for blocks this close to the tip, full blocks beyond
MAX_BLOCKTXN_DEPTH = 10
# Not punished: the block may become valid later, or the failure says nothing about the sender.
HARMLESS_REASONS = {"time-too-new", "prev-blk-not-found"}


@dataclass
class BlockResult:
    accepted: bool
    reason: str = ""
    mutated: bool = False
    new_tip: bool = False
    tip_height: int = -1  # the chain's height once this block was handled


class BlockSync:
    def __init__(self, net: P2PNetwork) -> None:
        self.net = net
        self.in_flight: dict[bytes, int] = {}  # block hash -> peer id
        self.stall_timeout = net.settings.stall_timeout
        self.queue: ConnectQueue[BlockResult] = ConnectQueue(net, self._connect, self._after_block, self._queue_drained)
        self.tip_height = -1  # as of the last batch of received blocks
        self.heap = SyncHeapFreezer()
        # Peers whose last headers message was full (more follow). Blocks wait for the header
        # chain while it is catching up, as in Core on a real network, where headers presync runs
        # to the minimum chain work before any block is asked for: accepting headers between
        # blocks, on one GIL, halved the first thousands of blocks' rate. Then blocks come at one
        # steady rate, and block downloads are planned against the whole header chain.
        self.headers_catching_up: set[int] = set()

    # --- headers -----------------------------------------------------------------------------

    async def on_connected(self, peer: Peer) -> None:
        # From our best header's parent, as Core does: a peer on the same chain then answers with
        # at least that header, and we learn what it has (from the tip itself it would answer
        # with nothing, and never be asked for a block).
        await self.send_getheaders(peer, from_parent=True)

    async def send_getheaders(
        self, peer: Peer, from_hash: bytes | None = None, hash_stop: bytes = b"\x00" * 32, from_parent: bool = False
    ) -> None:
        view = self.net.view

        def locator() -> list[bytes]:
            entry = view.chain.index.get(from_hash) if from_hash else None
            if from_parent:
                entry = view.best_header.prev or view.best_header
            return view.locator(entry)

        loc = await self.net.call(locator)
        peer.headers_requested_at = time.monotonic()
        peer.send(MsgGetheaders(locator=tuple(loc), hash_stop=hash_stop))

    async def on_getheaders(self, peer: Peer, msg: MsgGetheaders) -> None:
        headers = await self.net.call(lambda: self.net.view.headers_after(msg.locator, msg.hash_stop))
        peer.send(MsgHeaders(tuple(headers)))
        if headers:
            # what we sent, the peer knows (no need to announce it again)
            for h in headers[-8:]:
                peer.known_blocks.add(h.hash)

    def _update_best_known(self, peer: Peer, outcome: HeadersOutcome) -> None:
        best = outcome.best
        if best is not None and best.chainwork > peer.best_known_work:
            peer.best_known_hash, peer.best_known_work, peer.best_known_height = best.hash, best.chainwork, best.height
            peer.synced_headers = max(peer.synced_headers, best.height)

    async def on_headers(self, peer: Peer, msg: MsgHeaders) -> None:
        headers = msg.headers
        peer.headers_requested_at = 0.0
        if not headers:
            return
        for h in headers:
            peer.known_blocks.add(h.hash)
        # A long message is accepted in chunks, in the background: the blocks already requested
        # from this peer are read, connected and requested again in between (in initial sync a
        # 2,000-header message is ~0.1 s of chain-thread time). One message at a time per peer.
        # Headers are not held back behind blocks: the header chain is complete early, as in Core,
        # so progress and estimates count against the real height.
        if peer.headers_task is not None and not peer.headers_task.done():
            await peer.headers_task
        if len(headers) == MAX_HEADERS_RESULTS:
            self.headers_catching_up.add(peer.id)  # before its chunks: they ask for blocks between them
        best_work = self.net.view.best_header.chainwork
        if len(headers) <= HEADERS_CHUNK:
            await self._accept_headers(peer, headers, best_work)
        else:
            peer.headers_task = self.net.connman.spawn(self._accept_headers_background(peer, headers, best_work))

    async def _accept_headers_background(self, peer: Peer, headers: Sequence[BlockHeader], best_work: int) -> None:
        try:
            await self._accept_headers(peer, headers, best_work)
        except Exception:  # as in the peer's own task: a bug costs this peer, never the node
            if not peer.is_closed:
                log.exception("peer=%d: accepting headers failed", peer.id)
                peer.disconnect("internal error")

    async def _accept_headers(self, peer: Peer, headers: Sequence[BlockHeader], best_work: int) -> None:
        """`best_work`: our best header's chain work before this message."""
        view = self.net.view
        outcome = HeadersOutcome()
        if any(b.prev_hash != a.hash for a, b in itertools.pairwise(headers)):
            outcome.non_continuous = True
        else:
            for i in range(0, len(headers), HEADERS_CHUNK):
                chunk = headers[i : i + HEADERS_CHUNK]
                part = await self.net.call(functools.partial(view.accept_headers, chunk))
                outcome.unconnecting, outcome.error = part.unconnecting, part.error
                outcome.best, outcome.new = part.best or outcome.best, outcome.new + part.new
                if part.unconnecting or part.error is not None or peer.is_closed:
                    break
                if i + HEADERS_CHUNK < len(headers):
                    self._update_best_known(peer, part)
                    await self.request_blocks(peer)
        await self._after_headers(peer, headers, outcome, best_work)

    async def _after_headers(
        self, peer: Peer, headers: Sequence[BlockHeader], outcome: HeadersOutcome, best_work: int
    ) -> None:
        pm = self.net.peerman
        more = len(headers) == MAX_HEADERS_RESULTS and outcome.best is not None
        # Blocks wait only for headers that move our best header on: a peer answering with full
        # messages of headers we have, or of a side chain with less work, must not hold them.
        advanced = outcome.best is not None and outcome.best.chainwork > best_work
        if not (more and advanced) or outcome.non_continuous or outcome.unconnecting or outcome.error is not None:
            await self._headers_caught_up(peer)
        if outcome.non_continuous:
            pm.misbehaving(peer, 20, "non-continuous headers sequence")
            return
        if outcome.unconnecting:
            peer.unconnecting_headers += 1
            if peer.unconnecting_headers % MAX_UNCONNECTING_HEADERS == 0:
                pm.misbehaving(peer, 20, f"{peer.unconnecting_headers} unconnecting headers messages")
            await self.send_getheaders(peer, hash_stop=headers[-1].hash)
            return
        peer.unconnecting_headers = 0
        self._update_best_known(peer, outcome)
        if outcome.error is not None:
            if outcome.error.reason not in HARMLESS_REASONS:
                pm.misbehaving(peer, 100, f"invalid header: {outcome.error}")
            return
        if more and outcome.best is not None:
            await self.send_getheaders(peer, from_hash=outcome.best.hash)
        await self.request_blocks(peer)

    async def _headers_caught_up(self, peer: Peer) -> None:
        """`peer` has no more headers to send (or is gone): once no peer has, blocks flow."""
        if peer.id not in self.headers_catching_up:
            return
        self.headers_catching_up.discard(peer.id)
        if not self.headers_catching_up:
            for other in list(self.net.peers.values()):
                if other is not peer:
                    await self.request_blocks(other)

    async def on_block_inv(self, peer: Peer, hashes: list[bytes]) -> None:
        for h in hashes:
            peer.known_blocks.add(h)
        known = await self.net.call(lambda: [self.net.view.chain.index.get(h) for h in hashes])
        for entry in known:
            if entry is not None and entry.chainwork > peer.best_known_work:
                peer.best_known_hash, peer.best_known_work, peer.best_known_height = entry.hash, entry.chainwork, entry.height
        if any(e is None for e in known):
            await self.send_getheaders(peer, hash_stop=hashes[-1])
        else:
            await self.request_blocks(peer)

    # --- downloading ---------------------------------------------------------------------------

    async def request_blocks(self, peer: Peer) -> None:
        s = self.net.settings
        if peer.is_closed or not peer.handshake_done or peer.best_known_hash is None:
            return
        count = s.max_blocks_in_flight - len(peer.in_flight)
        if count <= 0 or self.queue.full or self.headers_catching_up:
            return
        if peer.best_known_work < self.net.view.chain.minimum_chain_work:
            return  # Core: a peer whose chain has less than the minimum chain work has nothing for us
        # received but not yet connected counts as in flight: it has no data on the chain yet
        best, flying = peer.best_known_hash, frozenset(self.in_flight).union(self.queue.hashes())
        plan = await self.net.call(lambda: self.net.view.plan_download(best, flying, count, s.block_download_window))
        wanted = [h for h in plan.blocks if h not in self.in_flight]
        if wanted and not peer.is_closed:
            now = time.monotonic()
            for h in wanted:
                self.in_flight[h] = peer.id
                peer.in_flight[h] = InFlight(h, now)
            use_cmpct = len(wanted) == 1 and peer.cmpct_version and plan.extends_tip
            kind = MSG_CMPCT_BLOCK if use_cmpct else MSG_WITNESS_BLOCK
            peer.send(MsgGetdata(tuple(Inv(kind, h) for h in wanted)))
        elif plan.staller is not None:
            self._check_staller(peer, plan.staller)

    def _check_staller(self, peer: Peer, block_hash: bytes) -> None:
        """The download window is full and blocked by one block in flight from another peer."""
        owner = self.net.peers.get(self.in_flight.get(block_hash, -1))
        if owner is None or owner is peer:
            return
        req = owner.in_flight.get(block_hash)
        if req is not None and time.monotonic() - req.requested > self.stall_timeout:
            owner.disconnect(f"stalling block download (block {block_hash[::-1].hex()[:16]}…)")
            self.stall_timeout = min(self.stall_timeout * 2, self.net.settings.stall_timeout_max)

    def _done(self, peer: Peer, block_hash: bytes) -> bool:
        """Forgets an in-flight request; True if we had asked this peer for the block."""
        asked = peer.in_flight.pop(block_hash, None) is not None
        if self.in_flight.get(block_hash) == peer.id:
            del self.in_flight[block_hash]
        return asked

    def release_peer(self, peer: Peer) -> None:
        for h in list(peer.in_flight):
            self._done(peer, h)
        self.headers_catching_up.discard(peer.id)  # network.peer_closed asks the others for blocks next

    def check_timeouts(self, peer: Peer, now: float) -> None:
        s = self.net.settings
        if peer.in_flight:
            downloading = sum(1 for p in self.net.peers.values() if p.in_flight and p is not peer)
            limit = s.block_download_timeout * (1 + 0.5 * downloading)
            oldest = min(f.requested for f in peer.in_flight.values())
            if now - oldest > limit:
                peer.disconnect("block download timeout")
        if peer.headers_requested_at and now - peer.headers_requested_at > s.headers_timeout:
            peer.headers_requested_at = 0.0
            self.headers_catching_up.discard(peer.id)  # the slow tick asks for blocks next
            # A peer still syncing itself may ignore getheaders (Core does in IBD): only one that
            # claimed more blocks than it has shown us is dropped.
            if peer.start_height > peer.best_known_height and not peer.inbound:
                peer.disconnect("headers request timeout")
        # decay the stall timeout back towards its base once blocks flow
        if self.stall_timeout > s.stall_timeout and random.random() < 0.01:
            self.stall_timeout = max(s.stall_timeout, self.stall_timeout * 0.85)

    # --- receiving blocks ------------------------------------------------------------------------

    async def on_block(self, peer: Peer, block: Block, raw: bytes | None = None) -> None:
        h = block.hash
        asked = self._done(peer, h)
        peer.known_blocks.add(h)
        peer.stats.last_block = time.time()
        self.queue.put(peer, block, raw, requested=asked)
        # Ask again once half the peer's slots are free: one getdata (and one download plan on
        # the chain thread) per several blocks instead of per block.
        if asked and len(peer.in_flight) <= self.net.settings.max_blocks_in_flight // 2:
            await self.request_blocks(peer)

    async def process_block(self, peer: Peer, block: Block, raw: bytes | None, via_compact: bool = False) -> BlockResult:
        """Connects a block we asked for (queued behind the blocks received before it)."""
        return await self.queue.put(peer, block, raw, requested=True, via_compact=via_compact)

    def _connect(self, item: QueuedBlock[BlockResult]) -> BlockResult:
        """Chain thread: stores and connects one received block."""
        view = self.net.view
        chain = view.chain
        block = item.block
        old_tip = chain.tip
        if not item.requested and old_tip.hash != block.header.prev_hash:
            # Unrequested: only a block on top of our tip is worth it (high-bandwidth relay).
            return BlockResult(False, "unrequested")
        try:
            status = chain.process_block(block, item.raw, durable=False)  # a peer has it: a crash costs a download
        except BlockValidationError as e:
            view.refresh()
            return BlockResult(False, e.reason, e.mutated)
        except Exception:  # a bug or a disk error: this peer's connection pays, the node goes on
            log.exception("peer=%d: connecting block %s failed", item.peer.id, block.hash_hex)
            view.refresh()
            return BlockResult(False, "internal-error")
        if status == "duplicate-invalid":
            return BlockResult(False, status)
        entry = chain.index.get(block.hash)
        if entry is not None:
            view.note_header(entry)
        return BlockResult(True, new_tip=chain.tip is not old_tip, tip_height=chain.height)

    async def _after_block(self, item: QueuedBlock[BlockResult], result: BlockResult) -> None:
        peer, block = item.peer, item.block
        if result.accepted:
            if peer.best_known_hash is None or block.hash == peer.best_known_hash:
                peer.synced_blocks = max(peer.synced_blocks, peer.best_known_height)
            self.net.txs.block_received(block)
            return
        if result.reason == "unrequested":
            await self.send_getheaders(peer, hash_stop=block.hash)
            return
        if result.reason == "internal-error":
            peer.disconnect("internal error")
            return
        log.info("peer=%d sent invalid block %s: %s", peer.id, block.hash_hex, result.reason)
        if result.reason == "prev-blk-not-found" and not item.via_compact:
            await self.send_getheaders(peer, hash_stop=block.hash)
        if result.reason in HARMLESS_REASONS or (item.via_compact and result.mutated):
            return
        self.net.peerman.misbehaving(peer, 100, f"invalid block: {result.reason}")

    async def _queue_drained(self, batch: list[QueuedBlock[BlockResult]], results: list[BlockResult], was_full: bool) -> None:
        """After a batch: refill the download slots of every peer that has blocks we lack (Core
        fills them each time it services a peer; waiting for a peer's own next message, or for the
        once-a-second tick, left a second source idle while the first one did all the work)."""
        self.tip_height = next((r.tip_height for r in reversed(results) if r.tip_height >= 0), self.tip_height)
        senders = {item.peer for item in batch}
        self.heap.after_blocks(self.tip_height, max((p.best_known_height for p in self.net.peers.values()), default=-1))
        half = self.net.settings.max_blocks_in_flight // 2
        for peer in list(self.net.peers.values()):
            if peer.is_closed or len(peer.in_flight) > half:
                continue
            if was_full or peer in senders or peer.best_known_height > self.tip_height:
                await self.request_blocks(peer)

    # --- compact blocks --------------------------------------------------------------------------

    async def on_cmpctblock(self, peer: Peer, msg: MsgCmpctblock) -> None:
        cmpct = msg.header_and_shortids
        header = cmpct.header
        h = header.hash
        peer.known_blocks.add(h)
        outcome = await self.net.call(lambda: self.net.view.accept_headers([header]))
        if outcome.unconnecting:
            await self.send_getheaders(peer, hash_stop=h)
            return
        self._update_best_known(peer, outcome)
        if outcome.error is not None:
            self._done(peer, h)
            if outcome.error.reason not in HARMLESS_REASONS:
                self.net.peerman.misbehaving(peer, 100, f"invalid compact block header: {outcome.error}")
            return
        view = self.net.view
        chain_state = await self.net.call(
            lambda: (view.chain.tip.hash == header.prev_hash, view.block_raw(h) is not None)
        )
        extends_tip, have = chain_state
        if have:
            self._done(peer, h)
            return
        if not extends_tip:
            self._done(peer, h)
            await self.request_blocks(peer)
            return
        pool = await self.net.call(lambda: [e.tx for e in self.net.node.mempool.entries.values()])
        try:
            partial = PartialBlock(cmpct, pool)
        except ValueError:
            await self._fetch_full(peer, h)
            return
        missing = partial.missing()
        if missing:
            peer.pending_cmpct = (h, partial)
            if h not in peer.in_flight:
                self.in_flight[h] = peer.id
                peer.in_flight[h] = InFlight(h, time.monotonic())
            peer.send(MsgGetblocktxn(h, tuple(missing)))
            return
        await self._finish_compact(peer, partial.fill(()))

    async def on_blocktxn(self, peer: Peer, msg: MsgBlocktxn) -> None:
        pending = peer.pending_cmpct
        if pending is None or pending[0] != msg.blockhash:
            return
        peer.pending_cmpct = None
        partial: PartialBlock = pending[1]
        try:
            block = partial.fill(msg.transactions)
        except ValueError as e:
            self._done(peer, msg.blockhash)
            self.net.peerman.misbehaving(peer, 100, f"bad blocktxn: {e}")
            return
        await self._finish_compact(peer, block)

    async def _finish_compact(self, peer: Peer, block: Block) -> None:
        self._done(peer, block.hash)
        result = await self.process_block(peer, block, None, via_compact=True)
        if not result.accepted and result.mutated:
            await self._fetch_full(peer, block.hash)  # a short id collision: ask for the real thing

    async def _fetch_full(self, peer: Peer, block_hash: bytes) -> None:
        self.in_flight[block_hash] = peer.id
        peer.in_flight[block_hash] = InFlight(block_hash, time.monotonic())
        peer.send(MsgGetdata((Inv(MSG_WITNESS_BLOCK, block_hash),)))

    async def on_getblocktxn(self, peer: Peer, msg: MsgGetblocktxn) -> None:
        view = self.net.view

        def lookup() -> tuple[bytes | None, int]:
            entry = view.chain.index.get(msg.blockhash)
            depth = view.chain.height - entry.height if entry is not None else 1 << 30
            return view.block_raw(msg.blockhash), depth

        raw, depth = await self.net.call(lookup)
        if raw is None:
            return
        block = Block.from_bytes(raw)
        if depth > MAX_BLOCKTXN_DEPTH:
            peer.send(MsgBlock(block))
            return
        if any(i >= len(block.vtx) for i in msg.indexes):
            self.net.peerman.misbehaving(peer, 100, "getblocktxn index out of range")
            return
        peer.send(MsgBlocktxn(msg.blockhash, tuple(block.vtx[i] for i in msg.indexes)))

    def on_notfound(self, peer: Peer, msg: MsgNotfound) -> None:
        for inv in msg.inventory:
            if inv.type & 0xFF in (MSG_BLOCK, MSG_CMPCT_BLOCK):
                self._done(peer, inv.hash)

    # --- serving ---------------------------------------------------------------------------------

    async def serve(self, peer: Peer, invs: list[Inv]) -> None:
        view = self.net.view
        hashes = [i.hash for i in invs]

        def lookup() -> tuple[list[bytes | None], int, dict[bytes, int]]:
            heights = {h: e.height for h in hashes if (e := view.chain.index.get(h)) is not None}
            return [view.block_raw(h) for h in hashes], view.chain.height, heights

        raws, tip_height, heights = await self.net.call(lookup)
        missing = []
        for inv, raw in zip(invs, raws, strict=True):
            if raw is None:
                missing.append(inv)
                continue
            if inv.type == MSG_CMPCT_BLOCK and tip_height - heights.get(inv.hash, 0) <= MAX_CMPCTBLOCK_DEPTH:
                block = Block.from_bytes(raw)
                peer.send(MsgCmpctblock(HeaderAndShortIDs.from_block(block, random.getrandbits(64))))
            elif inv.type == MSG_BLOCK:
                peer.send_raw(b"block", Block.from_bytes(raw).serialize_without_witness())
            else:
                peer.send_raw(b"block", raw)
            peer.known_blocks.add(inv.hash)
            await peer.drain()
        if missing:
            peer.send(MsgNotfound(tuple(missing)))

    # --- announcing --------------------------------------------------------------------------------

    def announce(self, headers: list[BlockHeader] | None, tip_hash: bytes) -> None:
        """A new tip (from the chain thread's listener): headers to peers that asked for them (or a
        compact block to high-bandwidth peers), an inv of the tip to the others."""
        for peer in list(self.net.peers.values()):
            if not peer.handshake_done or peer.is_closed or tip_hash in peer.known_blocks:
                continue
            new = [h for h in headers if h.hash not in peer.known_blocks] if headers is not None else None
            if new and peer.cmpct_hb_to and len(new) == 1:
                self.net.connman.spawn(self._push_compact(peer, tip_hash))
            elif new and peer.send_headers:
                peer.send(MsgHeaders(tuple(new)))
            else:
                peer.send(MsgInv((Inv(MSG_BLOCK, tip_hash),)))
            peer.known_blocks.add(tip_hash)

    async def _push_compact(self, peer: Peer, block_hash: bytes) -> None:
        raw = await self.net.call(lambda: self.net.view.block_raw(block_hash))
        if raw is not None:
            block = Block.from_bytes(raw)
            peer.send(MsgCmpctblock(HeaderAndShortIDs.from_block(block, random.getrandbits(64))))

