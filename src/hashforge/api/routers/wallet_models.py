"""Edge models of the wallet router. Amounts are integer satoshis."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
MAX_MONEY = 21_000_000 * 100_000_000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class WalletBalance(_Model):
    spendable_sat: int = Field(ge=0, description="Confirmed and mature: can be sent now.")
    immature_sat: int = Field(ge=0, description="Coinbase outputs with fewer confirmations than the maturity (100).")
    unconfirmed_sat: int = Field(ge=0, description="In the mempool (incoming, and our own change).")
    total_sat: int = Field(ge=0)
    synced_height: int | None = Field(ge=0, description="The chain height the wallet has seen.")
    coin: str = Field(default="BTC", description="Ticker of the amounts (BTC, LTC, DOGE): the wallet's network's coin.")


class WalletAddress(_Model):
    address: str
    type: str = Field(description="Script type: p2wpkh, p2tr, ...")
    change: bool
    index: int = Field(ge=0)
    path: str = Field(description="BIP32 derivation path.")
    used: bool


class HistoryItem(_Model):
    txid: Hex64
    status: str
    amount_sat: int = Field(description="Net change of the balance (negative for sends, fee included).")
    fee_sat: int | None = Field(ge=0, description="Known for transactions this wallet funded.")
    confirmations: int = Field(ge=0)
    height: int | None = Field(ge=0)
    block_hash: Hex64 | None
    block_time: int | None
    coinbase: bool
    replaced_by: Hex64 | None


class SendRequest(_Model):
    address: str = Field(min_length=14, max_length=128, pattern=r"^[A-Za-z0-9]+$",
                         description="Where to pay (an address of this wallet's network).")
    amount_sat: int = Field(ge=1, le=MAX_MONEY)
    fee_rate_sat_vb: float | None = Field(default=None, gt=0, le=100_000,
                                          description="Fee rate; omitted: the node's estimate (or the fallback).")
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                                        description="Retrying with the same key and request returns the same "
                                                    "transaction instead of paying twice.")


class SendResult(_Model):
    txid: Hex64
    fee_sat: int = Field(ge=0)
    fee_rate_sat_vb: float = Field(ge=0)
    vsize: int = Field(ge=0)
