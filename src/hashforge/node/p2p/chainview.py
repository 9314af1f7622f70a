"""What the P2P layer asks of the chain: header acceptance, locators, serving headers and blocks,
and which blocks to download next. Everything here runs on the node's chain thread (inside
`Node.call`); results handed back to the event loop are plain values (hashes, bytes), never
BlockIndex objects that the chain thread may change later.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hashforge.consensus.block import BlockHeader
from hashforge.consensus.validation import BlockValidationError

from ..chain import STATUS_HAVE_DATA, BlockIndex, ChainManager
from .messages import MAX_HEADERS_RESULTS


@dataclass
class HeadersOutcome:
    best: BlockIndex | None = None  # the last header accepted
    new: int = 0
    error: BlockValidationError | None = None
    unconnecting: bool = False  # the first header's parent is unknown
    non_continuous: bool = False


@dataclass
class DownloadPlan:
    blocks: list[bytes] = field(default_factory=list)
    staller: bytes | None = None  # the window is full and blocked behind this (in-flight) block
    extends_tip: bool = False  # the first block's parent is our tip (worth a compact block)


class ChainView:
    """Chain-thread state of the P2P layer: the best header chain and the download cursor."""

    def __init__(self, chain: ChainManager) -> None:
        self.chain = chain
        self.best_header: BlockIndex = chain.tip
        self.path: list[BlockIndex] = list(chain.active)  # path[h]: best_header's ancestor at h
        self.cursor = chain.tip.height + 1  # no block below this height on `path` is missing

    # --- the best header chain --------------------------------------------------------------

    def note_header(self, entry: BlockIndex) -> None:
        if not entry.failed and entry.chainwork > self.best_header.chainwork:
            self._set_best(entry)

    def _set_best(self, entry: BlockIndex) -> None:
        new = []
        node: BlockIndex | None = entry
        while node is not None and (node.height >= len(self.path) or self.path[node.height] is not node):
            new.append(node)
            node = node.prev
        fork = node.height if node is not None else -1
        del self.path[fork + 1 :]
        self.path.extend(reversed(new))
        self.best_header = entry
        self.cursor = min(self.cursor, fork + 1)

    def refresh(self) -> None:
        """Moves off a best header that turned out invalid, or onto a tip mined or submitted here."""
        tip = self.chain.tip
        if self.best_header.failed:
            candidates = [e for e in self.chain.index.values() if not e.failed]
            self.path = list(self.chain.active)
            self.best_header = tip
            self.cursor = min(self.cursor, tip.height + 1)
            best = max(candidates, key=lambda e: (e.chainwork, -e.seq), default=tip)
            if best.chainwork > tip.chainwork:
                self._set_best(best)
        elif tip.chainwork > self.best_header.chainwork:
            self._set_best(tip)

    # --- headers ----------------------------------------------------------------------------

    def accept_headers(self, headers: Sequence[BlockHeader]) -> HeadersOutcome:
        out = HeadersOutcome()
        if not headers:
            return out
        for a, b in itertools.pairwise(headers):
            if b.prev_hash != a.hash:
                out.non_continuous = True
                return out
        if headers[0].prev_hash not in self.chain.index:
            out.unconnecting = True
            return out
        for h in headers:
            known = h.hash in self.chain.index
            try:
                entry = self.chain.accept_header(h)
            except BlockValidationError as e:
                out.error = e
                break
            out.best = entry
            out.new += not known
            self.note_header(entry)
        return out

    def locator(self, entry: BlockIndex | None = None) -> list[bytes]:
        """Block hashes from `entry` (default: the best header) back to genesis, spaced ever wider."""
        node: BlockIndex | None = entry or self.best_header
        hashes: list[bytes] = []
        step = 1
        while node is not None:
            hashes.append(node.hash)
            if node.height == 0:
                break
            height = max(node.height - step, 0)
            node = self._ancestor(node, height)
            if len(hashes) > 10:
                step *= 2
        return hashes

    def _ancestor(self, entry: BlockIndex, height: int) -> BlockIndex:
        """O(1) on the best header chain (where header sync's locators start: the chain's own
        ancestor walk is O(height) above the active tip, 100 ms per locator at 100,000 headers)."""
        path = self.path
        if entry.height < len(path) and path[entry.height] is entry:
            return path[height]
        return self.chain.ancestor_of(entry, height)

    def headers_after(self, locator: Iterable[bytes], hash_stop: bytes, limit: int = MAX_HEADERS_RESULTS) -> list[BlockHeader]:
        """Answer to getheaders: active-chain headers after the first locator hash we know."""
        chain = self.chain
        start: BlockIndex | None = None
        locator = list(locator)
        if not locator:
            entry = chain.index.get(hash_stop)
            return [entry.header] if entry is not None else []
        for h in locator:
            entry = chain.index.get(h)
            if entry is not None and chain.in_active_chain(entry):
                start = entry
                break
            if entry is not None:  # a side branch: continue from where it forks off
                start = self._fork_point(entry)
                break
        height = (start.height if start is not None else 0) + 1
        out: list[BlockHeader] = []
        while height <= chain.height and len(out) < limit:
            e = chain.active[height]
            out.append(e.header)
            if e.hash == hash_stop:
                break
            height += 1
        return out

    def _fork_point(self, entry: BlockIndex) -> BlockIndex:
        node: BlockIndex | None = entry
        while node is not None and not self.chain.in_active_chain(node):
            node = node.prev
        return node if node is not None else self.chain.active[0]

    def headers_to_announce(self, tip: BlockIndex, since: BlockIndex | None, limit: int = 8) -> list[BlockHeader] | None:
        """Headers connected after `since` up to `tip` (oldest first), or None if more than `limit`."""
        out: list[BlockHeader] = []
        node: BlockIndex | None = tip
        while node is not None and node is not since:
            if since is not None and node.height <= since.height and self.chain.ancestor_of(since, node.height) is node:
                break
            out.append(node.header)
            if len(out) > limit:
                return None
            node = node.prev
        out.reverse()
        return out

    # --- blocks -----------------------------------------------------------------------------

    def block_raw(self, block_hash: bytes) -> bytes | None:
        entry = self.chain.index.get(block_hash)
        if entry is None or not entry.status & STATUS_HAVE_DATA or entry.failed:
            return None
        return self.chain.get_block_raw(entry)

    def plan_download(
        self, peer_best_hash: bytes | None, in_flight: frozenset[bytes], count: int, window: int
    ) -> DownloadPlan:
        """Up to `count` blocks to request from a peer whose best known block is `peer_best_hash`
        (Core's FindNextBlocksToDownload, on our best header chain)."""
        plan = DownloadPlan()
        self.refresh()
        peer_best = self.chain.index.get(peer_best_hash) if peer_best_hash else None
        tip = self.chain.tip
        if peer_best is None or peer_best.failed or peer_best.chainwork < tip.chainwork or count <= 0:
            return plan
        path = self.path
        while self.cursor < len(path) and path[self.cursor].status & STATUS_HAVE_DATA:
            self.cursor += 1
        if peer_best.height < len(path) and path[peer_best.height] is peer_best:
            candidates: Iterable[BlockIndex] = (path[h] for h in range(self.cursor, min(peer_best.height, self.cursor + window - 1) + 1))
            window_end = self.cursor + window - 1
        else:
            branch = []
            node: BlockIndex | None = peer_best
            while node is not None and not node.status & STATUS_HAVE_DATA:
                branch.append(node)
                node = node.prev
            branch.reverse()
            candidates = branch[:window]
            window_end = branch[0].height + window - 1 if branch else 0
        for e in candidates:
            if e.failed:
                break
            if e.status & STATUS_HAVE_DATA or e.hash in in_flight:
                continue
            if not plan.blocks:
                plan.extends_tip = e.prev is tip
            plan.blocks.append(e.hash)
            if len(plan.blocks) >= count:
                return plan
        if not plan.blocks and peer_best.height > window_end and self.cursor < len(path):
            blocker = path[self.cursor]
            if blocker.hash in in_flight:
                plan.staller = blocker.hash
        return plan

    def tip_info(self) -> tuple[bytes, int]:
        return self.chain.tip.hash, self.chain.height
