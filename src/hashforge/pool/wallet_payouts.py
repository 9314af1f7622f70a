"""Pool payouts paid by the hashforge wallet: the PayoutWallet protocol over `hashforge.wallet.Wallet`.

The wallet keeps a SQLite connection, so every call runs on one dedicated thread. The pool records
the built transaction before broadcasting it (see payouts.py); the wallet's own idempotency key
makes a repeated build of the same payout round return the same transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from hashforge.consensus.params import ChainParams
from hashforge.rpcclient import RPCClient, RPCClientError
from hashforge.wallet import Wallet

from .payouts import BuiltTransaction

T = TypeVar("T")


class WalletPayouts:
    def __init__(self, wallet_dir: Path, passphrase: str, params: ChainParams, rpc: RPCClient) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="payout-wallet")
        self._rpc = rpc
        self._params = params
        self._wallet_dir = wallet_dir
        self._passphrase = passphrase
        self._wallet: Wallet | None = None

    def _open(self) -> Wallet:
        if self._wallet is None:
            wallet = Wallet.open(self._wallet_dir, self._params, rpc=self._rpc)
            wallet.unlock(self._passphrase)
            self._wallet = wallet
        return self._wallet

    async def _call(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def build_batch(self, outputs: Sequence[tuple[str, int]]) -> BuiltTransaction:
        def build() -> BuiltTransaction:
            wallet = self._open()
            wallet.sync()
            prepared = wallet.prepare_send(list(outputs), idempotency_key=f"pool-payout-{uuid.uuid4()}")
            return BuiltTransaction(prepared.raw_hex, prepared.txid)

        return await self._call(build)

    async def broadcast(self, tx: BuiltTransaction) -> str:
        def send() -> str:
            try:
                return str(self._rpc.call("sendrawtransaction", tx.raw_hex))
            except RPCClientError as e:
                if e.code == -27:  # already in the chain: it was broadcast before a restart
                    return tx.txid
                raise

        return await self._call(send)

    async def confirmations(self, txid: str) -> int:
        def confs() -> int:
            try:
                info = self._rpc.call("getrawtransaction", txid, True)
            except RPCClientError:
                return 0
            return int(info.get("confirmations", 0)) if isinstance(info, dict) else 0

        return await self._call(confs)

    def close(self) -> None:
        if self._wallet is not None:
            wallet = self._wallet
            self._executor.submit(wallet.close).result()
        self._executor.shutdown(wait=True)
