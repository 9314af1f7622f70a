"""Block and transaction validity rules (Core's CheckBlock, ContextualCheckBlock[Header], ConnectBlock inputs).

Everything here is pure: the caller supplies chain context (height, median-time-past, expected bits)
and a UtxoView; nothing is written. The node applies the returned changes atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from .block import Block, BlockHeader, witness_commitment, witness_commitment_index
from .coins import Coin, UtxoView
from .fastpath import deferred_error
from .interpreter import transaction_sigop_cost, verify_transaction
from .params import (
    MAX_BLOCK_SIGOPS_COST,
    MAX_BLOCK_WEIGHT,
    MAX_FUTURE_BLOCK_TIME,
    MAX_MONEY,
    ChainParams,
)
from .pow import bip34_height_script, block_subsidy, check_proof_of_work, pow_hash
from .script import legacy_sigop_count
from .script_flags import ScriptFlags
from .tx import WITNESS_SCALE_FACTOR, OutPoint, Transaction, TxOut
from .tx_check import TxValidationError, check_transaction

if TYPE_CHECKING:
    from .sigqueue import SigQueue

LOCKTIME_THRESHOLD = 500_000_000
_CHECKSEQUENCEVERIFY = ScriptFlags.CHECKSEQUENCEVERIFY.value
SEQUENCE_LOCKTIME_DISABLE_FLAG = 1 << 31
SEQUENCE_LOCKTIME_TYPE_FLAG = 1 << 22
SEQUENCE_LOCKTIME_MASK = 0x0000FFFF
SEQUENCE_LOCKTIME_GRANULARITY = 9

# Blocks that broke a soft fork's rules before it was enforced, validated with fewer flags
# (Core's script_flag_exceptions): BIP16 in mainnet block 170,060 and testnet3 (NONE); taproot
# in mainnet block 692,261 (outputs spent without a witness: P2SH|WITNESS only).
BIP16_EXCEPTION = bytes.fromhex("00000000000002dc756eebf4f49723ed8d30cc28a5f108eb94b1ba88ac4f9c22")[::-1]
SCRIPT_FLAG_EXCEPTIONS: dict[tuple[str, bytes], ScriptFlags] = {
    ("mainnet", BIP16_EXCEPTION): ScriptFlags.NONE,
    ("mainnet", bytes.fromhex("0000000000000000000f14c35b2d841e986ab5441de8c585d5ffe55ea1e395ad")[::-1]):
        ScriptFlags.P2SH | ScriptFlags.WITNESS,
    ("testnet3", bytes.fromhex("00000000dd30457c001f4095d208cc1296b0eed002427aa599874af7a432b105")[::-1]):
        ScriptFlags.NONE,
}


MUTATION_REASONS = frozenset(
    {"bad-txnmrklroot", "bad-txns-duplicate", "bad-witness-nonce-size", "bad-witness-merkle-match", "unexpected-witness"}
)


class BlockValidationError(ValueError):
    """A block breaks a consensus rule; `reason` is Core's reject reason (e.g. 'bad-txnmrklroot')."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

    @property
    def mutated(self) -> bool:
        """True when the failure may come from tampering with a valid block's transactions."""
        return self.reason in MUTATION_REASONS


# --- context-free ------------------------------------------------------------------------


def check_block_header(header: BlockHeader, params: ChainParams) -> None:
    if not check_proof_of_work(pow_hash(header, params), header.bits, params):
        raise BlockValidationError("high-hash", "proof of work failed")


def check_block(
    block: Block, params: ChainParams, check_pow: bool = True, check_merkle_root: bool = True
) -> None:
    """Core's CheckBlock: everything that can be checked without chain context."""
    if check_pow:
        check_block_header(block.header, params)
    if check_merkle_root:
        root, mutated = block.compute_merkle_root()
        if root != block.header.merkle_root:
            raise BlockValidationError("bad-txnmrklroot", "hashMerkleRoot mismatch")
        if mutated:
            raise BlockValidationError("bad-txns-duplicate", "duplicate transaction")
    if (
        not block.vtx
        or len(block.vtx) * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT
        or block.base_size * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT
    ):
        raise BlockValidationError("bad-blk-length", "size limits failed")
    if not block.vtx[0].is_coinbase():
        raise BlockValidationError("bad-cb-missing", "first tx is not coinbase")
    if any(tx.is_coinbase() for tx in block.vtx[1:]):
        raise BlockValidationError("bad-cb-multiple", "more than one coinbase")
    for tx in block.vtx:
        try:
            check_transaction(tx)
        except TxValidationError as e:
            raise BlockValidationError(e.reason, f"transaction check failed ({tx.txid_hex})") from e
    sigops = sum(legacy_sigop_count(tx) for tx in block.vtx)
    if sigops * WITNESS_SCALE_FACTOR > MAX_BLOCK_SIGOPS_COST:
        raise BlockValidationError("bad-blk-sigops", "out-of-bounds SigOpCount")


