"""A tiny PayoutWallet for tests: one coincurve key whose P2WPKH address receives the pool's
coinbase; coins found with scantxoutset, spends signed with tests.helpers.txbuilder."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from hashforge.consensus.address import address_to_script, script_to_address
from hashforge.consensus.params import ChainParams
from hashforge.consensus.tx import OutPoint, TxOut
from hashforge.pool.payouts import BuiltTransaction
from hashforge.rpcclient import AsyncRPCClient, RPCClientError
from tests.helpers.txbuilder import Key, Utxo, sign_tx


class TestWallet:
    __test__ = False

    def __init__(self, key: Key, rpc: AsyncRPCClient, params: ChainParams, maturity: int = 100) -> None:
        self.key, self.rpc, self.params, self.maturity = key, rpc, params, maturity
        self.address = script_to_address(key.p2wpkh, params) or ""

    async def _coins(self) -> list[Utxo]:
        res: Any = await self.rpc.call("scantxoutset", "start", [f"addr({self.address})"])
        coins = []
        for u in res["unspents"]:
            if u.get("coinbase") and u["confirmations"] < self.maturity:
                continue
            value = int(Decimal(str(u["amount"])) * 100_000_000)
            coins.append(Utxo(OutPoint(bytes.fromhex(u["txid"])[::-1], u["vout"]),
                              TxOut(value, self.key.p2wpkh), self.key))
        return sorted(coins, key=lambda c: (-c.value, c.outpoint.hash))

    async def build_batch(self, outputs: Sequence[tuple[str, int]]) -> BuiltTransaction:
        need = sum(v for _, v in outputs)
        chosen: list[Utxo] = []
        for c in await self._coins():
            chosen.append(c)
            fee = 2 * (11 + 68 * len(chosen) + 31 * (len(outputs) + 1))
            if sum(x.value for x in chosen) >= need + fee:
                break
        else:
            raise ValueError("insufficient mature funds")
        change = sum(x.value for x in chosen) - need - fee
        outs = [TxOut(v, address_to_script(a, self.params)) for a, v in outputs]
        if change > 1000:
            outs.append(TxOut(change, self.key.p2wpkh))
        tx = sign_tx(chosen, outs)
        return BuiltTransaction(tx.serialize().hex(), tx.txid_hex)

    async def broadcast(self, tx: BuiltTransaction) -> str:
        return str(await self.rpc.call("sendrawtransaction", tx.raw_hex))

    async def confirmations(self, txid: str) -> int:
        try:
            out = await self.rpc.call("gettxout", txid, 0, False)
        except RPCClientError:
            return 0
        return int(out["confirmations"]) if out else 0
