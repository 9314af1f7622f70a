"""A wallet's first mempool sync against a big mempool: `getrawtransaction` goes out in JSON-RPC
batches of MEMPOOL_BATCH (one HTTP request each), and the wallet still finds its own transactions
among hundreds of others. Also the client's batch call itself (sync and async)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from hashforge.consensus.params import REGTEST
from hashforge.consensus.tx import OutPoint, TxOut
from hashforge.rpcclient import AsyncRPCClient, Call, RPCClient, RPCClientError
from hashforge.wallet import Wallet
from hashforge.wallet.sync import MEMPOOL_BATCH, ChainTracker
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Utxo, outputs_of, sign_tx, spend

from .conftest import EXT_ADDR, EXT_KEY, FAST_KDF

pytestmark = pytest.mark.slow
N = 320  # mempool transactions: 4 batches


class NoBatches(RPCClient):
    def call_batch(self, calls: Sequence[Call]) -> list[Any]:
        self.requests += 1
        raise RPCClientError(-32600, "batches are not supported", "batch")


def client(node: NodeProcess) -> RPCClient:
    return RPCClient(node.url, cookie=node.datadir / ".cookie", timeout=120)


def test_first_mempool_sync_fetches_in_batches(node: NodeProcess, tmp_path: Path) -> None:
    node.call("generatetoaddress", 101, EXT_ADDR)
    cb = node.call("getblock", node.call("getblockhash", 1), 2)["tx"][0]
    coin = Utxo(OutPoint(bytes.fromhex(cb["txid"])[::-1], 0),
                TxOut(round(float(cb["vout"][0]["value"]) * 100_000_000), EXT_KEY.p2wpkh), EXT_KEY)
    fanout = spend(coin, EXT_KEY, 50_000, n_outputs=N)
    node.call("sendrawtransaction", fanout.serialize().hex())
    node.call("generatetoaddress", 1, EXT_ADDR)

    rpc = client(node)
    w, _ = Wallet.create(tmp_path / "w", REGTEST, "pw", rpc=rpc, kdf=FAST_KDF)
    try:
        w.sync()
        ours: dict[str, int] = {}
        scripts = [bytes.fromhex(node.call("validateaddress", w.new_address())["scriptPubKey"]) for _ in range(3)]
        for i, u in enumerate(outputs_of(fanout, EXT_KEY)):
            if i % 100 == 7 and len(ours) < len(scripts):  # three pay the wallet, in different batches
                pay = 1_000_000 + i
                tx = sign_tx([u], [TxOut(pay, scripts[len(ours)]), TxOut(u.value - pay - 1_000, EXT_KEY.p2wpkh)])
                ours[tx.txid_hex] = pay
            else:
                tx = sign_tx([u], [TxOut(u.value - 1_000, EXT_KEY.p2wpkh)])
            node.call("sendrawtransaction", tx.serialize().hex())
        assert len(node.call("getrawmempool")) == N

        before = rpc.requests
        report = w.sync()
        used = rpc.requests - before
        # N / MEMPOOL_BATCH batches plus a handful of calls (tip, reorg check, getrawmempool), not N
        assert -(-N // MEMPOOL_BATCH) <= used <= -(-N // MEMPOOL_BATCH) + 6, used
        assert sorted(report.new_transactions) == sorted(ours)
        assert {h.txid: h.amount for h in w.history()} == ours
        assert all(h.status == "mempool" for h in w.history())
        assert w.balance().unconfirmed == sum(ours.values())

        before = rpc.requests  # the next sync fetches nothing it has seen
        w.sync()
        assert rpc.requests - before <= 6

        # a server that refuses batches (one error for the whole request): one call per txid
        plain = NoBatches(node.url, cookie=node.datadir / ".cookie")
        try:
            tracker = ChainTracker(w.db, w.book, plain)
            gone = "00" * 32
            txs = tracker._mempool_txs([*sorted(ours), gone])
            assert [t["txid"] if t else None for t in txs] == [*sorted(ours), None]
            assert plain.requests == 1 + len(ours) + 1
            tracker._mempool_txs(sorted(ours))  # it remembers: no second batch attempt
            assert plain.requests == 1 + 2 * len(ours) + 1
        finally:
            plain.close()
    finally:
        w.close()
        rpc.close()


def test_batch_calls_sync_and_async(node: NodeProcess) -> None:
    calls = [("getblockhash", (0,)), ("getblockhash", (10**9,)), ("getblockcount", ())]
    rpc = client(node)
    try:
        genesis, missing, count = rpc.call_batch(calls)
        assert rpc.requests == 1 and rpc.call_batch([]) == [] and rpc.requests == 1
    finally:
        rpc.close()
    assert genesis == node.call("getblockhash", 0) and count == node.call("getblockcount")
    assert isinstance(missing, RPCClientError) and missing.method == "getblockhash"

    async def go() -> list[object]:
        arpc = AsyncRPCClient(node.url, cookie=node.datadir / ".cookie")
        try:
            out = await arpc.call_batch(calls)
            assert arpc.requests == 1
            return out
        finally:
            await arpc.aclose()

    a_genesis, a_missing, a_count = asyncio.run(go())
    assert (a_genesis, a_count) == (genesis, count) and isinstance(a_missing, RPCClientError)