# --- contextual ----------------------------------------------------------------------------


def check_header_context(
    header: BlockHeader,
    height: int,
    expected_bits: int,
    median_time_past: int,
    adjusted_time: int,
    params: ChainParams,
) -> None:
    """Core's ContextualCheckBlockHeader, given what the chain says about the parent."""
    if header.bits != expected_bits:
        raise BlockValidationError(
            "bad-diffbits", f"incorrect proof of work: expected {expected_bits:08x}, got {header.bits:08x}"
        )
    if header.time <= median_time_past:
        raise BlockValidationError("time-too-old", "block's timestamp is too early")
    check_block_time(header, adjusted_time)
    for version, active_height in ((2, params.bip34_height), (3, params.bip66_height), (4, params.bip65_height)):
        if header.version < version and height >= active_height:
            raise BlockValidationError(
                f"bad-version(0x{header.version & 0xFFFFFFFF:08x})", f"rejected nVersion={header.version} block"
            )


def check_block_time(header: BlockHeader, adjusted_time: int) -> None:
    """The 2-hour future limit against the node's network-adjusted time."""
    if header.time > adjusted_time + MAX_FUTURE_BLOCK_TIME:
        raise BlockValidationError("time-too-new", "block timestamp too far in the future")


def is_final_tx(tx: Transaction, height: int, block_time: int) -> bool:
    if tx.locktime == 0:
        return True
    cutoff = height if tx.locktime < LOCKTIME_THRESHOLD else block_time
    if tx.locktime < cutoff:
        return True
    return all(i.sequence == 0xFFFFFFFF for i in tx.vin)


def check_block_context(
    block: Block, height: int, median_time_past: int, params: ChainParams
) -> None:
    """Core's ContextualCheckBlock: finality, BIP34 height, witness commitment, weight."""
    locktime_cutoff = median_time_past if height >= params.csv_height else block.header.time
    for tx in block.vtx:
        if not is_final_tx(tx, height, locktime_cutoff):
            raise BlockValidationError("bad-txns-nonfinal", f"non-final transaction {tx.txid_hex}")
    if height >= params.bip34_height:
        prefix = bip34_height_script(height)
        if block.vtx[0].vin[0].script_sig[: len(prefix)] != prefix:
            raise BlockValidationError("bad-cb-height", "block height mismatch in coinbase")

    has_witness_commitment = False
    if height >= params.segwit_height:
        idx = witness_commitment_index(block.vtx[0])
        if idx is not None:
            witness = block.vtx[0].vin[0].witness
            if len(witness) != 1 or len(witness[0]) != 32:
                raise BlockValidationError("bad-witness-nonce-size", "invalid witness reserved value size")
            root, _ = block.compute_witness_merkle_root()
            if block.vtx[0].vout[idx].script_pubkey[6:38] != witness_commitment(root, witness[0]):
                raise BlockValidationError("bad-witness-merkle-match", "witness merkle commitment mismatch")
            has_witness_commitment = True
    if not has_witness_commitment and any(tx.has_witness for tx in block.vtx):
        raise BlockValidationError("unexpected-witness", "unexpected witness data found")
    if block.weight > MAX_BLOCK_WEIGHT:
        raise BlockValidationError("bad-blk-weight", "weight limit failed")


# --- inputs, scripts, fees (ConnectBlock) --------------------------------------------------


def block_script_flags(block_hash: bytes, height: int, params: ChainParams) -> ScriptFlags:
    """Consensus script flags for a block at `height` (Core's GetBlockScriptFlags)."""
    exception = SCRIPT_FLAG_EXCEPTIONS.get((params.name, block_hash))
    key = (
        exception,
        height >= params.bip66_height,
        height >= params.bip65_height,
        height >= params.csv_height,
        height >= params.segwit_height,
    )
    flags = _FLAGS_MEMO.get(key)
    if flags is None:  # a handful of combinations per network: Flag arithmetic once, not per block
        _, dersig, cltv, csv, segwit = key
        flags = ScriptFlags.P2SH | ScriptFlags.WITNESS | ScriptFlags.TAPROOT if exception is None else exception
        if dersig:
            flags |= ScriptFlags.DERSIG
        if cltv:
            flags |= ScriptFlags.CHECKLOCKTIMEVERIFY
        if csv:
            flags |= ScriptFlags.CHECKSEQUENCEVERIFY
        if segwit:
            flags |= ScriptFlags.NULLDUMMY
        _FLAGS_MEMO[key] = flags
    return flags


