"""What the wallet's queries return: plain frozen values, JSON-ready via `as_dict()`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Balance:
    """Satoshis. `confirmed` is spendable now; `immature` are coinbase outputs with fewer than
    100 confirmations; `unconfirmed` is in the mempool (incoming, and our own change)."""

    confirmed: int
    unconfirmed: int
    immature: int
    tip_height: int | None

    @property
    def total(self) -> int:
        return self.confirmed + self.unconfirmed + self.immature

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total}


@dataclass(frozen=True)
class Utxo:
    txid: str
    vout: int
    value: int
    address: str
    confirmations: int
    coinbase: bool
    mature: bool
    spendable: bool
    status: str
    path: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HistoryEntry:
    """One transaction as the wallet sees it: `amount` is the net change of our balance
    (negative for sends, fee included), `fee` is known for transactions we funded."""

    txid: str
    status: str
    amount: int
    fee: int | None
    confirmations: int
    height: int | None
    block_hash: str | None
    block_time: int | None
    coinbase: bool
    replaced_by: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PreparedTx:
    """A signed transaction recorded in the wallet (its coins reserved) and not necessarily
    broadcast yet: store `raw_hex` and `txid`, then call `Wallet.broadcast(txid)`."""

    txid: str
    raw_hex: str
    fee: int
    fee_rate_sat_vb: str
    vsize: int
    outputs: tuple[tuple[str, int], ...]
    change_index: int | None
    idempotency_key: str | None
    status: str
    fee_source: str = "recorded"  # explicit | estimatesmartfee | fallback | recorded (a replayed request)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["outputs"] = [{"address": a, "value": v} for a, v in self.outputs]
        return d
