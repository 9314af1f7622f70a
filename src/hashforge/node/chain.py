"""The chain manager: block index over all branches, best-chain selection by work, connect/disconnect, reorgs.

Not thread-safe by itself: the node calls it from one worker thread. Signature checks may fan out to
an executor passed as `script_map` (e.g. a thread or process pool's `map`); when they run inline
(`map`, the default) P2WPKH signatures are verified on native threads without the GIL
(consensus/sigqueue.py) while the chain thread checks the rest of the block.

Durability (as Core's): blocks are appended to the block files as they arrive; the UTXO set, undo
data and block index changes collect in the chainstate's cache and reach SQLite in one transaction
per flush (cache full, every FLUSH_INTERVAL_S, clean shutdown). Each flush first fsyncs the block
files and records where they end; at startup every block written after that mark is read back and
accepted again, so a crash loses no stored block and the UTXO set equals a clean replay. A block
`submitblock` acknowledges is fsynced to its block file first (`durable`).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hashforge.consensus.block import Block, BlockHeader
from hashforge.consensus.coins import Coin
from hashforge.consensus.hashes import hash256
from hashforge.consensus.params import ChainParams, DifficultyRule
from hashforge.consensus.pow import HeaderInfo, block_proof, get_compact, get_next_work_required
from hashforge.consensus.script import is_unspendable
from hashforge.consensus.sigqueue import SigQueue, open_sig_queue
from hashforge.consensus.tx import OutPoint
from hashforge.consensus.validation import (
    BlockValidationError,
    check_block,
    check_block_context,
    check_block_header,
    check_header_context,
    connect_block,
    run_script_checks,
)

from .blockstore import BlockPos, BlockStore, DatadirLock
from .chainstate import ChainStateDB, IndexRow, default_cache_mib, deserialize_undo, serialize_undo
from .chaintx import estimated_tx_left, guess_verification_progress

log = logging.getLogger(__name__)

# progress(stage, done, total): "load-index" while the block index is read at startup, "connect"
# while blocks stored earlier (or received before a crash) are connected. See node/progress.py.
ProgressFn = Callable[[str, int, int], None]
INDEX_PROGRESS_STEP = 10_000
# A crash costs at most this much work again (the blocks connected since the last flush).
FLUSH_INTERVAL_S = 600.0
SYNC_LOG_INTERVAL_S = 10.0  # a progress line while blocks are connected
MAX_TIP_AGE_S = 24 * 60 * 60  # Core's DEFAULT_MAX_TIP_AGE: an older tip means the node is still catching up
# Headers arrive in order, so a walk back over min-difficulty blocks stops at a recent entry: a
# few thousand remembered are enough (50,000 held ~5 MB for nothing).
BITS_MEMO_ENTRIES = 4096

# Core's defaultAssumeValid per network (bitcoind -help of the ../shared/bin build, v31.99):
# scripts of this block's ancestors are not checked (see `_scripts_assumed_valid`).
DEFAULT_ASSUME_VALID = {
    "mainnet": "00000000000000000000ccebd6d74d9194d8dcdc1d177c478e094bfad51ba5ac",
    "testnet3": "000000007a61e4230b28ac5cb6b5e5a0130de37ac1faf2f8987d2fa6505b67f4",
    "testnet4": "0000000002368b1e4ee27e2e85676ae6f9f9e69579b29093e9a82c170bf7cf8a",
    "signet": "00000008414aab61092ef93f1aacc54cf9e9f16af29ddad493b908a01ff5c329",
}
ASSUME_VALID_MIN_AGE_S = 60 * 60 * 24 * 7 * 2  # blocks within two weeks of work of the best header are checked

# Core's nMinimumChainWork per network (bitcoind -help-debug of the same build): blocks are not
# downloaded from a peer whose best header has less work, and the node stays in initial block
# download below it.
DEFAULT_MINIMUM_CHAIN_WORK = {
    "mainnet": "0000000000000000000000000000000000000001128750f82f4c366153a3a030",
    "testnet3": "0000000000000000000000000000000000000000000017dde1c649f3708d14b6",
    "testnet4": "0000000000000000000000000000000000000000000009a0fe15d0177d086304",
    "signet": "00000000000000000000000000000000000000000000000000000b463ea0a4b8",
}


def parse_assume_valid(value: str | None, network: str) -> bytes | None:
    """`--assumevalid`: a block hash (hex, as shown), 0 to check every script, None for the
    network's default. Returns the hash in internal byte order, or None for none."""
    if value is None:
        value = DEFAULT_ASSUME_VALID.get(network, "0")
    if value.strip() == "0":
        return None
    try:
        raw = bytes.fromhex(value.strip())
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ValueError(f"assumevalid must be a 64-digit block hash or 0, not {value!r}")
    return raw[::-1]


def parse_minimum_chain_work(value: str | None, network: str) -> int:
    """`--minimumchainwork`: hex chain work (Core's form, at most 64 digits), None for the
    network's default (0 where Core has none: regtest and the devnets)."""
    if value is None:
        value = DEFAULT_MINIMUM_CHAIN_WORK.get(network, "0")
    text = value.strip().lower().removeprefix("0x")
    if not 0 < len(text) <= 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"minimumchainwork must be hex chain work (up to 64 digits), not {value!r}")
    return int(text, 16)


