"""The block lifecycle and the ledger: pending -> confirmed (after maturity) or orphaned
(credits reversed), and when each scheme's credits are written.

Every method is one database transaction. On PostgreSQL each takes the same advisory lock
first, so several pool processes sharing the database never credit a block twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from ..config import AccountingConfig, Scheme
from ..db.repositories import BlockRepository, LedgerRepository, ShareRepository, StateRepository
from ..records import BlockFound
from .coin import ChainView
from .schemes import fee_amount, pplns_window, pps_credits, split_proportional

log = logging.getLogger(__name__)
LOCK_KEY = 727275


class Accountant:
    def __init__(self, engine: Engine, cfg: AccountingConfig, chain: ChainView, maturity: int) -> None:
        self.engine = engine
        self.cfg = cfg
        self.chain = chain
        self.maturity = cfg.maturity if cfg.maturity is not None else maturity
        self._lock = asyncio.Lock()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")
            yield conn

    # --- found blocks ------------------------------------------------------------------------

    def record_block(self, found: BlockFound) -> int | None:
        """Stores a found block: pending when the node accepted it, rejected otherwise."""
        with self._tx() as conn:
            if BlockRepository.exists(conn, found.hash_hex):
                return None
            share_id = ShareRepository.id_by_hash(conn, found.hash)
            effort = None
            if share_id is not None and found.network_difficulty > 0:
                prev = BlockRepository.last_share_id(conn)
                effort = ShareRepository.difficulty_after(conn, prev) - ShareRepository.difficulty_after(conn, share_id)
                effort /= found.network_difficulty
            accepted = found.accepted or found.submit_result in ("duplicate", "inconclusive")
            solo = self.cfg.scheme is Scheme.SOLO or self.cfg.scheme is Scheme.PPS
            return BlockRepository.insert(
                conn, found, scheme=self.cfg.scheme.value, share_id=share_id, effort=effort,
                status="pending" if accepted else "rejected", credited=solo or not accepted,
            )

    def credit_blocks(self) -> int:
        """Writes PPLNS/PROP credits for blocks not credited yet (immature until confirmed)."""
        n = 0
        with self._tx() as conn:
            for b in BlockRepository.uncredited(conn):
                amount = b.reward - fee_amount(b.reward, self.cfg.fee_percent)
                up_to = b.share_id or ShareRepository.max_id(conn)
                if self.cfg.scheme is Scheme.PPLNS:
                    weights = ShareRepository.last_n_difficulty(
                        conn, up_to, pplns_window(b.network_difficulty, self.cfg.pplns_factor))
                else:  # PROP
                    weights = ShareRepository.difficulty_between(
                        conn, BlockRepository.previous_share_id(conn, b.id), up_to)
                parts = split_proportional(amount, weights)
                LedgerRepository.add(conn, [
                    {"address": a, "amount": v, "kind": "block", "block_id": b.id} for a, v in parts.items()
                ])
                BlockRepository.set_credited(conn, b.id)
                n += 1
        return n

    def credit_pps(self) -> int:
        """PPS: credits every share accepted since the last run (payable at once)."""
        if self.cfg.scheme is not Scheme.PPS:
            return 0
        with self._tx() as conn:
            last = int(StateRepository.get(conn, "pps_last_share_id", "0") or 0)
            top = ShareRepository.max_id(conn)
            if top <= last:
                return 0
            values = ShareRepository.pps_value_between(conn, last, top)
            parts = pps_credits(values, self.cfg.fee_percent)
            LedgerRepository.add(conn, [{"address": a, "amount": v, "kind": "pps"} for a, v in parts.items()])
            StateRepository.set(conn, "pps_last_share_id", str(top))
            return len(parts)

    # --- lifecycle -----------------------------------------------------------------------------

    async def settle(self) -> tuple[int, int]:
        """Confirms mature blocks still in the active chain; orphans those that left it."""
        async with self._lock:
            pending = await asyncio.to_thread(self._pending)
            if not pending:
                return 0, 0
            tip = await self.chain.tip_height()
            decisions: list[tuple[int, str]] = []
            for block_id, height, block_hash in pending:
                if tip < height:
                    continue
                at = await self.chain.hash_at(height)
                if at == block_hash:
                    if tip - height + 1 >= self.maturity:
                        decisions.append((block_id, "confirmed"))
                elif tip >= height + self.cfg.orphan_depth:
                    decisions.append((block_id, "orphaned"))
            return await asyncio.to_thread(self._apply, decisions)

    def _pending(self) -> list[tuple[int, int, str]]:
        with self.engine.connect() as conn:
            return [(b.id, b.height, b.hash) for b in BlockRepository.by_status(conn, "pending")]

    def _apply(self, decisions: list[tuple[int, str]]) -> tuple[int, int]:
        confirmed = orphaned = 0
        with self._tx() as conn:
            for block_id, status in decisions:
                if not BlockRepository.set_status(conn, block_id, status, expect="pending"):
                    continue
                if status == "confirmed":
                    confirmed += 1
                    continue
                orphaned += 1
                LedgerRepository.add(conn, [
                    {"address": a, "amount": -v, "kind": "reversal", "block_id": block_id}
                    for a, v in LedgerRepository.block_credits(conn, block_id) if v
                ])
                log.warning("block %d orphaned; its credits are reversed", block_id)
        return confirmed, orphaned
