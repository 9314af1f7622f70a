"""The transaction memory pool: Core's AcceptToMemoryPool, full RBF, package limits, eviction.

Threading: not thread-safe. The node calls the mempool only from its chain worker thread, the same
thread that runs the ChainManager and its event listeners, so no locking is needed here.

Acceptance (mempool_accept.py) follows Core's MemPoolAccept in order: PreChecks, ReplacementChecks,
PolicyScriptChecks, ConsensusScriptChecks, then Finalize and LimitMempoolSize here. Entries keep
ancestor and descendant aggregates (count, vsize, fees, sigops) up to date on every add and
removal; the block assembler selects by them and eviction trims by them. Chain events keep the pool
consistent: a connected block removes its transactions and their conflicts; disconnected blocks'
transactions are collected and re-accepted once the reorg is over (Core's
MaybeUpdateMempoolForReorg).
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from hashforge.consensus.block import Block
from hashforge.consensus.coins import Coin
from hashforge.consensus.params import ChainParams
from hashforge.consensus.tx import OutPoint, Transaction
from hashforge.consensus.validation import is_final_tx, sequence_locks_satisfied

from .chain import BlockIndex, ChainManager
from .fees import FeeEstimate, FeeEstimator
from .mempool_accept import (
    MEMPOOL_HEIGHT,
    Limits,
    MempoolAcceptResult,
    Reject,
    TxResult,
    Workspace,
    pre_checks,
    replacement_checks,
    script_checks,
)
from .policy import (
    DEFAULT_INCREMENTAL_RELAY_FEE,
    DEFAULT_MEMPOOL_EXPIRY_HOURS,
    DEFAULT_MIN_RELAY_TX_FEE,
    ROLLING_FEE_HALFLIFE,
    FeeRate,
    PolicyOptions,
    signals_rbf,
)

__all__ = [
    "MEMPOOL_HEIGHT",
    "Limits",
    "Mempool",
    "MempoolAcceptResult",
    "MempoolEntry",
    "MempoolInfo",
    "RemovalReason",
    "TxResult",
]

_ENTRY_OVERHEAD = 320  # estimated bytes per entry beyond the transaction (index, links, sets)


class RemovalReason(enum.Enum):
    EXPIRY = "expiry"
    SIZELIMIT = "sizelimit"
    REORG = "reorg"
    BLOCK = "block"
    CONFLICT = "conflict"
    REPLACED = "replaced"


@dataclass(frozen=True)
class MempoolInfo:
    """getmempoolinfo's figures; fee rates in sat/kvB, total_fee in satoshis."""

    size: int
    bytes: int
    usage: int
    total_fee: int
    maxmempool: int
    mempoolminfee: int
    minrelaytxfee: int
    incrementalrelayfee: int
    fullrbf: bool


DEFAULT_LIMITS = Limits()
DEFAULT_POLICY = PolicyOptions()


class MempoolEntry:
    """One transaction in the pool, with its links and package aggregates (self included)."""

    __slots__ = (
        "anc_count", "anc_fee", "anc_sigops", "anc_size", "children", "desc_count", "desc_fee",
        "desc_size", "fee", "height", "parents", "sequence", "sigop_cost", "spends_coinbase", "time",
        "tx", "usage", "vsize", "weight",
    )

    def __init__(
        self, tx: Transaction, fee: int, vsize: int, sigop_cost: int, time: int, height: int,
        spends_coinbase: bool, sequence: int,
    ) -> None:
        self.tx = tx
        self.fee = fee
        self.vsize = vsize
        self.weight = tx.weight
        self.sigop_cost = sigop_cost
        self.time = time
        self.height = height  # the chain height when the transaction entered
        self.spends_coinbase = spends_coinbase
        self.sequence = sequence
        self.usage = tx.total_size + _ENTRY_OVERHEAD + 48 * (len(tx.vin) + len(tx.vout))
        self.parents: set[bytes] = set()
        self.children: set[bytes] = set()
        self.anc_count, self.anc_size, self.anc_fee, self.anc_sigops = 1, vsize, fee, sigop_cost
        self.desc_count, self.desc_size, self.desc_fee = 1, vsize, fee

    @property
    def txid(self) -> bytes:
        return self.tx.txid

    @property
    def wtxid(self) -> bytes:
        return self.tx.wtxid

    @property
    def feerate(self) -> FeeRate:
        return FeeRate.from_fee(self.fee, self.vsize)

    def _reset_aggregates(self) -> None:
        self.anc_count, self.anc_size, self.anc_fee, self.anc_sigops = 1, self.vsize, self.fee, self.sigop_cost
        self.desc_count, self.desc_size, self.desc_fee = 1, self.vsize, self.fee

    def __repr__(self) -> str:
        return f"MempoolEntry({self.tx.txid_hex}, fee={self.fee}, vsize={self.vsize})"


