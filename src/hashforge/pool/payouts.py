"""Payouts: payable balances at or above the threshold, paid in one batched transaction.

The wallet is behind `PayoutWallet` (the hashforge wallet plugs in; tests use a small one).
Idempotence comes from splitting build and broadcast around a commit:

1. build: the wallet builds and signs the batch (no side effect on the network); in ONE
   transaction the payout row (status `built`, with the raw tx and txid), its items and the
   negative ledger entries are committed. A crash before this commit leaves nothing: no row,
   no broadcast, balances intact.
2. broadcast: the stored raw tx is broadcast; then the row becomes `broadcast`. A crash
   between commit and broadcast, or between broadcast and the status update, is resumed at
   start by broadcasting the *same* stored transaction again: the node answers "already
   known"/"already in chain" or accepts it, and one transaction can be mined only once.
3. confirm: once the transaction has a confirmation the row becomes `confirmed`.

No new batch is built while an earlier one is unconfirmed, so the wallet never selects an
output that an unconfirmed payout already spends.

One processor pays one coin: the pool's own (`chain` None) or an aux chain's (`chain` its
network) with that coin's wallet. Aux balances are kept under the miners' parent addresses and
paid to the aux address each named (auxaddress.py); a balance with no aux address waits.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.engine import Engine

from .db.repositories import AuxAddressRepository, LedgerRepository, PayoutRepository
from .errors import PayoutError
from .metrics import PoolMetrics

log = logging.getLogger(__name__)

ALREADY_KNOWN = ("already in block chain", "already known", "already in mempool", "txn-already",
                 "already in utxo set", "already have transaction")


@dataclass(frozen=True)
class BuiltTransaction:
    raw_hex: str
    txid: str  # display hex


class PayoutWallet(Protocol):
    """What the pool needs of a wallet. `build_batch` must not broadcast anything."""

    async def build_batch(self, outputs: Sequence[tuple[str, int]]) -> BuiltTransaction: ...

    async def broadcast(self, tx: BuiltTransaction) -> str: ...

    async def confirmations(self, txid: str) -> int: ...


def _crash_point(name: str) -> None:
    """Test hook: HASHFORGE_POOL_CRASH_AT=<name> kills the process right here (crash tests)."""
    if os.environ.get("HASHFORGE_POOL_CRASH_AT") == name:
        os._exit(137)


class PayoutProcessor:
    def __init__(
        self,
        engine: Engine,
        wallet: PayoutWallet,
        threshold: int,
        *,
        exclude: Sequence[str] = (),
        metrics: PoolMetrics | None = None,
        crash_point: Callable[[str], None] = _crash_point,
        chain: str | None = None,
    ) -> None:
        self.engine = engine
        self.chain = chain
        self.wallet = wallet
        self.threshold = threshold
        self.exclude = set(exclude)
        self.metrics = metrics or PoolMetrics()
        self.crash_point = crash_point
        self._lock = asyncio.Lock()

    async def run_once(self) -> str | None:
        """Resumes an unfinished payout, or pays the balances due; the txid handled, if any."""
        async with self._lock:
            unfinished = await asyncio.to_thread(self._unfinished)
            if unfinished:
                for pid, status, txid, raw in unfinished:
                    await self._advance(pid, status, BuiltTransaction(raw, txid))
                return unfinished[0][2]
            due, pay_to = await asyncio.to_thread(self._due)
            if not due:
                return None
            tx = await self.wallet.build_batch([(pay_to.get(a, a), v) for a, v in due])
            pid = await asyncio.to_thread(self._record, tx, due, pay_to)
            self.crash_point("after_build")
            await self._advance(pid, "built", tx)
            return tx.txid

    def _unfinished(self) -> list[tuple[int, str, str, str]]:
        with self.engine.connect() as conn:
            return [(r.id, r.status, r.txid, r.raw_tx) for r in PayoutRepository.unfinished(conn, self.chain)]

    def _due(self) -> tuple[list[tuple[str, int]], dict[str, str]]:
        """The balances to pay (by the miner's address) and, on an aux chain, where each goes."""
        with self.engine.connect() as conn:
            balances = LedgerRepository.payable_balances(conn, self.chain)
            pay_to = AuxAddressRepository.of_chain(conn, self.chain) if self.chain is not None else {}
        due = sorted((a, v) for a, v in balances.items() if v >= self.threshold and a not in self.exclude
                     and (self.chain is None or a in pay_to))
        return due, {a: pay_to[a] for a, _ in due if a in pay_to}

    def _record(self, tx: BuiltTransaction, items: Sequence[tuple[str, int]], pay_to: dict[str, str]) -> int:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727276)")
            # balances may have moved since _due (another process paid): recheck inside the lock
            now = LedgerRepository.payable_balances(conn, self.chain)
            for a, v in items:
                if now.get(a, 0) < v:
                    raise PayoutError(f"balance of {a} changed while building the payout")
            return PayoutRepository.create(conn, tx.txid, tx.raw_hex, items, self.chain, pay_to or None)

    async def _advance(self, pid: int, status: str, tx: BuiltTransaction) -> None:
        if status == "built":
            try:
                await self.wallet.broadcast(tx)
            except Exception as e:
                if not any(s in str(e).lower() for s in ALREADY_KNOWN):
                    log.error("payout %d broadcast failed, will retry: %s", pid, e)
                    return
            self.crash_point("after_broadcast")
            await asyncio.to_thread(self._set, pid, "broadcast")
            self.metrics.payouts.inc()
            status = "broadcast"
        if status == "broadcast":
            try:
                confs = await self.wallet.confirmations(tx.txid)
            except Exception as e:
                log.warning("payout %d confirmation check failed: %s", pid, e)
                return
            if confs >= 1:
                await asyncio.to_thread(self._set, pid, "confirmed")

    def _set(self, pid: int, status: str) -> None:
        with self.engine.begin() as conn:
            PayoutRepository.set_status(conn, pid, status)
