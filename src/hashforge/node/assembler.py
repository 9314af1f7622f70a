"""Block templates: Core's BlockAssembler (package selection by ancestor fee rate) and BIP22/23 data.

`BlockAssembler.create_template` picks mempool transactions as Core's addPackageTxs does: best
ancestor-score package first, re-scoring the descendants of what went in ("modified" entries),
within the block weight and sigop limits and a coinbase reserve, and only transactions final at
the new height. The template carries everything `getblocktemplate` answers with; `template_to_block`
and `mine_block` turn it into a block (regtest `generatetoaddress`, tests).

Threading: like the mempool, call it from the node's chain worker thread only.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from hashforge.consensus.block import (
    Block,
    BlockHeader,
    merkle_root,
    witness_commitment,
    witness_commitment_script,
)
from hashforge.consensus.params import (
    MAX_BLOCK_SERIALIZED_SIZE,
    MAX_BLOCK_SIGOPS_COST,
    MAX_BLOCK_WEIGHT,
    ChainParams,
)
from hashforge.consensus.pow import bip34_height_script, bits_to_target, block_subsidy, mine_header
from hashforge.consensus.script import legacy_sigop_count, push_int
from hashforge.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from hashforge.consensus.validation import is_final_tx

from .chain import ChainManager
from .mempool import Mempool, MempoolEntry, ancestor_rate, ancestor_score_key
from .policy import DEFAULT_BLOCK_MAX_WEIGHT, DEFAULT_BLOCK_MIN_TX_FEE, FeeRate

VERSIONBITS_TOP_BITS = 0x20000000
COINBASE_RESERVED_WEIGHT = 4000  # room kept for the coinbase (Core's resetBlock)
COINBASE_RESERVED_SIGOPS = 400
MAX_CONSECUTIVE_FAILURES = 1000
BLOCK_FULL_ENOUGH_WEIGHT_DELTA = 4000
MAX_TIMEWARP = 600  # BIP94


@dataclass(frozen=True)
class TemplateTx:
    """One transaction of a template, with what getblocktemplate reports about it."""

    tx: Transaction
    fee: int
    sigop_cost: int
    weight: int
    depends: tuple[int, ...]  # 1-based positions of in-template parents (BIP22)

    @property
    def txid(self) -> bytes:
        return self.tx.txid

    @property
    def wtxid(self) -> bytes:
        return self.tx.wtxid


@dataclass(frozen=True)
class BlockTemplate:
    """A block to mine on `previous_block_hash`; hashes in internal byte order."""

    version: int
    previous_block_hash: bytes
    height: int
    bits: int
    target: int
    curtime: int
    mintime: int
    transactions: tuple[TemplateTx, ...]
    subsidy: int
    fees: int
    segwit_active: bool
    default_witness_commitment: bytes | None  # the coinbase output script, when segwit is active
    coinbase_script_pubkey: bytes | None
    coinbase_tx: Transaction | None  # built when a payout script was given
    transactions_updated: int  # the mempool's change counter when this was made (longpollid)
    sigop_limit: int = MAX_BLOCK_SIGOPS_COST
    weight_limit: int = MAX_BLOCK_WEIGHT
    size_limit: int = MAX_BLOCK_SERIALIZED_SIZE

    @property
    def coinbase_value(self) -> int:
        return self.subsidy + self.fees

    @property
    def rules(self) -> tuple[str, ...]:
        """getblocktemplate's "rules" (Core: csv, !segwit and taproot once segwit is active)."""
        return ("csv", "!segwit", "taproot") if self.segwit_active else ("csv",)

    @property
    def longpollid(self) -> str:
        return self.previous_block_hash[::-1].hex() + str(self.transactions_updated)

    def coinbase(self, script_pubkey: bytes, extra_nonce: int = 0, flags: bytes = b"") -> Transaction:
        """A coinbase paying subsidy + fees to `script_pubkey`: BIP34 height, extra nonce and
        flags in the scriptSig, the witness commitment as a second output when segwit is active."""
        script_sig = bip34_height_script(self.height) + push_int(extra_nonce) + flags
        outs = [TxOut(self.coinbase_value, script_pubkey)]
        witness: tuple[bytes, ...] = ()
        if self.default_witness_commitment is not None:
            outs.append(TxOut(0, self.default_witness_commitment))
            witness = (b"\x00" * 32,)
        return Transaction(2, (TxIn(OutPoint(), script_sig, 0xFFFFFFFF, witness),), tuple(outs), 0)

    def coinbase_sigop_cost(self, coinbase: Transaction) -> int:
        return 4 * legacy_sigop_count(coinbase)


