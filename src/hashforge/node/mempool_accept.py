"""AcceptToMemoryPool's checks (Core's MemPoolAccept), as functions over a Mempool.

`pre_checks`, `replacement_checks` and `script_checks` run in that order and raise `Reject` with
Core's reject reason and TxValidationResult; the Mempool then adds the transaction (Finalize).
Nothing here changes the pool. Like the pool, call only from the node's chain worker thread.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hashforge.consensus.coins import Coin
from hashforge.consensus.interpreter import transaction_sigop_cost, verify_input
from hashforge.consensus.params import MAX_MONEY
from hashforge.consensus.script import is_witness_program
from hashforge.consensus.script_flags import (
    STANDARD_NOT_MANDATORY_VERIFY_FLAGS,
    STANDARD_SCRIPT_VERIFY_FLAGS,
    ScriptFlags,
)
from hashforge.consensus.sighash import PrecomputedTxData
from hashforge.consensus.tx import WITNESS_SCALE_FACTOR, OutPoint, Transaction, TxOut
from hashforge.consensus.tx_check import TxValidationError, check_transaction
from hashforge.consensus.validation import (
    block_script_flags,
    is_final_tx,
    sequence_locks_satisfied,
)

from .policy import (
    DEFAULT_ANCESTOR_LIMIT,
    DEFAULT_ANCESTOR_SIZE_LIMIT_KVB,
    DEFAULT_DESCENDANT_LIMIT,
    DEFAULT_DESCENDANT_SIZE_LIMIT_KVB,
    EXTRA_DESCENDANT_TX_SIZE_LIMIT,
    MAX_REPLACEMENT_CANDIDATES,
    MAX_STANDARD_TX_SIGOPS_COST,
    MIN_STANDARD_TX_NONWITNESS_SIZE,
    TRUC_ANCESTOR_LIMIT,
    TRUC_CHILD_MAX_VSIZE,
    TRUC_DESCENDANT_LIMIT,
    TRUC_MAX_VSIZE,
    TRUC_VERSION,
    FeeRate,
    are_inputs_standard,
    is_standard_tx,
    is_witness_standard,
)

if TYPE_CHECKING:
    from .mempool import Mempool

MEMPOOL_HEIGHT = 0x7FFFFFFF  # the height Core gives coins created by mempool transactions
DEFAULT_BYTES_PER_SIGOP = 20


class TxResult(enum.Enum):
    """Core's TxValidationResult: why a transaction was refused (the RPC maps these to errors)."""

    VALID = "valid"
    CONSENSUS = "consensus"
    INPUTS_NOT_STANDARD = "inputs-not-standard"
    NOT_STANDARD = "not-standard"
    MISSING_INPUTS = "missing-inputs"
    PREMATURE_SPEND = "premature-spend"
    WITNESS_MUTATED = "witness-mutated"
    WITNESS_STRIPPED = "witness-stripped"
    CONFLICT = "conflict"
    MEMPOOL_POLICY = "mempool-policy"
    RECONSIDERABLE = "reconsiderable"


@dataclass(frozen=True)
class MempoolAcceptResult:
    txid: bytes
    wtxid: bytes
    allowed: bool
    reject_reason: str | None = None
    debug: str = ""
    result: TxResult = TxResult.VALID
    vsize: int = 0
    fee: int = 0
    replaced: tuple[bytes, ...] = ()

    @property
    def effective_feerate(self) -> FeeRate:
        return FeeRate.from_fee(self.fee, self.vsize)

    @property
    def reject_message(self) -> str:
        """"reason (debug)" as Core's TxValidationState::ToString prints it."""
        if self.reject_reason is None:
            return ""
        return f"{self.reject_reason}, {self.debug}" if self.debug else self.reject_reason


@dataclass(frozen=True)
class Limits:
    ancestor_count: int = DEFAULT_ANCESTOR_LIMIT
    ancestor_size_vbytes: int = DEFAULT_ANCESTOR_SIZE_LIMIT_KVB * 1000
    descendant_count: int = DEFAULT_DESCENDANT_LIMIT
    descendant_size_vbytes: int = DEFAULT_DESCENDANT_SIZE_LIMIT_KVB * 1000