STATUS_HAVE_DATA = 1
STATUS_VALID_SCRIPTS = 2  # connected to the active chain at least once
STATUS_FAILED = 4
STATUS_FAILED_CHILD = 8
STATUS_FAILED_MASK = STATUS_FAILED | STATUS_FAILED_CHILD


NO_PARENT = b"\x00" * 32
# Where a block's data is, packed into one int on its index entry (a BlockPos object and its ints
# cost ~90 bytes more per entry): file number, offset in the file, length.
_POS_OFFSET_BITS = 32
_POS_LENGTH_BITS = 28


def _pack_pos(pos: BlockPos) -> int:
    if pos.offset >> _POS_OFFSET_BITS or pos.length >> _POS_LENGTH_BITS:
        raise ValueError(f"block position out of range: {pos}")
    return (((pos.file_no << _POS_OFFSET_BITS) | pos.offset) << _POS_LENGTH_BITS) | pos.length


def _unpack_pos(packed: int) -> BlockPos:
    length = packed & ((1 << _POS_LENGTH_BITS) - 1)
    packed >>= _POS_LENGTH_BITS
    return BlockPos(packed >> _POS_OFFSET_BITS, packed & ((1 << _POS_OFFSET_BITS) - 1), length)


class BlockIndex:
    """One known header, on any branch. Held compactly (a million of them are in memory on
    mainnet): the header's fields as 48 bytes (its 80 less the parent's hash, which `prev`
    holds), parsed when `header` is asked for; where its data is as one int. Measured with
    tracemalloc (CPython 3.11, `bench/index_memory.py`, the index dict included): 426 bytes per
    header, 526 with block data, so 1,000,000 headers take ~430 MB (458 and 638 with the full
    header and a BlockPos object; ~800 with the parsed header kept)."""

    __slots__ = ("_fields", "_pos", "chain_tx", "chainwork", "hash", "height", "n_tx", "prev", "seq", "status")

    def __init__(
        self, header: BlockHeader | bytes, height: int, prev: BlockIndex | None, chainwork: int, seq: int,
        block_hash: bytes | None = None,
    ) -> None:
        """`header` parsed or as its 80 bytes (then `block_hash` saves hashing them again)."""
        if isinstance(header, BlockHeader):
            raw = header.serialize()
            self.hash = header.hash
        else:
            raw = header
            self.hash = block_hash if block_hash is not None else hash256(header)
        parent = raw[4:36]
        # the parent's hash is left out when `prev` (or, for a genesis, zeros) gives it back
        self._fields = raw[:4] + raw[36:] if parent == (prev.hash if prev is not None else NO_PARENT) else raw
        self.height = height
        self.prev = prev
        self.chainwork = chainwork
        self.seq = seq
        self.status = 0
        self._pos = 0  # 0: no data stored (a real position has a nonzero length)
        self.n_tx = 0
        # Core's m_chain_tx_count: transactions from genesis to here, once this block's data and
        # all its ancestors' are stored (0 until then); recomputed as the index loads.
        self.chain_tx = 0

    @property
    def raw(self) -> bytes:
        """The header's 80 bytes."""
        f = self._fields
        if len(f) == 80:
            return f
        return f[:4] + (self.prev.hash if self.prev is not None else NO_PARENT) + f[4:]

    @property
    def pos(self) -> BlockPos | None:
        return _unpack_pos(self._pos) if self._pos else None

    @pos.setter
    def pos(self, value: BlockPos | None) -> None:
        self._pos = 0 if value is None else _pack_pos(value)

    @property
    def have_chain(self) -> bool:
        """This block's data and all its ancestors' are stored."""
        return self.chain_tx > 0

    @property
    def header(self) -> BlockHeader:
        return BlockHeader.from_bytes(self.raw)

    @property
    def time(self) -> int:
        f = self._fields
        return int.from_bytes(f[36:40] if len(f) == 48 else f[68:72], "little")

    @property
    def bits(self) -> int:
        f = self._fields
        return int.from_bytes(f[40:44] if len(f) == 48 else f[72:76], "little")

    @property
    def failed(self) -> bool:
        return bool(self.status & STATUS_FAILED_MASK)

    def ancestor(self, height: int) -> BlockIndex:
        node: BlockIndex | None = self
        while node is not None and node.height > height:
            node = node.prev
        if node is None or node.height != height:
            raise ValueError(f"no ancestor at height {height}")
        return node

    def median_time_past(self) -> int:
        times: list[int] = []
        node: BlockIndex | None = self
        while node is not None and len(times) < 11:
            times.append(node.time)
            node = node.prev
        times.sort()
        return times[len(times) // 2]

    def row(self) -> IndexRow:
        return IndexRow(self.hash, self.height, self.raw, self.chainwork, self.status, self.seq, self.pos, self.n_tx)

    def __repr__(self) -> str:
        return f"BlockIndex({self.hash[::-1].hex()}, height={self.height})"


class PrefetchedCoins:
    """A UTXO view over coins read in one batch (a block's inputs); other lookups go to `base`."""

    def __init__(self, base: ChainStateDB, outpoints: Iterable[OutPoint]) -> None:
        self.base = base
        self.queried = set(outpoints)
        self.coins = base.get_coins(self.queried)

    def get_coin(self, outpoint: OutPoint) -> Coin | None:
        if outpoint in self.queried:
            return self.coins.get(outpoint)
        return self.base.get_coin(outpoint)


class ScriptCache:
    """Core's script execution cache: transactions (by wtxid) whose every input script passed
    under some flags. Mempool acceptance fills it; connecting a block skips the checks of its
    transactions found here under flags that include the block's (a flag only adds rules, so
    passing more flags implies passing fewer). Bounded; the oldest entries fall out first."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        self._passed: dict[bytes, tuple[int, ...]] = {}
        self.hits = 0

    def add(self, wtxid: bytes, flags: int) -> None:
        known = self._passed.pop(wtxid, ())
        self._passed[wtxid] = (*known, int(flags))
        while len(self._passed) > self.max_entries:
            del self._passed[next(iter(self._passed))]

    def passed(self, wtxid: bytes, flags: int) -> bool:
        known = self._passed.get(wtxid)
        if not known:  # asked for every transaction of every block: most were never in a mempool
            return False
        flags = int(flags)
        return any(flags & ~f == 0 for f in known)

    def discard(self, wtxid: bytes) -> None:
        self._passed.pop(wtxid, None)

    def __len__(self) -> int:
        return len(self._passed)


# Blocks accepted but not yet connected, kept in memory so connecting them right after (the usual
# case) neither reads them back from disk nor recomputes their txids. Bounded: side-branch blocks
# that are never connected fall out.
PENDING_BLOCKS = 4


@dataclass
class ChainEvents:
    """Listeners called after the tip changes (the mempool and notifiers subscribe)."""

    connected: list[Callable[[Block, BlockIndex], None]] = field(default_factory=list)
    disconnected: list[Callable[[Block, BlockIndex], None]] = field(default_factory=list)
    tip_changed: list[Callable[[BlockIndex], None]] = field(default_factory=list)


class ChainManager:
    def __init__(
        self,
        params: ChainParams,
        datadir: Path,
        script_map: Callable[..., Iterator[str | None]] = map,
        clock: Callable[[], float] = time.time,
        progress: ProgressFn | None = None,
        dbcache_mib: int | None = None,
        reindex: bool = False,
        assume_valid: str | None = "0",
        minimum_chain_work: str | None = "0",
    ) -> None:
        """`dbcache_mib`: the chainstate cache (default sized for the machine; 0 writes every
        block through). `reindex`: rebuild the block index and chainstate from the block files.
        `assume_valid`: as `--assumevalid` (None: the network's default; here "0", check all).
        `minimum_chain_work`: as `--minimumchainwork` (None: the network's default; here none)."""
        self.params = params
        self.datadir = datadir
        datadir.mkdir(parents=True, exist_ok=True)
        # One process per datadir: two would interleave appends to the same blk file.
        self._datadir_lock = DatadirLock(datadir)
        cache_mib = default_cache_mib() if dbcache_mib is None else dbcache_mib
        try:
            if reindex:
                for suffix in ("", "-wal", "-shm"):
                    (datadir / f"chainstate.sqlite{suffix}").unlink(missing_ok=True)
            self.db = ChainStateDB(datadir / "chainstate.sqlite", params.name, cache_mib << 20)
        except BaseException:
            self._datadir_lock.release()
            raise
        self.store = BlockStore(datadir / "blocks", params.message_start)
        self.db.before_flush = self._before_flush
        self._reindex = reindex
        self.assume_valid = parse_assume_valid(assume_valid, params.name)
        self.minimum_chain_work = parse_minimum_chain_work(minimum_chain_work, params.name)
        self._av_chain: list[BlockIndex] = []  # the assumed-valid block's ancestors by height
        self._av_best: tuple[bytes, bool] | None = None  # (best header hash, descends from it)
        self._last_flush = time.monotonic()
        self.best_header: BlockIndex | None = None  # the most-work header known (valid as far as we know)
        self._ibd_over = False  # latched, as Core's IsInitialBlockDownload
        self._log_at = (time.monotonic(), 0, 0)  # (when, height, transactions) of the last progress line
        self.script_map = script_map
        self._sig_queue: SigQueue | None = None  # see _inline_sig_queue
        self.clock = clock
        self.events = ChainEvents()
        self.index: dict[bytes, BlockIndex] = {}
        self.active: list[BlockIndex] = []
        self.candidates: set[BlockIndex] = set()
        self._unlinked: dict[bytes, list[BlockIndex]] = {}
        self._seq = 0
        self._precious_seq = 0  # preciousblock hands out ever lower sequence numbers
        self._progress = progress
        self._pending: OrderedDict[bytes, Block] = OrderedDict()
        self.script_cache = ScriptCache()
        self._txs_connected = 0
        self._pow_limit_bits = get_compact(params.pow_limit)
        self._bits_memo: dict[bytes, int] = {}
        self._times_memo: dict[bytes, tuple[int, ...]] = {}  # block hash -> its and its ancestors' last 11 times
        self._load()
        self._progress = None  # only startup reports progress

    # --- startup ---------------------------------------------------------------------------

    def _load(self) -> None:
        rows = self.db.load_index()
        if not rows:
            genesis = self.params.genesis
            entry = self._add_header(genesis.header)
            entry.status |= STATUS_VALID_SCRIPTS
            self.active = [entry]
            if self._reindex:
                self._replay_block_files(BlockPos(0, 0, 0))
            if not entry.status & STATUS_HAVE_DATA:
                self._store_block_data(entry, genesis)
            self.db.apply({}, genesis.hash, None, genesis.hash, [entry])
            if self._reindex:
                self.activate_best_chain()
            self.flush()
            return
        total = len(rows)
        for i, r in enumerate(rows):
            if self._progress is not None and i % INDEX_PROGRESS_STEP == 0:
                self._progress("load-index", i, total)
            prev = self.index.get(r.header[4:36])
            entry = BlockIndex(r.header, r.height, prev, r.chainwork, r.seq, r.hash)
            entry.status, entry.pos, entry.n_tx = r.status, r.pos, r.n_tx
            self.index[entry.hash] = entry
            self._seq = max(self._seq, r.seq + 1)
            if not entry.failed and (self.best_header is None or entry.chainwork > self.best_header.chainwork):
                self.best_header = entry
            if entry.status & STATUS_HAVE_DATA:
                self._link(entry)
        if self._progress is not None:
            self._progress("load-index", total, total)
        tip_hash = self.db.tip_hash()
        tip = self.index[tip_hash] if tip_hash else self.index[self.params.genesis_hash]
        self.active = self._path_to(tip)
        mark = self.db.get_meta("blk_mark")
        if mark is not None:
            replayed = self._replay_block_files(BlockPos(int.from_bytes(mark[:4], "little"), int.from_bytes(mark[4:12], "little"), 0))
        else:
            replayed = 0  # a datadir from before the mark: every stored block was indexed as it came
        # Blocks stored but not yet connected when we stopped (or crashed) are connected now.
        self.activate_best_chain()
        if replayed:
            self.flush()

    def _replay_block_files(self, mark: BlockPos) -> int:
        """Accepts the blocks written after `mark` (the last flush) again; their parents may come
        later in the files (blocks arrive out of order). Returns how many were taken."""

        def parse(raw: bytes) -> Block | None:
            try:
                return Block.from_bytes(raw)
            except (ValueError, EOFError):
                return None

        waiting: dict[bytes, list[tuple[BlockPos, bytes]]] = {}  # parent hash -> (pos, hash) of children
        taken = 0

        def take(pos: BlockPos, block: Block) -> None:
            nonlocal taken
            queue = [(pos, block)]
            while queue:
                p, b = queue.pop()
                if self._accept_stored(b, p):
                    taken += 1
                    for child_pos, _ in waiting.pop(b.hash, []):
                        child = parse(self.store.read(child_pos))
                        if child is not None:
                            queue.append((child_pos, child))

        for pos, block in self.store.scan(mark, parse):
            known = self.index.get(block.hash)
            if known is not None and known.status & STATUS_HAVE_DATA:
                continue
            if block.header.prev_hash in self.index or block.hash == self.params.genesis_hash:
                take(pos, block)
            else:
                waiting.setdefault(block.header.prev_hash, []).append((pos, block.hash))
        if taken and self._reindex:
            log.info("reindex: %d block(s) found in the block files", taken)
        elif taken:
            log.info("replayed %d block(s) from the block files written since the last flush", taken)
        return taken

    def _accept_stored(self, block: Block, pos: BlockPos) -> bool:
        """`accept_block` for a block already in the block files at `pos`."""
        existing = self.index.get(block.hash)
        if existing is not None and existing.status & STATUS_HAVE_DATA:
            return False
        if block.hash == self.params.genesis_hash:
            entry = self.index[block.hash]
        else:
            try:
                entry = self._check_block(block)
            except BlockValidationError as e:
                log.warning("stored block %s not taken: %s", block.hash_hex, e)
                return False
        entry.pos = pos
        entry.n_tx = len(block.vtx)
        entry.status |= STATUS_HAVE_DATA
        self.db.put_index([entry])
        self._link(entry)
        return True

    def _path_to(self, entry: BlockIndex, fork: BlockIndex | None = None) -> list[BlockIndex]:
        """The blocks after `fork` (an ancestor; default: none, from genesis) up to `entry`."""
        path = []
        node: BlockIndex | None = entry
        while node is not None and node is not fork:
            path.append(node)
            node = node.prev
        path.reverse()
        return path

    # --- flushing --------------------------------------------------------------------------

    def _before_flush(self) -> None:
        self.store.sync()
        end = self.store.end()
        self.db.put_meta("blk_mark", end.file_no.to_bytes(4, "little") + end.offset.to_bytes(8, "little"))

    def flush(self) -> None:
        """Writes the chainstate cache to disk (synchronous=FULL)."""
        self.db.flush()
        self._last_flush = time.monotonic()

    def verification_progress(self, entry: BlockIndex | None = None, best_height: int | None = None) -> float:
        """Core's GuessVerificationProgress at `entry` (default: the tip), from its cumulative
        transaction count and the network's ChainTxData (see chaintx.py)."""
        e = self.tip if entry is None else entry
        if best_height is None:
            best_height = self.best_header.height if self.best_header is not None else e.height
        return guess_verification_progress(
            self.params.chain_tx_data, e.chain_tx, e.time, e.height, best_height, self.params.pow_target_spacing,
            int(self.clock()),
        )

    def _log_progress(self) -> None:
        """Height, verification progress (as Core's), blocks/s and transactions/s since the last
        line, time left at that rate, cache usage (as Core's UpdateTip lines, one per interval).
        Time left counts the transactions the network's ChainTxData says are still to come; on a
        network without (regtest, devnets) the blocks up to the best header."""
        now = time.monotonic()
        since, height0, txs0 = self._log_at
        self._log_at = (now, self.height, self._txs_connected)
        elapsed = max(now - since, 1e-9)
        rate = (self.height - height0) / elapsed
        tx_rate = (self._txs_connected - txs0) / elapsed
        best = self.best_header.height if self.best_header is not None else self.height
        tip = self.tip
        data = self.params.chain_tx_data
        if data.tx_rate > 0:
            tx_left = estimated_tx_left(data, tip.chain_tx, tip.time, int(self.clock()))
            eta = f"{tx_left / tx_rate:.0f} s" if tx_rate > 0 else "?"
        else:
            left = max(0, best - self.height)
            eta = f"{left / rate:.0f} s" if rate > 0 else "?"
        log.info(
            "height %d of %d, progress %.6f, %.0f blocks/s, %.0f tx/s, ~%s left, cache %.1f MiB (%d coins)",
            self.height, best, self.verification_progress(tip, best), rate, tx_rate,
            eta, self.db.cache_usage() / (1 << 20), self.db.cache_coins(),
        )

    def _maybe_flush(self) -> None:
        if self.db.maybe_flush() :
            self._last_flush = time.monotonic()
        elif time.monotonic() - self._last_flush > FLUSH_INTERVAL_S:
            self.flush()

    # --- queries ---------------------------------------------------------------------------

    @property
    def tip(self) -> BlockIndex:
        return self.active[-1]

    @property
    def height(self) -> int:
        return len(self.active) - 1

    def in_active_chain(self, entry: BlockIndex) -> bool:
        return entry.height < len(self.active) and self.active[entry.height] is entry

    def get_block(self, entry: BlockIndex) -> Block:
        if entry.pos is None:
            raise KeyError(f"block {entry.header.hash_hex} not stored")
        return Block.from_bytes(self.store.read(entry.pos))

    def get_block_raw(self, entry: BlockIndex) -> bytes:
        if entry.pos is None:
            raise KeyError(f"block {entry.header.hash_hex} not stored")
        return self.store.read(entry.pos)

    def get_coin(self, outpoint: OutPoint) -> Coin | None:
        return self.db.get_coin(outpoint)

    def ancestor_of(self, entry: BlockIndex, height: int) -> BlockIndex:
        """`entry`'s ancestor at `height`; O(1) once the walk back reaches the active chain."""
        node: BlockIndex | None = entry
        while node is not None and node.height > height:
            if self.in_active_chain(node):
                return self.active[height]
            node = node.prev
        if node is None or node.height != height:
            raise LookupError(f"no ancestor at height {height}")
        return node

    def is_initial_block_download(self) -> bool:
        """Core's IsInitialBlockDownload: true while the tip has less than the minimum chain work
        or is more than a day old; once false, false until restart."""
        if self._ibd_over:
            return False
        if self.tip.chainwork < self.minimum_chain_work or self.tip.time < self.clock() - MAX_TIP_AGE_S:
            return True
        self._ibd_over = True
        return False

    def median_time_past(self, entry: BlockIndex) -> int:
        """`entry.median_time_past()`, from the last 11 times remembered per recent block (each
        header and block asks it of its parent; walking 11 ancestors each time was header sync's
        biggest cost)."""
        memo = self._times_memo
        prev = entry.prev
        before = memo.get(prev.hash) if prev is not None else ()
        if before is None:
            times: list[int] = []
            node: BlockIndex | None = entry
            while node is not None and len(times) < 11:
                times.append(node.time)
                node = node.prev
            last = tuple(times)
        else:
            last = (entry.time, *before[:10])
        if len(memo) > 4096:
            memo.clear()
        memo[entry.hash] = last
        return sorted(last)[len(last) // 2]

    def next_bits(self, prev: BlockIndex, block_time: int) -> int:
        """The nBits a block on top of `prev` must carry."""
        p = self.params
        if (
            p.difficulty_rule is DifficultyRule.BITCOIN
            and p.pow_allow_min_difficulty_blocks
            and (prev.height + 1) % p.difficulty_adjustment_interval != 0
            and block_time <= prev.time + 2 * p.pow_target_spacing
        ):
            return self._last_non_min_bits(prev)

        def info(height: int) -> HeaderInfo:
            return HeaderInfo.from_header(self.ancestor_of(prev, height).header, height)

        return get_next_work_required(self.params, HeaderInfo.from_header(prev.header, prev.height), block_time, info)

    def _last_non_min_bits(self, entry: BlockIndex) -> int:
        """Testnet/regtest's walk back over min-difficulty blocks (as get_next_work_required's
        Bitcoin rule does it), remembered per block: on regtest every block has the minimum
        difficulty, and walking up to 2,015 ancestors for every header made header sync O(n*2016)."""
        interval = self.params.difficulty_adjustment_interval
        limit = self._pow_limit_bits
        memo = self._bits_memo
        walked = []
        node = entry
        while True:
            known = memo.get(node.hash)
            if known is not None:
                bits = known
                break
            if node.prev is None or node.height % interval == 0 or node.bits != limit:
                bits = node.bits
                break
            walked.append(node.hash)
            node = node.prev
        if len(memo) > BITS_MEMO_ENTRIES:
            memo.clear()
        memo[entry.hash] = bits
        if walked:
            memo[walked[-1]] = bits
        return bits

    def tips(self) -> list[BlockIndex]:
        """Every branch's leaf (for getchaintips)."""
        has_child = {e.prev.hash for e in self.index.values() if e.prev is not None}
        return [e for e in self.index.values() if e.hash not in has_child]

    # --- headers and blocks ----------------------------------------------------------------

    def _add_header(self, header: BlockHeader) -> BlockIndex:
        prev = self.index.get(header.prev_hash)
        height = prev.height + 1 if prev else 0
        work = (prev.chainwork if prev else 0) + block_proof(header.bits)
        entry = BlockIndex(header, height, prev, work, self._seq)
        self._seq += 1
        self.index[entry.hash] = entry
        if self.best_header is None or work > self.best_header.chainwork:
            self.best_header = entry
        return entry

    def accept_header(self, header: BlockHeader) -> BlockIndex:
        """Validates a header against its parent and adds it to the index (idempotent)."""
        known = self.index.get(header.hash)
        if known is not None:
            if known.failed:
                raise BlockValidationError("duplicate-invalid", "block is marked invalid")
            return known
        check_block_header(header, self.params)
        prev = self.index.get(header.prev_hash)
        if prev is None:
            raise BlockValidationError("prev-blk-not-found", "previous block not known")
        if prev.failed:
            raise BlockValidationError("bad-prevblk", "previous block is invalid")
        check_header_context(
            header,
            prev.height + 1,
            self.next_bits(prev, header.time),
            self.median_time_past(prev),
            int(self.clock()),
            self.params,
        )
        entry = self._add_header(header)
        self.db.put_index([entry])
        return entry

    def process_block(self, block: Block, raw: bytes | None = None, durable: bool = True) -> str | None:
        """Accepts a block and activates the best chain. Returns None if it was accepted, 'duplicate'
        if already stored, or 'inconclusive' if valid but not on the best chain (as submitblock does).
        `raw`, when given, must be `block.serialize()` (saves serializing it again to store it).
        `durable`: the block is on disk (fsynced) before this returns; P2P sync passes False."""
        existing = self.index.get(block.hash)
        if existing is not None and existing.status & STATUS_HAVE_DATA:
            return "duplicate-invalid" if existing.failed else "duplicate"
        entry = self.accept_block(block, raw, durable)
        self.activate_best_chain()
        return None if self.in_active_chain(entry) else "inconclusive"

    def accept_block(self, block: Block, raw: bytes | None = None, durable: bool = True) -> BlockIndex:
        """Checks a block against its header context and stores it, without connecting anything
        (Core's AcceptBlock): `activate_best_chain` connects it later, at the latest on restart."""
        existing = self.index.get(block.hash)
        if existing is not None and existing.status & STATUS_HAVE_DATA:
            if existing.failed:
                raise BlockValidationError("duplicate-invalid", "block is marked invalid")
            return existing
        entry = self._check_block(block)
        self._store_block_data(entry, block, raw, durable)
        self._pending[entry.hash] = block
        while len(self._pending) > PENDING_BLOCKS:
            self._pending.popitem(last=False)
        return entry

    def _check_block(self, block: Block) -> BlockIndex:
        entry = self.accept_header(block.header)
        try:
            # the header's proof of work was checked when it entered the index
            check_block(block, self.params, check_pow=False)
            check_block_context(block, entry.height, self.median_time_past(entry.prev) if entry.prev else 0, self.params)
        except BlockValidationError as e:
            # A mutated copy (valid header, tampered transactions) says nothing about the real block.
            if not e.mutated:
                self._mark_failed(entry)
            raise
        return entry

    def _store_block_data(self, entry: BlockIndex, block: Block, raw: bytes | None = None, durable: bool = True) -> None:
        entry.pos = self.store.write(block.serialize() if raw is None else raw, sync=durable)
        entry.n_tx = len(block.vtx)
        entry.status |= STATUS_HAVE_DATA
        self.db.put_index([entry])
        self._link(entry)

    def _link(self, entry: BlockIndex) -> None:
        """Marks `entry` (and waiting descendants) chain-complete once every ancestor has data."""
        if entry.prev is not None and not entry.prev.have_chain:
            self._unlinked.setdefault(entry.prev.hash, []).append(entry)
            return
        queue = [entry]
        while queue:
            e = queue.pop()
            e.chain_tx = (e.prev.chain_tx if e.prev is not None else 0) + e.n_tx
            if not e.failed:
                self.candidates.add(e)
            queue.extend(self._unlinked.pop(e.hash, []))

    # --- best chain ------------------------------------------------------------------------

    def _best_candidate(self) -> BlockIndex:
        tip = self.tip
        best = tip
        for c in list(self.candidates):
            if c.failed:
                self.candidates.discard(c)
                continue
            if c.chainwork < tip.chainwork:
                self.candidates.discard(c)
                continue
            if (c.chainwork, -c.seq) > (best.chainwork, -best.seq):
                best = c
        return best

    def activate_best_chain(self) -> None:
        """Moves the tip to the valid chain with most work, reorganizing as needed."""
        while True:
            best = self._best_candidate()
            if best is self.tip:
                return
            fork = self._find_fork(best)
            while self.tip is not fork:
                self._disconnect_tip()
            failed = False
            path = self._path_to(best, fork)
            for done, entry in enumerate(path):
                if self._progress is not None:
                    self._progress("connect", done, len(path))
                try:
                    self._connect_tip(entry)
                except BlockValidationError as e:
                    log.warning("block %s at height %d is invalid: %s", entry.header.hash_hex, entry.height, e)
                    self._mark_failed(entry)
                    failed = True
                    break
            if self._progress is not None:
                self._progress("connect", len(path), len(path))
            if not failed:
                for listener in self.events.tip_changed:
                    listener(self.tip)

    def _find_fork(self, entry: BlockIndex) -> BlockIndex:
        node: BlockIndex | None = entry
        while node is not None and not self.in_active_chain(node):
            node = node.prev
        assert node is not None, "every branch shares the genesis block"
        return node

    def _connect_tip(self, entry: BlockIndex) -> None:
        assert entry.prev is self.tip
        pending = self._pending.pop(entry.hash, None)
        block = pending if pending is not None else self.get_block(entry)
        prev = entry.prev
        active = self.active

        def mtp_at(height: int) -> int:
            return self.median_time_past(active[height])

        wanted = [txin.prevout for tx in block.vtx[1:] for txin in tx.vin]
        if entry.height < self.params.bip34_height:
            # BIP30 looks up every output the block creates: in the same batch as the inputs
            wanted += [OutPoint(tx.txid, n) for tx in block.vtx for n in range(len(tx.vout))]
        view = PrefetchedCoins(self.db, wanted)
        result = connect_block(block, entry.height, view, self.params, mtp_at, self.median_time_past(prev))
        if not self._scripts_assumed_valid(entry):
            cache = self.script_cache
            checks = [c for c in result.script_checks if not cache.passed(c.tx.wtxid, c.flags)]
            cache.hits += len(result.script_checks) - len(checks)
            run_script_checks(checks, self.script_map, self._inline_sig_queue())
            for c in result.script_checks:
                cache.discard(c.tx.wtxid)  # confirmed: not needed again
        changes: dict[OutPoint, Coin | None] = {}
        for tx in block.vtx:
            if not tx.is_coinbase():
                for txin in tx.vin:
                    changes[txin.prevout] = None
            for n, out in enumerate(tx.vout):
                if not is_unspendable(out.script_pubkey):
                    changes[OutPoint(tx.txid, n)] = Coin(out, entry.height, tx.is_coinbase())
        entry.status |= STATUS_VALID_SCRIPTS
        self.db.apply(
            changes, entry.hash, serialize_undo(result.spent), entry.hash, [entry],
            txids=[tx.txid for tx in block.vtx], txids_in=entry.hash, created=True,
        )
        self.active.append(entry)
        self._maybe_flush()
        self._txs_connected += len(block.vtx)
        if time.monotonic() - self._log_at[0] >= SYNC_LOG_INTERVAL_S:
            self._log_progress()
        for listener in self.events.connected:
            listener(block, entry)

    def _inline_sig_queue(self) -> SigQueue | None:
        """Where checks run inline on this thread (`script_map` is `map`), the queue their ECDSA
        verifications go to meanwhile: opened on first use, None without the native extension."""
        if self.script_map is not map:
            return None
        if self._sig_queue is None:
            self._sig_queue = open_sig_queue()
        return self._sig_queue

    def _scripts_assumed_valid(self, entry: BlockIndex) -> bool:
        """Core's assumevalid: scripts go unchecked when the block is an ancestor of the
        assumed-valid block, that block an ancestor of the best header, and the best header more
        than two weeks of work ahead. Everything else about the block is still checked."""
        if self.assume_valid is None:
            return False
        av = self.index.get(self.assume_valid)
        best = self.best_header
        if av is None or best is None or entry.height > av.height:
            return False
        if len(self._av_chain) != av.height + 1 or self._av_chain[-1] is not av:
            self._av_chain = self._path_to(av)  # once: then each check is a list lookup
        if self._av_chain[entry.height] is not entry:
            return False
        if self._av_best is None or self._av_best[0] != best.hash:
            self._av_best = (best.hash, best.height >= av.height and best.ancestor(av.height) is av)
        if not self._av_best[1]:
            return False
        spacing = self.params.pow_target_spacing
        return (best.chainwork - entry.chainwork) * spacing // block_proof(best.bits) > ASSUME_VALID_MIN_AGE_S

    def _disconnect_tip(self) -> None:
        entry = self.tip
        assert entry.prev is not None, "cannot disconnect the genesis block"
        block = self.get_block(entry)
        undo_raw = self.db.get_undo(entry.hash)
        if undo_raw is None:
            raise RuntimeError(f"undo data missing for block {entry.header.hash_hex}")
        undo = iter(deserialize_undo(undo_raw))
        # Inputs were recorded in block order; replay them in reverse (per tx) against the outputs.
        spent_by_tx: list[list[tuple[OutPoint, Coin]]] = []
        for tx in block.vtx:
            spent_by_tx.append([] if tx.is_coinbase() else [next(undo) for _ in tx.vin])
        changes: dict[OutPoint, Coin | None] = {}
        for tx, spent in zip(reversed(block.vtx), reversed(spent_by_tx), strict=True):
            for n in range(len(tx.vout)):
                changes[OutPoint(tx.txid, n)] = None
            for outpoint, coin in spent:
                changes[outpoint] = coin
        self.db.apply(changes, entry.hash, None, entry.prev.hash, txids=[tx.txid for tx in block.vtx])
        self.active.pop()
        for listener in self.events.disconnected:
            listener(block, entry)

    # --- invalidity ------------------------------------------------------------------------

    def _mark_failed(self, entry: BlockIndex) -> None:
        entry.status |= STATUS_FAILED
        changed = [entry]
        for e in self.index.values():
            if e.height > entry.height and not e.failed and self._descends_from(e, entry):
                e.status |= STATUS_FAILED_CHILD
                changed.append(e)
        for e in changed:
            self.candidates.discard(e)
        self.db.put_index(changed)
        self._recompute_best_header()

    def _recompute_best_header(self) -> None:
        """After failure flags change (rare): the most-work header not marked invalid, first seen
        on a tie."""
        valid = (e for e in self.index.values() if not e.failed)
        self.best_header = max(valid, key=lambda e: (e.chainwork, -e.seq), default=None)

    @staticmethod
    def _descends_from(entry: BlockIndex, ancestor: BlockIndex) -> bool:
        try:
            return entry.ancestor(ancestor.height) is ancestor
        except ValueError:
            return False

    def _rebuild_candidates(self) -> None:
        self.candidates = {e for e in self.index.values() if e.have_chain and not e.failed}

    def invalidate_block(self, entry: BlockIndex) -> None:
        """Marks a block invalid by hand (RPC invalidateblock) and moves off it."""
        if entry.prev is None:
            raise ValueError("cannot invalidate the genesis block")
        while self.in_active_chain(entry):
            self._disconnect_tip()
        self._mark_failed(entry)
        self._rebuild_candidates()
        self.activate_best_chain()
        self.flush()  # the user's decision outlives a crash
        for listener in self.events.tip_changed:
            listener(self.tip)

    def reconsider_block(self, entry: BlockIndex) -> None:
        """Clears failure flags on `entry`, its ancestors and descendants (RPC reconsiderblock)."""
        changed = []
        for e in self.index.values():
            if e.failed and (self._descends_from(e, entry) or self._descends_from(entry, e)):
                e.status &= ~STATUS_FAILED_MASK
                changed.append(e)
        self.db.put_index(changed)
        self._recompute_best_header()
        self._rebuild_candidates()
        self.activate_best_chain()
        self.flush()

    def precious_block(self, entry: BlockIndex) -> None:
        """Prefers `entry` over other chains of equal work (RPC preciousblock)."""
        if entry.chainwork < self.tip.chainwork:
            return
        self._precious_seq -= 1
        entry.seq = self._precious_seq
        if entry.have_chain and not entry.failed:
            self.candidates.add(entry)
        self.activate_best_chain()

    def close(self) -> None:
        """A clean shutdown: flushes the cache."""
        if self._sig_queue is not None:
            self._sig_queue.close()
        self.db.close()
        self.store.close()
        self._datadir_lock.release()