_FLAGS_MEMO: dict[tuple[ScriptFlags | None, bool, bool, bool, bool], ScriptFlags] = {}


def sequence_locks_satisfied(
    tx: Transaction,
    coin_heights: list[int],
    height: int,
    median_time_past_at: Callable[[int], int],
    prev_median_time_past: int,
) -> bool:
    """BIP68 relative lock-time: `median_time_past_at(h)` gives the MTP of the block at height h."""
    if tx.version < 2:
        return True
    min_height, min_time = -1, -1
    for txin, coin_height in zip(tx.vin, coin_heights, strict=True):
        seq = txin.sequence
        if seq & SEQUENCE_LOCKTIME_DISABLE_FLAG:
            continue
        if seq & SEQUENCE_LOCKTIME_TYPE_FLAG:
            coin_time = median_time_past_at(max(coin_height - 1, 0))
            min_time = max(min_time, coin_time + ((seq & SEQUENCE_LOCKTIME_MASK) << SEQUENCE_LOCKTIME_GRANULARITY) - 1)
        else:
            min_height = max(min_height, coin_height + (seq & SEQUENCE_LOCKTIME_MASK) - 1)
    return min_height < height and min_time < prev_median_time_past


@dataclass(frozen=True)
class ScriptCheck:
    """One transaction's script verification, separable so callers can run them in parallel."""

    tx: Transaction
    spent_outputs: tuple[TxOut, ...]
    flags: ScriptFlags

    def __call__(self) -> str | None:
        """None if every input is valid, else "input N: ERROR_NAME" for the first failure."""
        return self.run()

    def run(self, sig_queue: SigQueue | None = None, tag: int = 0) -> str | None:
        """As calling it; with `sig_queue`, P2WPKH signatures go to the queue under `tag + input`
        and None means valid unless one of those tags fails."""
        failure = verify_transaction(self.tx, self.spent_outputs, self.flags, sig_queue=sig_queue, tag=tag)
        return None if failure is None else f"input {failure[0]}: {failure[1].name}"


@dataclass(frozen=True)
class ConnectResult:
    fees: int
    sigop_cost: int
    spent: tuple[tuple[OutPoint, Coin], ...]  # undo data, in spend order
    script_checks: tuple[ScriptCheck, ...]


class _BlockView:
    """The caller's UTXO view plus this block's own outputs, minus what the block spent."""

    def __init__(self, base: UtxoView) -> None:
        self.base = base
        self.added: dict[OutPoint, Coin] = {}
        self.spent: set[OutPoint] = set()

    def get_coin(self, outpoint: OutPoint) -> Coin | None:
        if outpoint in self.spent:
            return None
        coin = self.added.get(outpoint)
        return coin if coin is not None else self.base.get_coin(outpoint)

    def add_outputs(self, tx: Transaction, height: int) -> None:
        for n, out in enumerate(tx.vout):
            self.added[OutPoint(tx.txid, n)] = Coin(out, height, tx.is_coinbase())