class Reject(Exception):
    def __init__(self, result: TxResult, reason: str, debug: str = "") -> None:
        super().__init__(reason)
        self.result, self.reason, self.debug = result, reason, debug


class LimitError(Exception):
    pass


@dataclass
class Workspace:
    tx: Transaction
    spent: list[TxOut] = field(default_factory=list)
    fee: int = 0
    vsize: int = 0
    sigop_cost: int = 0
    spends_coinbase: bool = False
    parents: set[bytes] = field(default_factory=set)
    ancestors: set[bytes] = field(default_factory=set)
    conflicts: set[bytes] = field(default_factory=set)
    all_conflicts: set[bytes] = field(default_factory=set)


def virtual_size(weight: int, sigop_cost: int, bytes_per_sigop: int = DEFAULT_BYTES_PER_SIGOP) -> int:
    """Core's GetVirtualTransactionSize: weight, or sigops priced as bytes if that is larger."""
    return (max(weight, sigop_cost * bytes_per_sigop) + WITNESS_SCALE_FACTOR - 1) // WITNESS_SCALE_FACTOR


def pre_checks(pool: Mempool, tx: Transaction, bypass_limits: bool) -> Workspace:
    """Core's PreChecks: everything short of RBF rules and scripts, cheapest first."""
    ws = Workspace(tx)
    try:
        check_transaction(tx)
    except TxValidationError as e:
        raise Reject(TxResult.CONSENSUS, e.reason, e.debug) from None
    if tx.is_coinbase():
        raise Reject(TxResult.CONSENSUS, "coinbase")
    if pool.require_standard:
        reason = is_standard_tx(tx, pool.policy)
        if reason is not None:
            raise Reject(TxResult.NOT_STANDARD, reason)
    if tx.base_size < MIN_STANDARD_TX_NONWITNESS_SIZE:
        raise Reject(TxResult.NOT_STANDARD, "tx-size-small")
    _tip, height, mtp = pool.next_block_context()
    if not is_final_tx(tx, height, mtp):
        raise Reject(TxResult.PREMATURE_SPEND, "non-final")
    if pool.get_by_wtxid(tx.wtxid) is not None:
        raise Reject(TxResult.CONFLICT, "txn-already-in-mempool")
    if tx.txid in pool.entries:
        raise Reject(TxResult.CONFLICT, "txn-same-nonwitness-data-in-mempool")

    for txin in tx.vin:
        conflict = pool.spenders.get(txin.prevout)
        if conflict is not None and conflict not in ws.conflicts:
            if not pool.full_rbf and not pool.signals_rbf(conflict):
                raise Reject(TxResult.CONFLICT, "txn-mempool-conflict")
            ws.conflicts.add(conflict)

    coins: list[Coin] = []
    for txin in tx.vin:
        coin = pool.view_coin(txin.prevout)
        if coin is None:
            for n in range(len(tx.vout)):
                if pool.chain.get_coin(OutPoint(tx.txid, n)) is not None:
                    raise Reject(TxResult.CONFLICT, "txn-already-known")
            raise Reject(TxResult.MISSING_INPUTS, "missing-inputs")
        coins.append(coin)
        if txin.prevout.hash in pool.entries:
            ws.parents.add(txin.prevout.hash)

    # Only transactions that can go into the next block: BIP68 against the tip.
    coin_heights = [height if c.height == MEMPOOL_HEIGHT else c.height for c in coins]
    if not sequence_locks_satisfied(tx, coin_heights, height, pool.mtp_at, mtp):
        raise Reject(TxResult.PREMATURE_SPEND, "non-BIP68-final")

    # Consensus::CheckTxInputs at the next height.
    value_in = 0
    for coin in coins:
        if coin.is_coinbase and height - coin.height < pool.params.coinbase_maturity:
            raise Reject(
                TxResult.PREMATURE_SPEND,
                "bad-txns-premature-spend-of-coinbase",
                f"tried to spend coinbase at depth {height - coin.height}",
            )
        value_in += coin.out.value
        if not 0 <= coin.out.value <= MAX_MONEY or not 0 <= value_in <= MAX_MONEY:
            raise Reject(TxResult.CONSENSUS, "bad-txns-inputvalues-outofrange")
    value_out = tx.value_out()
    if value_in < value_out:
        raise Reject(
            TxResult.CONSENSUS,
            "bad-txns-in-belowout",
            f"value in ({format_money(value_in)}) < value out ({format_money(value_out)})",
        )
    ws.fee = value_in - value_out
    ws.spent = [c.out for c in coins]
    ws.spends_coinbase = any(c.is_coinbase for c in coins)

    if pool.require_standard and not are_inputs_standard(tx, ws.spent):
        raise Reject(TxResult.INPUTS_NOT_STANDARD, "bad-txns-nonstandard-inputs")
    if tx.has_witness and pool.require_standard and not is_witness_standard(tx, ws.spent):
        raise Reject(TxResult.WITNESS_MUTATED, "bad-witness-nonstandard")

    ws.sigop_cost = transaction_sigop_cost(tx, ws.spent, STANDARD_SCRIPT_VERIFY_FLAGS)
    ws.vsize = virtual_size(tx.weight, ws.sigop_cost)
    if ws.sigop_cost > MAX_STANDARD_TX_SIGOPS_COST:
        raise Reject(TxResult.NOT_STANDARD, "bad-txns-too-many-sigops", str(ws.sigop_cost))

    if not bypass_limits:
        min_relay = pool.min_relay_fee.fee(ws.vsize)
        if tx.version != TRUC_VERSION and ws.fee < min_relay:
            raise Reject(TxResult.MEMPOOL_POLICY, "min relay fee not met", f"{ws.fee} < {min_relay}")
        pool_min = pool.min_fee().fee(ws.vsize)
        if pool_min > 0 and ws.fee < pool_min:
            raise Reject(TxResult.RECONSIDERABLE, "mempool min fee not met", f"{ws.fee} < {pool_min}")
        if ws.fee < min_relay:
            raise Reject(TxResult.RECONSIDERABLE, "min relay fee not met", f"{ws.fee} < {min_relay}")

    limits = pool.limits
    if len(ws.conflicts) == 1:
        # An RBF with one direct conflict is judged as if that conflict's package were gone.
        c = pool.entries[next(iter(ws.conflicts))]
        limits = Limits(
            limits.ancestor_count, limits.ancestor_size_vbytes,
            limits.descendant_count + 1, limits.descendant_size_vbytes + c.desc_size,
        )
    try:
        ws.ancestors = calculate_ancestors(pool, ws.parents, ws.vsize, limits)
    except LimitError as e:
        # CPFP carve-out: one more small child of a transaction with no other ancestors.
        carve_out = Limits(
            2, EXTRA_DESCENDANT_TX_SIZE_LIMIT,
            limits.descendant_count + 1, limits.descendant_size_vbytes + EXTRA_DESCENDANT_TX_SIZE_LIMIT,
        )
        if ws.vsize > EXTRA_DESCENDANT_TX_SIZE_LIMIT or tx.version == TRUC_VERSION:
            raise Reject(TxResult.MEMPOOL_POLICY, "too-long-mempool-chain", str(e)) from None
        try:
            ws.ancestors = calculate_ancestors(pool, ws.parents, ws.vsize, carve_out)
        except LimitError:
            raise Reject(TxResult.MEMPOOL_POLICY, "too-long-mempool-chain", str(e)) from None

    truc_error = truc_checks(pool, ws)
    if truc_error is not None:
        raise Reject(TxResult.MEMPOOL_POLICY, "TRUC-violation", truc_error)

    both = ws.ancestors & ws.conflicts
    if both:
        raise Reject(
            TxResult.CONSENSUS,
            "bad-txns-spends-conflicting-tx",
            f"{tx.txid_hex} spends conflicting transaction {next(iter(both))[::-1].hex()}",
        )
    return ws