class Mempool:
    def __init__(
        self,
        chain: ChainManager,
        params: ChainParams,
        max_size_bytes: int = 300_000_000,
        min_relay_fee: int | FeeRate = DEFAULT_MIN_RELAY_TX_FEE,
        *,
        incremental_relay_fee: int = DEFAULT_INCREMENTAL_RELAY_FEE,
        policy: PolicyOptions = DEFAULT_POLICY,
        limits: Limits = DEFAULT_LIMITS,
        require_standard: bool = True,
        full_rbf: bool = True,
        expiry_seconds: int = DEFAULT_MEMPOOL_EXPIRY_HOURS * 3600,
        clock: Callable[[], float] = time.time,
        subscribe: bool = True,
    ) -> None:
        self.chain = chain
        self.params = params
        self.max_size_bytes = max_size_bytes
        self.min_relay_fee = min_relay_fee if isinstance(min_relay_fee, FeeRate) else FeeRate(min_relay_fee)
        self.incremental_relay_fee = FeeRate(incremental_relay_fee)
        self.policy = policy
        self.limits = limits
        self.require_standard = require_standard
        self.full_rbf = full_rbf
        self.expiry_seconds = expiry_seconds
        self.clock = clock
        self.entries: dict[bytes, MempoolEntry] = {}
        self._by_wtxid: dict[bytes, bytes] = {}
        self.spenders: dict[OutPoint, bytes] = {}
        self.total_vsize = 0
        self.total_fee = 0
        self.usage = 0
        self.transactions_updated = 0  # bumps on every change (getblocktemplate's longpollid)
        self._sequence = 1
        self._rolling_min_fee = 0.0
        self._last_rolling_update = int(clock())
        self._block_since_bump = False
        self._disconnected: list[Transaction] = []
        self._reorg_pending = False
        self.estimator = FeeEstimator(chain.height)
        if subscribe:
            chain.events.connected.append(self.block_connected)
            chain.events.disconnected.append(self.block_disconnected)
            chain.events.tip_changed.append(self.tip_changed)

    # --- queries -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, txid: object) -> bool:
        return txid in self.entries

    def get(self, txid: bytes) -> MempoolEntry | None:
        return self.entries.get(txid)

    def get_by_wtxid(self, wtxid: bytes) -> MempoolEntry | None:
        txid = self._by_wtxid.get(wtxid)
        return None if txid is None else self.entries[txid]

    def txids(self) -> list[bytes]:
        return list(self.entries)

    def spent_by(self, outpoint: OutPoint) -> bytes | None:
        """The txid of the pool transaction spending `outpoint`, if any."""
        return self.spenders.get(outpoint)

    def ancestors(self, txid: bytes) -> set[bytes]:
        """In-pool ancestors of `txid` (not including itself)."""
        return self._walk(self.entries[txid].parents, lambda e: e.parents)

    def descendants(self, txid: bytes) -> set[bytes]:
        """In-pool descendants of `txid` (not including itself)."""
        return self._walk(self.entries[txid].children, lambda e: e.children)

    def _walk(self, start: Iterable[bytes], step: Callable[[MempoolEntry], set[bytes]]) -> set[bytes]:
        seen: set[bytes] = set()
        stack = list(start)
        while stack:
            t = stack.pop()
            if t not in seen:
                seen.add(t)
                stack.extend(step(self.entries[t]))
        return seen

    def get_coin(self, outpoint: OutPoint) -> Coin | None:
        """The chain's UTXO set overlaid with the pool: outputs of pool transactions are
        available (height MEMPOOL_HEIGHT), outputs spent by pool transactions are not."""
        if outpoint in self.spenders:
            return None
        return self.view_coin(outpoint)

    def view_coin(self, outpoint: OutPoint) -> Coin | None:
        entry = self.entries.get(outpoint.hash)
        if entry is not None:
            if outpoint.n < len(entry.tx.vout):
                return Coin(entry.tx.vout[outpoint.n], MEMPOOL_HEIGHT, False)
            return None
        return self.chain.get_coin(outpoint)

    def signals_rbf(self, txid: bytes) -> bool:
        """BIP125 replaceability as Core's IsRBFOptIn sees it (the tx or an ancestor signals)."""
        if signals_rbf(self.entries[txid].tx):
            return True
        return any(signals_rbf(self.entries[a].tx) for a in self.ancestors(txid))

    def min_fee(self) -> FeeRate:
        """Core's GetMinFee: the rolling minimum after evictions, halving every 12 hours
        (faster while the pool is small), or zero when nothing was evicted."""
        if not self._block_since_bump or self._rolling_min_fee == 0:
            return FeeRate(round(self._rolling_min_fee))
        now = int(self.clock())
        if now > self._last_rolling_update + 10:
            halflife = float(ROLLING_FEE_HALFLIFE)
            if self.usage < self.max_size_bytes / 4:
                halflife /= 4
            elif self.usage < self.max_size_bytes / 2:
                halflife /= 2
            self._rolling_min_fee /= math.pow(2.0, (now - self._last_rolling_update) / halflife)
            self._last_rolling_update = now
            if self._rolling_min_fee < self.incremental_relay_fee.sat_per_kvb / 2:
                self._rolling_min_fee = 0
                return FeeRate(0)
        return max(FeeRate(round(self._rolling_min_fee)), self.incremental_relay_fee)

    def info(self) -> MempoolInfo:
        return MempoolInfo(
            size=len(self.entries),
            bytes=self.total_vsize,
            usage=self.usage,
            total_fee=self.total_fee,
            maxmempool=self.max_size_bytes,
            mempoolminfee=max(self.min_fee(), self.min_relay_fee).sat_per_kvb,
            minrelaytxfee=self.min_relay_fee.sat_per_kvb,
            incrementalrelayfee=self.incremental_relay_fee.sat_per_kvb,
            fullrbf=self.full_rbf,
        )

    def estimate_smart_fee(self, conf_target: int, conservative: bool = False) -> FeeEstimate:
        """estimatesmartfee: at least the mempool's minimum fee rates, or no rate with Core's error."""
        est = self.estimator.estimate_smart_fee(conf_target, conservative)
        if est.sat_per_kvb is None:
            return est
        floor = max(self.min_fee(), self.min_relay_fee).sat_per_kvb
        return FeeEstimate(max(est.sat_per_kvb, floor), est.blocks)

    def entries_by_ancestor_score(self) -> list[MempoolEntry]:
        """Best first, by Core's ancestor score (min of own and ancestor fee rate), then txid."""
        return sorted(self.entries.values(), key=ancestor_score_key)

    # --- acceptance ----------------------------------------------------------------------------

    def accept(self, tx: Transaction, test_only: bool = False) -> MempoolAcceptResult:
        """AcceptToMemoryPool (test_only: testmempoolaccept, nothing changes)."""
        self.finish_reorg()
        return self._accept(tx, test_only, bypass_limits=False)

    def _accept(self, tx: Transaction, test_only: bool, bypass_limits: bool) -> MempoolAcceptResult:
        try:
            ws = pre_checks(self, tx, bypass_limits)
            if ws.conflicts:
                replacement_checks(self, ws)
            script_checks(self, ws)
        except Reject as r:
            return MempoolAcceptResult(tx.txid, tx.wtxid, False, r.reason, r.debug, r.result)
        replaced = tuple(sorted(ws.all_conflicts))
        if test_only:
            return MempoolAcceptResult(tx.txid, tx.wtxid, True, vsize=ws.vsize, fee=ws.fee, replaced=replaced)
        self._finalize(ws, bypass_limits)
        if not bypass_limits:
            self._limit_size()
            if tx.txid not in self.entries:
                return MempoolAcceptResult(tx.txid, tx.wtxid, False, "mempool full", "", TxResult.RECONSIDERABLE)
        return MempoolAcceptResult(tx.txid, tx.wtxid, True, vsize=ws.vsize, fee=ws.fee, replaced=replaced)

    def next_block_context(self) -> tuple[BlockIndex, int, int]:
        tip = self.chain.tip
        return tip, tip.height + 1, tip.median_time_past()

    def mtp_at(self, height: int) -> int:
        return self.chain.active[height].median_time_past()

    # --- adding and removing -------------------------------------------------------------------

    def _finalize(self, ws: Workspace, bypass_limits: bool) -> None:
        if ws.all_conflicts:
            self._remove_staged(ws.all_conflicts, RemovalReason.REPLACED)
        entry = MempoolEntry(
            ws.tx, ws.fee, ws.vsize, ws.sigop_cost, int(self.clock()), self.chain.height,
            ws.spends_coinbase, 0 if bypass_limits else self._sequence,
        )
        self._sequence += 1
        self._add_unchecked(entry, ws.ancestors)
        if not bypass_limits and not ws.parents:
            self.estimator.track(entry.txid, entry.height, entry.feerate.sat_per_kvb)

    def _add_unchecked(self, entry: MempoolEntry, ancestors: set[bytes]) -> None:
        txid = entry.txid
        self.entries[txid] = entry
        self._by_wtxid[entry.wtxid] = txid
        for txin in entry.tx.vin:
            self.spenders[txin.prevout] = txid
            if txin.prevout.hash in self.entries and txin.prevout.hash != txid:
                entry.parents.add(txin.prevout.hash)
                self.entries[txin.prevout.hash].children.add(txid)
        # Only transactions re-added after a reorg can have children already (see _relink).
        for n in range(len(entry.tx.vout)):
            child = self.spenders.get(OutPoint(txid, n))
            if child is not None:
                entry.children.add(child)
                self.entries[child].parents.add(txid)
        for a in ancestors:
            anc = self.entries[a]
            entry.anc_count += 1
            entry.anc_size += anc.vsize
            entry.anc_fee += anc.fee
            entry.anc_sigops += anc.sigop_cost
            anc.desc_count += 1
            anc.desc_size += entry.vsize
            anc.desc_fee += entry.fee
        self.total_vsize += entry.vsize
        self.total_fee += entry.fee
        self.usage += entry.usage
        self.transactions_updated += 1

    def _with_descendants(self, txids: Iterable[bytes]) -> set[bytes]:
        out = set(txids)
        for t in list(out):
            out |= self.descendants(t)
        return out

    def _remove_staged(self, txids: set[bytes], reason: RemovalReason) -> None:
        """Removes exactly `txids`, updating the aggregates of what stays (Core's RemoveStaged)."""
        if not txids:
            return
        for t in txids:
            e = self.entries[t]
            for a in self.ancestors(t) - txids:
                anc = self.entries[a]
                anc.desc_count -= 1
                anc.desc_size -= e.vsize
                anc.desc_fee -= e.fee
            for d in self.descendants(t) - txids:
                desc = self.entries[d]
                desc.anc_count -= 1
                desc.anc_size -= e.vsize
                desc.anc_fee -= e.fee
                desc.anc_sigops -= e.sigop_cost
        for t in txids:
            e = self.entries.pop(t)
            del self._by_wtxid[e.wtxid]
            for txin in e.tx.vin:
                if self.spenders.get(txin.prevout) == t:
                    del self.spenders[txin.prevout]
            for p in e.parents:
                if p in self.entries:
                    self.entries[p].children.discard(t)
            for c in e.children:
                if c in self.entries:
                    self.entries[c].parents.discard(t)
            self.total_vsize -= e.vsize
            self.total_fee -= e.fee
            self.usage -= e.usage
            if reason is not RemovalReason.BLOCK:
                self.estimator.remove(t)
        self.transactions_updated += 1

    def remove_recursive(self, tx: Transaction, reason: RemovalReason = RemovalReason.REORG) -> None:
        """Removes `tx` (if present) and every pool transaction that spends its outputs, recursively."""
        roots = {tx.txid} if tx.txid in self.entries else set()
        for n in range(len(tx.vout)):
            spender = self.spenders.get(OutPoint(tx.txid, n))
            if spender is not None:
                roots.add(spender)
        self._remove_staged(self._with_descendants(roots), reason)

    def _remove_conflicts(self, tx: Transaction) -> None:
        roots = set()
        for txin in tx.vin:
            spender = self.spenders.get(txin.prevout)
            if spender is not None and spender != tx.txid:
                roots.add(spender)
        self._remove_staged(self._with_descendants(roots), RemovalReason.CONFLICT)

    def _track_removed_rate(self, rate: FeeRate) -> None:
        if rate.sat_per_kvb > self._rolling_min_fee:
            self._rolling_min_fee = float(rate.sat_per_kvb)
            self._block_since_bump = False

    def expire(self, cutoff: int) -> int:
        """Removes transactions that entered before `cutoff` (and their descendants)."""
        old = [t for t, e in self.entries.items() if e.time < cutoff]
        stage = self._with_descendants(old)
        self._remove_staged(stage, RemovalReason.EXPIRY)
        return len(stage)

    def trim_to_size(self, limit: int) -> list[bytes]:
        """Evicts the lowest descendant-score packages until usage <= limit; raises the rolling
        minimum fee to the evicted package's rate plus the incremental relay fee (TrimToSize)."""
        evicted: list[bytes] = []
        while self.entries and self.usage > limit:
            worst = min(self.entries.values(), key=_descendant_score_key)
            removed = FeeRate.from_fee(worst.desc_fee, worst.desc_size) + self.incremental_relay_fee
            self._track_removed_rate(removed)
            stage = self._with_descendants([worst.txid])
            evicted.extend(stage)
            self._remove_staged(stage, RemovalReason.SIZELIMIT)
        return evicted

    def _limit_size(self) -> None:
        self.expire(int(self.clock()) - self.expiry_seconds)
        self.trim_to_size(self.max_size_bytes)

    # --- chain events --------------------------------------------------------------------------

    def block_connected(self, block: Block, index: BlockIndex) -> None:
        """Core's removeForBlock: the block's transactions leave, and so do their conflicts."""
        if self._disconnected:
            in_block = {tx.txid for tx in block.vtx}
            self._disconnected = [tx for tx in self._disconnected if tx.txid not in in_block]
        confirmed = [tx.txid for tx in block.vtx if tx.txid in self.entries]
        self.estimator.process_block(index.height, confirmed)
        for tx in block.vtx:
            if tx.txid in self.entries:
                self._remove_staged({tx.txid}, RemovalReason.BLOCK)
            self._remove_conflicts(tx)
        self._last_rolling_update = int(self.clock())
        self._block_since_bump = True

    def block_disconnected(self, block: Block, index: BlockIndex) -> None:
        """Collects the block's transactions; they are re-accepted when the reorg is over."""
        self._disconnected[0:0] = [tx for tx in block.vtx if not tx.is_coinbase()]
        self._reorg_pending = True

    def tip_changed(self, tip: BlockIndex) -> None:
        self.finish_reorg()

    def finish_reorg(self) -> None:
        """Core's MaybeUpdateMempoolForReorg: re-accept disconnected transactions (oldest first,
        bypassing fee limits), drop what no longer fits, and then anything the new tip makes
        non-final, immature or unspendable."""
        if not self._reorg_pending:
            return
        pending, self._disconnected, self._reorg_pending = self._disconnected, [], False
        for tx in pending:
            result = self._accept(tx, test_only=False, bypass_limits=True)
            if not result.allowed:
                self.remove_recursive(tx, RemovalReason.REORG)
        self._relink()
        self._remove_for_reorg()
        self._limit_size()

    def _relink(self) -> None:
        """Recomputes every link and aggregate (after re-added parents gained in-pool children)."""
        for e in self.entries.values():
            e.parents = {i.prevout.hash for i in e.tx.vin if i.prevout.hash in self.entries}
            e.children = set()
            e._reset_aggregates()
        for t, e in self.entries.items():
            for p in e.parents:
                self.entries[p].children.add(t)
        for t, e in self.entries.items():
            for a in self.ancestors(t):
                anc = self.entries[a]
                e.anc_count += 1
                e.anc_size += anc.vsize
                e.anc_fee += anc.fee
                e.anc_sigops += anc.sigop_cost
                anc.desc_count += 1
                anc.desc_size += e.vsize
                anc.desc_fee += e.fee

    def _remove_for_reorg(self) -> None:
        _tip, height, mtp = self.next_block_context()
        bad = []
        for t, e in self.entries.items():
            tx = e.tx
            if not is_final_tx(tx, height, mtp):
                bad.append(t)
                continue
            heights = []
            for txin in tx.vin:
                if txin.prevout.hash in self.entries:
                    heights.append(height)
                    continue
                coin = self.chain.get_coin(txin.prevout)
                if coin is None or (coin.is_coinbase and height - coin.height < self.params.coinbase_maturity):
                    bad.append(t)
                    break
                heights.append(coin.height)
            else:
                if not sequence_locks_satisfied(tx, heights, height, self.mtp_at, mtp):
                    bad.append(t)
        self._remove_staged(self._with_descendants(bad), RemovalReason.REORG)

    def check(self) -> None:
        """Consistency check for tests (Core's CTxMemPool::check): links, aggregates, totals."""
        assert self.total_vsize == sum(e.vsize for e in self.entries.values())
        assert self.total_fee == sum(e.fee for e in self.entries.values())
        for t, e in self.entries.items():
            assert e.parents == {i.prevout.hash for i in e.tx.vin if i.prevout.hash in self.entries}, t.hex()
            for p in e.parents:
                assert t in self.entries[p].children
            anc = self.ancestors(t)
            desc = self.descendants(t)
            assert e.anc_count == 1 + len(anc)
            assert e.anc_size == e.vsize + sum(self.entries[a].vsize for a in anc)
            assert e.anc_fee == e.fee + sum(self.entries[a].fee for a in anc)
            assert e.anc_sigops == e.sigop_cost + sum(self.entries[a].sigop_cost for a in anc)
            assert e.desc_count == 1 + len(desc)
            assert e.desc_size == e.vsize + sum(self.entries[d].vsize for d in desc)
            assert e.desc_fee == e.fee + sum(self.entries[d].fee for d in desc)
            for txin in e.tx.vin:
                assert self.spenders[txin.prevout] == t

    def __iter__(self) -> Iterator[MempoolEntry]:
        return iter(list(self.entries.values()))


def ancestor_score_key(e: MempoolEntry) -> tuple[float, bytes]:
    """Sort key for Core's CompareTxMemPoolEntryByAncestorFee (best first)."""
    return (-ancestor_rate(e.fee, e.vsize, e.anc_fee, e.anc_size), e.txid)


def ancestor_rate(fee: int, size: int, anc_fee: int, anc_size: int) -> float:
    """The lower of a transaction's own fee rate and its package's (Core's GetModFeeAndSize)."""
    return anc_fee / anc_size if fee * anc_size > anc_fee * size else fee / size


def _descendant_score_key(e: MempoolEntry) -> tuple[float, int]:
    """Worst first: the higher of own and with-descendants fee rate; newer first on ties."""
    own, pkg = e.fee * e.desc_size, e.desc_fee * e.vsize
    rate = e.desc_fee / e.desc_size if pkg > own else e.fee / e.vsize
    return (rate, -e.time)
