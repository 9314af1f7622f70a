"""The block lifecycle and the ledger: pending -> confirmed (after maturity) or orphaned
(credits reversed), and when each scheme's credits are written.

Every method is one database transaction. On PostgreSQL each takes the same advisory lock
first, so several pool processes sharing the database never credit a block twice.

One Accountant keeps one coin's books: the pool's own chain (`chain` None) or an aux chain of
merged mining (`chain` its network name), with that chain's node for maturity and orphans. An aux
chain's block is split by the same scheme, in its coin, over the shares that carried that chain's
work (`shares.aux_chains`: a share of a job without it, e.g. while that chain's node was away,
could not have found its block and earns nothing in its coin): PPLNS over the last factor x (that
chain's difficulty) of such share difficulty, PROP over such shares since that chain's previous
block, SOLO all to the finder (the aux coinbase pays the pool's aux address, so the finder is paid
from the pool's aux balance, less the fee), PPS each such share at its expected value on that
chain (`aux_value`: the chain's difficulty in share units and its block reward when the run
credits them; the aux blocks then go to the pool).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from ..config import AccountingConfig, Scheme
from ..db.repositories import BlockRepository, LedgerRepository, ShareRepository, StateRepository
from ..records import BlockFound
from .coin import ChainView
from .schemes import fee_amount, pplns_window, pps_credits, pps_values, split_proportional

log = logging.getLogger(__name__)
LOCK_KEY = 727275


AuxValue = Callable[[], tuple[float, int] | None]  # (difficulty in share units, block reward) or None


class Accountant:
    def __init__(self, engine: Engine, cfg: AccountingConfig, chain: ChainView, maturity: int, *,
                 network: str | None = None, aux_value: AuxValue | None = None) -> None:
        self.engine = engine
        self.cfg = cfg
        self.chain = chain
        self.network = network  # None: the pool's own chain; else this aux chain's books
        override = cfg.maturity if network is None else cfg.aux_maturity
        self.maturity = override if override is not None else maturity
        self.aux_value = aux_value
        self._lock = asyncio.Lock()

    @property
    def _pps_key(self) -> str:
        return "pps_last_share_id" if self.network is None else f"pps_last_share_id:{self.network}"

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")
            yield conn

    # --- found blocks ------------------------------------------------------------------------

    def record_block(self, found: BlockFound) -> int | None:
        """Stores a found block: pending when the node accepted it, rejected otherwise."""
        if found.chain != self.network:
            raise ValueError(f"a block of {found.chain or 'the pool chain'} given to the books of "
                             f"{self.network or 'the pool chain'}")
        with self._tx() as conn:
            if BlockRepository.exists(conn, found.hash_hex):
                return None
            share_id = ShareRepository.id_by_hash(conn, found.pow_hash or found.hash)
            effort = None
            if share_id is not None and found.network_difficulty > 0:
                prev = BlockRepository.last_share_id(conn, self.network)
                effort = (ShareRepository.difficulty_after(conn, prev, self.network)
                          - ShareRepository.difficulty_after(conn, share_id, self.network))
                effort /= found.network_difficulty
            accepted = found.accepted or found.submit_result in ("duplicate", "inconclusive")
            # the parent coinbase pays a SOLO finder itself; an aux coinbase pays the pool (credited here)
            paid_by_coinbase = self.cfg.scheme is Scheme.SOLO and self.network is None
            return BlockRepository.insert(
                conn, found, scheme=self.cfg.scheme.value, share_id=share_id, effort=effort,
                status="pending" if accepted else "rejected",
                credited=paid_by_coinbase or self.cfg.scheme is Scheme.PPS or not accepted,
            )

    def credit_blocks(self) -> int:
        """Writes PPLNS/PROP (and aux SOLO) credits for blocks not credited yet (immature until confirmed)."""
        n = 0
        with self._tx() as conn:
            for b in BlockRepository.uncredited(conn, self.network):
                amount = b.reward - fee_amount(b.reward, self.cfg.fee_percent)
                up_to = b.share_id or ShareRepository.max_id(conn)
                weights: dict[str, float]
                if self.cfg.scheme is Scheme.SOLO:
                    weights = {b.address: 1.0}
                elif self.cfg.scheme is Scheme.PPLNS:
                    weights = ShareRepository.last_n_difficulty(
                        conn, up_to, pplns_window(b.network_difficulty, self.cfg.pplns_factor), chain=self.network)
                else:  # PROP
                    weights = ShareRepository.difficulty_between(
                        conn, BlockRepository.previous_share_id(conn, b.id, self.network), up_to, self.network)
                parts = split_proportional(amount, weights)
                LedgerRepository.add(conn, [
                    {"address": a, "amount": v, "kind": "block", "block_id": b.id, "chain": self.network}
                    for a, v in parts.items()
                ])
                BlockRepository.set_credited(conn, b.id)
                n += 1
        return n

    def begin(self) -> None:
        """An aux chain's PPS starts with the shares after this (earlier ones were kept by another
        scheme's books, or are from before the pool merged this chain)."""
        if self.cfg.scheme is not Scheme.PPS or self.network is None:
            return
        with self._tx() as conn:
            if StateRepository.get(conn, self._pps_key) is None:
                StateRepository.set(conn, self._pps_key, str(ShareRepository.max_id(conn)))

    def credit_pps(self) -> int:
        """PPS: credits every share accepted since the last run (payable at once)."""
        if self.cfg.scheme is not Scheme.PPS:
            return 0
        aux = None
        if self.network is not None:
            aux = self.aux_value() if self.aux_value is not None else None
            if aux is None:  # no work from that node now: these shares are credited by a later run
                return 0
        with self._tx() as conn:
            last = int(StateRepository.get(conn, self._pps_key, "0") or 0)
            top = ShareRepository.max_id(conn)
            if top <= last:
                return 0
            if aux is None:
                values = ShareRepository.pps_value_between(conn, last, top)
            else:
                values = pps_values(ShareRepository.difficulty_between(conn, last, top, self.network), *aux)
            parts = pps_credits(values, self.cfg.fee_percent)
            LedgerRepository.add(conn, [{"address": a, "amount": v, "kind": "pps", "chain": self.network}
                                        for a, v in parts.items()])
            StateRepository.set(conn, self._pps_key, str(top))
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
            return [(b.id, b.height, b.hash) for b in BlockRepository.by_status(conn, "pending", self.network)]

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
                    {"address": a, "amount": -v, "kind": "reversal", "block_id": block_id, "chain": self.network}
                    for a, v in LedgerRepository.block_credits(conn, block_id) if v
                ])
                log.warning("block %d%s orphaned; its credits are reversed", block_id,
                            f" of {self.network}" if self.network else "")
        return confirmed, orphaned