def calculate_ancestors(pool: Mempool, parents: set[bytes], vsize: int, limits: Limits) -> set[bytes]:
    """Core's CalculateAncestorsAndCheckLimits for one new transaction."""
    if len(parents) + 1 > limits.ancestor_count:
        raise LimitError(f"too many unconfirmed parents [limit: {limits.ancestor_count}]")
    ancestors: set[bytes] = set()
    staged = set(parents)
    total_size = vsize
    while staged:
        txid = min(staged)
        staged.discard(txid)
        ancestors.add(txid)
        e = pool.entries[txid]
        total_size += e.vsize
        if e.desc_size + vsize > limits.descendant_size_vbytes:
            raise LimitError(
                f"exceeds descendant size limit for tx {e.tx.txid_hex} [limit: {limits.descendant_size_vbytes}]"
            )
        if e.desc_count + 1 > limits.descendant_count:
            raise LimitError(f"too many descendants for tx {e.tx.txid_hex} [limit: {limits.descendant_count}]")
        if total_size > limits.ancestor_size_vbytes:
            raise LimitError(f"exceeds ancestor size limit [limit: {limits.ancestor_size_vbytes}]")
        for p in e.parents:
            if p not in ancestors:
                staged.add(p)
            if len(staged) + len(ancestors) + 1 > limits.ancestor_count:
                raise LimitError(f"too many unconfirmed ancestors [limit: {limits.ancestor_count}]")
    return ancestors

