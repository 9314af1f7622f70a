"""Chain tracking against a node's JSON-RPC (hashforge or Bitcoin Core).

`ChainTracker.sync()` brings the database to the node's tip:
1. reorg check: walk back from the wallet's last block until its stored hash equals the node's
   block hash at that height; everything above the fork is rolled back (coinbases vanish, other
   transactions become unconfirmed until seen again);
2. scan: `getblock <hash> 2` for each new height from the birth height, checking that every block
   links to the one stored below it (a reorg during the scan restarts at step 1). A node without
   verbosity 2 (older Dogecoin Core 1.14 releases), or a tracker told `raw_blocks`, reads the raw
   block instead (`getblock <hash> false`, read by `rawblocks`, Dogecoin AuxPoW and Litecoin MWEB
   blocks included);
3. mempool: `getrawmempool`, then `getrawtransaction <txid> true` for txids not seen before, in
   JSON-RPC batches of MEMPOOL_BATCH (one HTTP request each; one call per txid where the client
   has no `call_batch` or the server refuses batches); our unconfirmed transactions that are in
   neither the mempool nor a block become DROPPED.
Each block is applied in one database transaction together with its row in `blocks`, so a crash
leaves the wallet at a block boundary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from hashforge.consensus.params import COIN
from hashforge.rpcclient import RPCClientError

from . import rawblocks
from .addresses import AddressBook
from .db import TxStatus, WalletDB
from .errors import NodeError

log = logging.getLogger(__name__)
MAX_RESTARTS = 10
MEMPOOL_BATCH = 100  # getrawtransaction calls per HTTP request on a (first) mempool sync


class NodeRPC(Protocol):
    def call(self, method: str, *params: Any) -> Any: ...


def to_sats(value: Any) -> int:
    """A JSON BTC amount (float or string) to exact satoshis."""
    return int((Decimal(str(value)) * COIN).to_integral_value())


@dataclass
class SyncReport:
    tip_height: int = -1
    tip_hash: str | None = None
    blocks_scanned: int = 0
    rolled_back_to: int | None = None
    new_transactions: list[str] = field(default_factory=list)


class _Restart(Exception):
    pass


class ChainTracker:
    def __init__(self, db: WalletDB, book: AddressBook, rpc: NodeRPC, birth_height: int = 0,
                 raw_blocks: bool = False) -> None:
        self.db = db
        self.book = book
        self.rpc = rpc
        self.birth_height = birth_height
        self._no_batches = False
        self._raw_blocks = raw_blocks  # also set once the node refuses getblock verbosity 2

    def _block(self, block_hash: str) -> dict[str, Any]:
        """The block in `getblock HASH 2`'s shape, from the raw block where the node has no
        verbosity 2 (its refusal is an RPC error; a transport failure is not taken as one)."""
        if not self._raw_blocks:
            try:
                return dict(self.rpc.call("getblock", block_hash, 2))
            except RPCClientError as e:
                if e.code == -5:  # block not found: the chain moved; the caller's checks handle it
                    raise NodeError(f"node RPC getblock failed: {' '.join(str(e).split())[:300]}") from None
                log.info("the node has no getblock verbosity 2 (%s); reading raw blocks",
                         " ".join(str(e).split())[:120])
                self._raw_blocks = True
            except Exception as e:
                raise NodeError(f"node RPC getblock failed: {' '.join(str(e).split())[:300]}") from None
        raw = self._call("getblock", block_hash, False)  # a bool: what every getblock takes
        try:
            return rawblocks.read_block(bytes.fromhex(raw), self.book.params)
        except (ValueError, TypeError) as e:
            raise NodeError(f"block {block_hash} from the node does not parse: {e}") from None

    def _call(self, method: str, *params: Any) -> Any:
        try:
            return self.rpc.call(method, *params)
        except Exception as e:  # transport and RPC errors alike, as one wallet error
            raise NodeError(f"node RPC {method} failed: {' '.join(str(e).split())[:300]}") from None

    # --- entry point ----------------------------------------------------------------------------

    def sync(self, progress: Callable[[int, int], None] | None = None, mempool: bool = True) -> SyncReport:
        report = SyncReport()
        for _ in range(MAX_RESTARTS):
            try:
                self._sync_blocks(report, progress)
                break
            except _Restart:
                continue
        else:
            raise NodeError("the node's chain kept changing during the scan; try again")
        if mempool:
            self._sync_mempool(report)
        tip = self.db.tip()
        if tip is not None:
            report.tip_height, report.tip_hash = tip
        return report

    # --- blocks ---------------------------------------------------------------------------------

    def _find_fork(self, report: SyncReport) -> None:
        tip = self.db.tip()
        if tip is None:
            return
        node_height = int(self._call("getblockcount"))
        lowest = self.db.lowest_block()
        assert lowest is not None
        h = min(tip[0], node_height)
        while h >= lowest and self.db.block_hash(h) != self._call("getblockhash", h):
            h -= 1
        if h < tip[0]:
            log.info("reorg: rolling the wallet back from height %d to %d", tip[0], h)
            self.db.rollback_to(h)
            report.rolled_back_to = h if report.rolled_back_to is None else min(h, report.rolled_back_to)

    def _sync_blocks(self, report: SyncReport, progress: Callable[[int, int], None] | None) -> None:
        self._find_fork(report)
        node_height = int(self._call("getblockcount"))
        tip = self.db.tip()
        start = tip[0] + 1 if tip is not None else max(self.birth_height, 0)
        self._outpoints = {(t, n) for t, n in self.db.query("SELECT txid, n FROM outputs")}
        for height in range(start, node_height + 1):
            block_hash = self._call("getblockhash", height)
            block = self._block(block_hash)
            prev = self.db.block_hash(height - 1)
            if prev is not None and block.get("previousblockhash") != prev:
                raise _Restart  # the chain moved under us
            self._apply_block(height, block_hash, block, report)
            report.blocks_scanned += 1
            if progress is not None:
                progress(height, node_height)

    def _apply_block(self, height: int, block_hash: str, block: dict[str, Any], report: SyncReport) -> None:
        while True:
            scripts = self.book.scripts()
            with self.db.transaction():
                for txj in block["tx"]:
                    self._apply_tx(txj, scripts, TxStatus.CONFIRMED, block_hash, height, int(block.get("time", 0)), report)
                self.db.add_block(height, block_hash)
                grew = self.book.fill_gaps()
            if not grew:
                return
            # new addresses past the gap: look at this block again with them (idempotent)

    def _apply_tx(
        self,
        txj: dict[str, Any],
        scripts: dict[bytes, tuple[int, int, int]],
        status: TxStatus,
        block_hash: str | None,
        height: int | None,
        block_time: int | None,
        report: SyncReport,
    ) -> bool:
        txid = str(txj["txid"])
        vin = txj.get("vin", [])
        coinbase = bool(vin) and "coinbase" in vin[0]
        ours_in = [] if coinbase else [
            (str(i["txid"]), int(i["vout"])) for i in vin if (i.get("txid"), i.get("vout")) in self._outpoints
        ]
        ours_out = []
        for o in txj.get("vout", []):
            spk = bytes.fromhex(o["scriptPubKey"]["hex"])
            if spk in scripts:
                ours_out.append((int(o["n"]), to_sats(o["value"]), spk))
        known = self.db.tx(txid)
        if not ours_in and not ours_out and known is None:
            return False
        fee = to_sats(txj["fee"]) if ours_in and "fee" in txj else None
        if known is not None and known.status is TxStatus.REPLACED and status is TxStatus.MEMPOOL:
            status = TxStatus.REPLACED  # a stale mempool view must not revive a replaced tx
        self.db.upsert_tx(txid, status, block_hash=block_hash, height=height, block_time=block_time,
                          coinbase=coinbase, fee=fee, vsize=txj.get("vsize"))
        if known is None:
            report.new_transactions.append(txid)
        for n, value, spk in ours_out:
            self.db.add_output(txid, n, value, spk)
            self._outpoints.add((txid, n))
        self.db.mark_used([spk for _, _, spk in ours_out])
        for prev_txid, prev_n in ours_in:
            self.db.add_spend(prev_txid, prev_n, txid)
            if status is TxStatus.CONFIRMED:
                for other in self.db.spenders(prev_txid, prev_n):
                    row = self.db.tx(other)
                    if other != txid and row is not None and row.status in (TxStatus.SIGNED, TxStatus.MEMPOOL, TxStatus.DROPPED):
                        self.db.set_status(other, TxStatus.CONFLICTED)
        return True

    # --- mempool --------------------------------------------------------------------------------

    def _sync_mempool(self, report: SyncReport) -> None:
        in_pool = set(self._call("getrawmempool"))
        for row in self.db.txs_with_status(TxStatus.MEMPOOL, TxStatus.SIGNED, TxStatus.DROPPED):
            if row.txid in in_pool and row.status is not TxStatus.MEMPOOL:
                self.db.set_status(row.txid, TxStatus.MEMPOOL)
            elif row.txid not in in_pool and row.status is TxStatus.MEMPOOL:
                self.db.set_status(row.txid, TxStatus.DROPPED)
        seen = self.db.mempool_seen()
        scripts = self.book.scripts()
        self._outpoints = {(t, n) for t, n in self.db.query("SELECT txid, n FROM outputs")}
        checked = in_pool - seen
        todo = [txid for txid in sorted(checked) if self.db.tx(txid) is None]
        for start in range(0, len(todo), MEMPOOL_BATCH):
            for txj in self._mempool_txs(todo[start:start + MEMPOOL_BATCH]):
                if txj is None:
                    continue  # left the mempool meanwhile
                with self.db.transaction():
                    self._apply_tx(txj, scripts, TxStatus.MEMPOOL, None, None, None, report)
        self.db.set_mempool_seen((seen & in_pool) | checked)

    def _mempool_txs(self, txids: list[str]) -> list[dict[str, Any] | None]:
        """`getrawtransaction txid true` for each, None where the node no longer has it."""
        batch = getattr(self.rpc, "call_batch", None)
        if batch is None or self._no_batches:
            out: list[dict[str, Any] | None] = []
            for txid in txids:
                try:
                    out.append(self.rpc.call("getrawtransaction", txid, True))
                except Exception:
                    out.append(None)
            return out
        try:
            replies = batch([("getrawtransaction", (txid, True)) for txid in txids])
        except RPCClientError:  # the server answered the batch with one error: it takes no batches
            self._no_batches = True
            return self._mempool_txs(txids)
        except Exception as e:  # the whole request failed: nothing is marked seen, the next sync retries
            raise NodeError(f"node RPC getrawtransaction (batch of {len(txids)}) failed: "
                            f"{' '.join(str(e).split())[:300]}") from None
        return [r if isinstance(r, dict) else None for r in replies]