def connect_block(
    block: Block,
    height: int,
    view: UtxoView,
    params: ChainParams,
    median_time_past_at: Callable[[int], int] | None = None,
    prev_median_time_past: int = 0,
) -> ConnectResult:
    """Checks every input against `view` (Core's ConnectBlock minus the writes).

    Returns the fees, undo data and the script checks still to run (see `run_script_checks`), so the
    node can verify signatures off its event loop and in parallel.
    """
    flags = block_script_flags(block.hash, height, params)
    iflags = int(flags)  # IntFlag operators cost a Python call each; this loop runs per input
    bview = _BlockView(view)
    fees = 0
    sigop_cost = 0
    undo: list[tuple[OutPoint, Coin]] = []
    checks: list[ScriptCheck] = []
    # After BIP34 coinbases carry their height, so txids cannot repeat (Core skips BIP30 likewise).
    enforce_bip30 = height < params.bip34_height and not any(
        h == height and bh == block.hash for h, bh in params.bip30_exceptions
    )
    for tx in block.vtx:
        if enforce_bip30:
            for n in range(len(tx.vout)):
                if bview.get_coin(OutPoint(tx.txid, n)) is not None:
                    raise BlockValidationError("bad-txns-BIP30", "tried to overwrite transaction")
        if tx.is_coinbase():
            sigop_cost += transaction_sigop_cost(tx, [], iflags)
        else:
            coins: list[Coin] = []
            for txin in tx.vin:
                coin = bview.get_coin(txin.prevout)
                if coin is None:
                    raise BlockValidationError(
                        "bad-txns-inputs-missingorspent", f"{tx.txid_hex} input {txin.prevout} missing or spent"
                    )
                if coin.is_coinbase and height - coin.height < params.coinbase_maturity:
                    raise BlockValidationError(
                        "bad-txns-premature-spend-of-coinbase",
                        f"tried to spend coinbase at depth {height - coin.height}",
                    )
                coins.append(coin)
            value_in = 0
            for c in coins:
                value_in += c.out.value
                if not 0 <= c.out.value <= MAX_MONEY or not 0 <= value_in <= MAX_MONEY:
                    raise BlockValidationError("bad-txns-inputvalues-outofrange", tx.txid_hex)
            value_out = tx.value_out()
            if value_in < value_out:
                raise BlockValidationError(
                    "bad-txns-in-belowout", f"value in ({value_in}) < value out ({value_out})"
                )
            fee = value_in - value_out
            fees += fee
            if not 0 <= fees <= MAX_MONEY:
                raise BlockValidationError("bad-txns-accumulated-fee-outofrange", tx.txid_hex)
            if (
                iflags & _CHECKSEQUENCEVERIFY
                and median_time_past_at is not None
                and not sequence_locks_satisfied(
                    tx, [c.height for c in coins], height, median_time_past_at, prev_median_time_past
                )
            ):
                raise BlockValidationError("bad-txns-nonfinal", "contains a non-BIP68-final transaction")
            spent_outs = [c.out for c in coins]
            sigop_cost += transaction_sigop_cost(tx, spent_outs, iflags)
            for txin, coin in zip(tx.vin, coins, strict=True):
                bview.spent.add(txin.prevout)
                undo.append((txin.prevout, coin))
            checks.append(ScriptCheck(tx, tuple(spent_outs), flags))
        if sigop_cost > MAX_BLOCK_SIGOPS_COST:
            raise BlockValidationError("bad-blk-sigops", "too many sigops")
        bview.add_outputs(tx, height)
    reward = block.vtx[0].value_out()
    limit = fees + block_subsidy(height, params)
    if reward > limit:
        raise BlockValidationError("bad-cb-amount", f"coinbase pays too much (actual={reward} vs limit={limit})")
    return ConnectResult(fees, sigop_cost, tuple(undo), tuple(checks))


# A deferred signature's tag: the check's index above these bits, the input's below.
_INPUT_BITS = 32


def run_script_checks(
    checks: Iterable[ScriptCheck],
    mapper: Callable[..., Iterator[str | None]] = map,
    sig_queue: SigQueue | None = None,
) -> None:
    """Runs the checks (pass an executor's `map` to parallelize); raises on the first failure.

    With `sig_queue` the checks run here, in order, and P2WPKH signatures are verified on the
    queue's native threads meanwhile; they are all collected before this returns or raises, and
    the failure reported is still the first in block order, with the interpreter's error.
    """
    check_list = list(checks)
    if sig_queue is None:
        for check, err in zip(check_list, mapper(_run_check, check_list), strict=True):
            if err is not None:
                _fail(check, err)
        return
    failure: tuple[int, str] | None = None
    try:
        for n, check in enumerate(check_list):
            err = check.run(sig_queue, n << _INPUT_BITS)
            if err is not None:
                failure = (n, err)
                break
        failed_tags = sig_queue.collect()
    except BaseException:
        sig_queue.cancel()  # an abandoned batch must not leak into the next block's
        raise
    if failed_tags:  # submitted before any failure found here, so earlier in the block
        n, i = failed_tags[0] >> _INPUT_BITS, failed_tags[0] & ((1 << _INPUT_BITS) - 1)
        failure = (n, f"input {i}: {deferred_error(check_list[n].flags).name}")
    if failure is not None:
        _fail(check_list[failure[0]], failure[1])


def _fail(check: ScriptCheck, err: str) -> NoReturn:
    raise BlockValidationError("mandatory-script-verify-flag-failed", f"{err} of {check.tx.txid_hex}")


def _run_check(check: ScriptCheck) -> str | None:
    return check()