def truc_checks(pool: Mempool, ws: Workspace) -> str | None:
    """Core's SingleTRUCChecks (BIP431), without sibling eviction."""
    tx = ws.tx
    ids = f"{tx.txid_hex} (wtxid={tx.wtxid_hex})"
    for a in sorted(ws.ancestors):
        anc = pool.entries[a].tx
        a_ids = f"{anc.txid_hex} (wtxid={anc.wtxid_hex})"
        if tx.version != TRUC_VERSION and anc.version == TRUC_VERSION:
            return f"non-version=3 tx {ids} cannot spend from version=3 tx {a_ids}"
        if tx.version == TRUC_VERSION and anc.version != TRUC_VERSION:
            return f"version=3 tx {ids} cannot spend from non-version=3 tx {a_ids}"
    if tx.version != TRUC_VERSION:
        return None
    if ws.vsize > TRUC_MAX_VSIZE:
        return f"version=3 tx {ids} is too big: {ws.vsize} > {TRUC_MAX_VSIZE} virtual bytes"
    if len(ws.ancestors) + 1 > TRUC_ANCESTOR_LIMIT:
        return f"tx {ids} would have too many ancestors"
    if ws.ancestors:
        if ws.vsize > TRUC_CHILD_MAX_VSIZE:
            return f"version=3 child tx {ids} is too big: {ws.vsize} > {TRUC_CHILD_MAX_VSIZE} virtual bytes"
        parent = pool.entries[next(iter(ws.ancestors))]
        child_replaced = any(c in ws.conflicts for c in parent.children)
        if parent.desc_count + 1 > TRUC_DESCENDANT_LIMIT and not child_replaced:
            p = parent.tx
            return f"tx {p.txid_hex} (wtxid={p.wtxid_hex}) would exceed descendant count limit"
    return None

