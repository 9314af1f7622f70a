"""A hashforge wallet in its data directory, for the API.

The wallet is blocking code over SQLite (and a synchronous node RPC client), so every call runs
on one dedicated thread, in order; the event loop only awaits. A background task syncs the wallet
with the node every `sync_s` seconds so balance and history stay current. The wallet is unlocked at
start when a passphrase is given (sending needs it); without one it is read-only and a send is a
409 problem. Wallet errors become problems whose detail is the wallet's own one-line reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from hashforge.consensus.params import ChainParams
from hashforge.wallet import (
    AmountError,
    Balance,
    FeeRateError,
    HistoryEntry,
    IdempotencyConflictError,
    InsufficientFundsError,
    InvalidAddressError,
    NodeError,
    PreparedTx,
    Wallet,
    WalletError,
    WatchOnlyError,
)
from hashforge.wallet.errors import BadInputError
from hashforge.wallet.sync import NodeRPC

from ..errors import ComponentFailed, ComponentUnavailable, Conflict, Rejected, ServiceError

log = logging.getLogger(__name__)
T = TypeVar("T")


def wallet_problem(e: WalletError) -> ServiceError:
    """The API error for a wallet error: the wallet's one-line reason as the detail."""
    reason = " ".join(str(e).split())[:500] or type(e).__name__
    if isinstance(e, InvalidAddressError):
        return Rejected(reason, "invalid-address")
    if isinstance(e, InsufficientFundsError):
        return Rejected(reason, "insufficient-funds")
    if isinstance(e, AmountError):
        return Rejected(reason, "invalid-amount")
    if isinstance(e, FeeRateError):
        return Rejected(reason, "invalid-fee-rate")
    if isinstance(e, IdempotencyConflictError):
        return Conflict(reason)
    if isinstance(e, WatchOnlyError):  # locked, or no keys at all
        return Conflict(reason)
    if isinstance(e, BadInputError):
        return Rejected(reason)
    if isinstance(e, NodeError):
        return ComponentFailed(reason)
    return ComponentFailed(reason)


class WalletGateway:
    def __init__(self, datadir: Path, params: ChainParams, rpc: NodeRPC, passphrase: str | None = None,
                 sync_s: float = 2.0) -> None:
        self.datadir = datadir
        self.params = params
        self.sync_s = sync_s
        self._rpc = rpc
        self._passphrase = passphrase
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="api-wallet")
        self._wallet: Wallet | None = None
        self.synced_height: int | None = None
        self.last_error: str | None = None

    # --- the wallet thread ------------------------------------------------------------------------
    def _open(self) -> Wallet:
        if self._wallet is None:
            wallet = Wallet.open(self.datadir, self.params, rpc=self._rpc)
            if self._passphrase is not None:
                try:
                    wallet.unlock(self._passphrase)
                except WalletError:
                    wallet.close()
                    raise
            self._wallet = wallet
        return self._wallet

    async def call(self, fn: Callable[[Wallet], T]) -> T:
        """Runs `fn(wallet)` on the wallet's thread; wallet errors become service errors."""
        def run() -> T:
            return fn(self._open())

        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, run)
        except WalletError as e:
            raise wallet_problem(e) from None
        except OSError as e:
            raise ComponentUnavailable(f"The wallet cannot be opened: {e.strerror or e}") from None

    async def open(self) -> None:
        """Opens (and unlocks) now, so a wrong passphrase or a missing wallet shows at startup."""
        def check(w: Wallet) -> None:
            return None

        await self.call(check)

    async def aclose(self) -> None:
        def close() -> None:
            if self._wallet is not None:
                self._wallet.close()
                self._wallet = None

        await asyncio.get_running_loop().run_in_executor(self._executor, close)
        self._executor.shutdown(wait=True)

    # --- reads and writes -------------------------------------------------------------------------
    async def balance(self) -> Balance:
        return await self.call(lambda w: w.balance())

    async def addresses(self) -> list[dict[str, Any]]:
        return await self.call(lambda w: w.addresses())

    async def new_address(self) -> dict[str, Any]:
        def make(w: Wallet) -> dict[str, Any]:
            address = w.new_address()
            return next(a for a in w.addresses() if a["address"] == address)

        return await self.call(make)

    async def history(self) -> list[HistoryEntry]:
        return await self.call(lambda w: w.history())

    async def send(self, address: str, amount_sat: int, fee_rate: float | None,
                   idempotency_key: str | None) -> PreparedTx:
        """Builds, signs, records and broadcasts one payment; the prepared transaction."""
        def send(w: Wallet) -> PreparedTx:
            prepared = w.prepare_send([(address, amount_sat)], fee_rate, idempotency_key=idempotency_key)
            w.broadcast(prepared.txid)
            return prepared

        return await self.call(send)

    async def sync(self) -> None:
        def sync(w: Wallet) -> int | None:
            w.sync()
            return w.tip_height()

        self.synced_height = await self.call(sync)

    async def run(self) -> None:
        """Keeps the wallet in step with the node (a task for the app's lifetime)."""
        while True:
            try:
                await self.sync()
                self.last_error = None
            except asyncio.CancelledError:
                raise
            except ServiceError as e:
                if self.last_error != e.detail:
                    log.warning("wallet sync failed: %s", e.detail)
                self.last_error = e.detail
            except Exception:
                log.exception("wallet sync failed")
            await asyncio.sleep(self.sync_s)