def template_to_block(
    template: BlockTemplate,
    coinbase_tx: Transaction | None = None,
    nonce: int = 0,
    time: int | None = None,
    version: int | None = None,
) -> Block:
    """The template's block with `coinbase_tx` (default: the template's own), merkle root filled in."""
    coinbase = coinbase_tx or template.coinbase_tx
    if coinbase is None:
        raise ValueError("no coinbase: pass one or create the template with a payout script")
    vtx = (coinbase, *(t.tx for t in template.transactions))
    root, _ = merkle_root([t.txid for t in vtx])
    header = BlockHeader(
        template.version if version is None else version,
        template.previous_block_hash,
        root,
        template.curtime if time is None else time,
        template.bits,
        nonce,
    )
    return Block(header, vtx)


def mine_block(template: BlockTemplate, params: ChainParams, max_extra_nonce: int = 1000) -> Block:
    """Grinds nonces (and, when a nonce range runs out, the extra nonce) until the header meets the
    template's target. Pure Python: meant for regtest/devnet difficulty."""
    for extra in range(max_extra_nonce):
        if extra == 0 and template.coinbase_tx is not None:
            coinbase = template.coinbase_tx
        elif template.coinbase_script_pubkey is not None:
            coinbase = template.coinbase(template.coinbase_script_pubkey, extra_nonce=extra)
        else:
            raise ValueError("mining needs a template created with a payout script")
        block = template_to_block(template, coinbase)
        header = mine_header(block.header, params)
        if header is not None:
            return Block(header, block.vtx)
    raise RuntimeError("no block found within the nonce and extra-nonce ranges")