def replacement_checks(pool: Mempool, ws: Workspace) -> None:
    """Full RBF (Core >= 28): BIP125 rules 2-6 without the signaling requirement."""
    tx = ws.tx
    new_rate = FeeRate.from_fee(ws.fee, ws.vsize)
    for c in sorted(ws.conflicts):
        e = pool.entries[c]
        old_rate = e.feerate
        if new_rate <= old_rate:
            raise Reject(
                TxResult.RECONSIDERABLE,
                "insufficient fee",
                f"rejecting replacement {tx.txid_hex}; new feerate {new_rate} <= old feerate {old_rate}",
            )
    count = sum(pool.entries[c].desc_count for c in ws.conflicts)
    if count > MAX_REPLACEMENT_CANDIDATES:
        raise Reject(
            TxResult.MEMPOOL_POLICY,
            "too many potential replacements",
            f"rejecting replacement {tx.txid_hex}; too many potential replacements "
            f"({count} > {MAX_REPLACEMENT_CANDIDATES})\n",
        )
    for c in ws.conflicts:
        ws.all_conflicts.add(c)
        ws.all_conflicts |= pool.descendants(c)
    parents_of_conflicts = {txin.prevout.hash for c in ws.all_conflicts for txin in pool.entries[c].tx.vin}
    for j, txin in enumerate(tx.vin):
        if txin.prevout.hash not in parents_of_conflicts and txin.prevout.hash in pool.entries:
            raise Reject(
                TxResult.MEMPOOL_POLICY,
                "replacement-adds-unconfirmed",
                f"replacement {tx.txid_hex} adds unconfirmed input, idx {j}",
            )
    old_fees = sum(pool.entries[c].fee for c in ws.all_conflicts)
    if ws.fee < old_fees:
        raise Reject(
            TxResult.RECONSIDERABLE,
            "insufficient fee",
            f"rejecting replacement {tx.txid_hex}, less fees than conflicting txs; "
            f"{format_money(ws.fee)} < {format_money(old_fees)}",
        )
    needed = pool.incremental_relay_fee.fee(ws.vsize)
    if ws.fee - old_fees < needed:
        raise Reject(
            TxResult.RECONSIDERABLE,
            "insufficient fee",
            f"rejecting replacement {tx.txid_hex}, not enough additional fees to relay; "
            f"{format_money(ws.fee - old_fees)} < {format_money(needed)}",
        )

def script_checks(pool: Mempool, ws: Workspace) -> None:
    """PolicyScriptChecks, then ConsensusScriptChecks.

    Every flag only ever adds restrictions, so a transaction valid under the standard flags is
    valid under the next block's consensus flags whenever those are a subset of them (they
    always are today); the second pass runs only for flags the standard set lacks.
    """
    tx = ws.tx
    txdata = PrecomputedTxData(tx, ws.spent)
    flags = STANDARD_SCRIPT_VERIFY_FLAGS
    for i, prev in enumerate(ws.spent):
        err = verify_input(tx, i, prev, flags, txdata=txdata)
        if err is None:
            continue
        kind = TxResult.CONSENSUS
        if not tx.has_witness and any(is_witness_program(p.script_pubkey) for p in ws.spent):
            kind = TxResult.WITNESS_STRIPPED
        if flags & STANDARD_NOT_MANDATORY_VERIFY_FLAGS:
            relaxed = ScriptFlags(flags & ~STANDARD_NOT_MANDATORY_VERIFY_FLAGS)
            if verify_input(tx, i, prev, relaxed, txdata=txdata) is None:
                raise Reject(
                    TxResult.NOT_STANDARD if kind is TxResult.CONSENSUS else kind,
                    f"non-mandatory-script-verify-flag ({err.message})",
                )
        raise Reject(kind, f"mandatory-script-verify-flag-failed ({err.message})")
    consensus = block_script_flags(b"\x00" * 32, pool.chain.height + 1, pool.params)
    if consensus & ~flags:
        for i, prev in enumerate(ws.spent):
            err = verify_input(tx, i, prev, consensus, txdata=txdata)
            if err is not None:
                raise Reject(TxResult.CONSENSUS, f"mandatory-script-verify-flag-failed ({err.message})")
        pool.chain.script_cache.add(tx.wtxid, consensus)
    # the block that confirms it need not run these scripts again (ChainManager.script_cache)
    pool.chain.script_cache.add(tx.wtxid, flags)


def format_money(sats: int) -> str:
    """Core's FormatMoney: at least two decimals."""
    sign = "-" if sats < 0 else ""
    q, r = divmod(abs(sats), 100_000_000)
    frac = f"{r:08d}".rstrip("0")
    return f"{sign}{q}.{frac.ljust(2, '0')}"