class BlockAssembler:
    def __init__(
        self,
        chain: ChainManager,
        mempool: Mempool,
        params: ChainParams,
        *,
        block_max_weight: int = DEFAULT_BLOCK_MAX_WEIGHT,
        block_min_fee: int = DEFAULT_BLOCK_MIN_TX_FEE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chain = chain
        self.mempool = mempool
        self.params = params
        self.block_max_weight = max(COINBASE_RESERVED_WEIGHT, min(block_max_weight, MAX_BLOCK_WEIGHT - 4000))
        self.block_min_fee = FeeRate(block_min_fee)
        self.clock = clock
        self.last_template: BlockTemplate | None = None  # the one current_template() returned last
        self._last_key: tuple[bytes, int] | None = None

    def current_template(self) -> BlockTemplate:
        """The template for the current tip and mempool, built again only when either changed
        (miners poll getblocktemplate far more often than that); its curtime is the build time."""
        key = (self.chain.tip.hash, self.mempool.transactions_updated)
        if self.last_template is None or self._last_key != key:
            self.last_template = self.create_template()
            self._last_key = key
        return self.last_template

    def create_template(
        self,
        coinbase_script_pubkey: bytes | None = None,
        *,
        extra_nonce: int = 0,
        coinbase_flags: bytes = b"",
        now: int | None = None,
    ) -> BlockTemplate:
        """Core's CreateNewBlock on the current tip."""
        self.mempool.finish_reorg()
        tip = self.chain.tip
        height = tip.height + 1
        mtp = tip.median_time_past()
        curtime = max(mtp + 1, int(self.clock()) if now is None else now)
        if self.params.enforce_bip94 and height % self.params.difficulty_adjustment_interval == 0:
            curtime = max(curtime, tip.header.time - MAX_TIMEWARP)
        bits = self.chain.next_bits(tip, curtime)
        entries = self._select(height, mtp)
        position = {e.txid: i + 1 for i, e in enumerate(entries)}
        txs = tuple(
            TemplateTx(
                e.tx, e.fee, e.sigop_cost, e.weight,
                tuple(sorted(position[p] for p in e.parents if p in position)),
            )
            for e in entries
        )
        segwit = height >= self.params.segwit_height
        commitment = None
        if segwit:
            root, _ = merkle_root([b"\x00" * 32, *(t.wtxid for t in txs)])
            commitment = witness_commitment_script(witness_commitment(root))
        template = BlockTemplate(
            version=VERSIONBITS_TOP_BITS,
            previous_block_hash=tip.hash,
            height=height,
            bits=bits,
            target=bits_to_target(bits),
            curtime=curtime,
            mintime=mtp + 1,
            transactions=txs,
            subsidy=block_subsidy(height, self.params),
            fees=sum(t.fee for t in txs),
            segwit_active=segwit,
            default_witness_commitment=commitment,
            coinbase_script_pubkey=coinbase_script_pubkey,
            coinbase_tx=None,
            transactions_updated=self.mempool.transactions_updated,
        )
        if coinbase_script_pubkey is None:
            return template
        coinbase = template.coinbase(coinbase_script_pubkey, extra_nonce, coinbase_flags)
        return replace(template, coinbase_tx=coinbase)

    def _select(self, height: int, lock_time_cutoff: int) -> list[MempoolEntry]:
        """Core's addPackageTxs: returns the chosen entries in block order."""
        pool = self.mempool
        ordered = pool.entries_by_ancestor_score()
        in_block: set[bytes] = set()
        failed: set[bytes] = set()
        chosen: list[MempoolEntry] = []
        # txid -> ancestor (vsize, fee, sigops) with ancestors already in the block taken out
        modified: dict[bytes, tuple[int, int, int]] = {}
        heap: list[tuple[tuple[float, bytes], bytes, tuple[int, int, int]]] = []
        block_weight = COINBASE_RESERVED_WEIGHT
        block_sigops = COINBASE_RESERVED_SIGOPS
        consecutive_failed = 0
        i = 0

        def best_modified() -> tuple[bytes, tuple[int, int, int]] | None:
            while heap:
                _key, txid, agg = heap[0]
                if modified.get(txid) == agg:
                    return txid, agg
                heapq.heappop(heap)
            return None

        while i < len(ordered) or best_modified() is not None:
            if i < len(ordered):
                e = ordered[i]
                if e.txid in modified or e.txid in in_block or e.txid in failed:
                    i += 1
                    continue
            mod = best_modified()
            using_modified = False
            if i >= len(ordered):
                assert mod is not None
                entry = pool.entries[mod[0]]
                using_modified = True
            else:
                entry = ordered[i]
                if mod is not None:
                    m = pool.entries[mod[0]]
                    mod_key = (-ancestor_rate(m.fee, m.vsize, mod[1][1], mod[1][0]), m.txid)
                    if mod_key < ancestor_score_key(entry):
                        entry, using_modified = m, True
                if not using_modified:
                    i += 1
            if using_modified:
                assert mod is not None
                size, fee, sigops = mod[1]
            else:
                size, fee, sigops = entry.anc_size, entry.anc_fee, entry.anc_sigops

            if fee < self.block_min_fee.fee(size):
                break  # everything left pays less

            if block_weight + 4 * size >= self.block_max_weight or block_sigops + sigops >= MAX_BLOCK_SIGOPS_COST:
                if using_modified:
                    del modified[entry.txid]
                    failed.add(entry.txid)
                consecutive_failed += 1
                if (
                    consecutive_failed > MAX_CONSECUTIVE_FAILURES
                    and block_weight > self.block_max_weight - BLOCK_FULL_ENOUGH_WEIGHT_DELTA
                ):
                    break
                continue

            package = [pool.entries[a] for a in pool.ancestors(entry.txid) if a not in in_block]
            package.append(entry)
            if not all(is_final_tx(p.tx, height, lock_time_cutoff) for p in package):
                if using_modified:
                    del modified[entry.txid]
                    failed.add(entry.txid)
                continue
            consecutive_failed = 0
            package.sort(key=lambda p: (p.anc_count, p.txid))
            for p in package:
                chosen.append(p)
                in_block.add(p.txid)
                block_weight += p.weight
                block_sigops += p.sigop_cost
                modified.pop(p.txid, None)
            # UpdatePackagesForAdded: descendants now need fewer (and cheaper) ancestors.
            for p in package:
                for d in pool.descendants(p.txid):
                    if d in in_block:
                        continue
                    de = pool.entries[d]
                    s, f, so = modified.get(d, (de.anc_size, de.anc_fee, de.anc_sigops))
                    agg = (s - p.vsize, f - p.fee, so - p.sigop_cost)
                    modified[d] = agg
                    heapq.heappush(heap, ((-ancestor_rate(de.fee, de.vsize, agg[1], agg[0]), d), d, agg))
        return chosen
