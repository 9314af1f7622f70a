"""Edge models of the pool router. Hash rates in H/s, amounts in integer satoshis, times in Unix seconds."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
WorkerStatus = Literal["online", "idle"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class BlockCounts(_Model):
    pending: int = Field(ge=0, description="Found, not yet matured (or not yet judged).")
    confirmed: int = Field(ge=0)
    orphaned: int = Field(ge=0)
    rejected: int = Field(ge=0, description="Refused by the node at submitblock.")


class PoolStats(_Model):
    hashrate_hps: float = Field(ge=0, description="From accepted share difficulty over `window_s`.")
    window_s: int = Field(ge=1)
    miners: int = Field(ge=0, description="Addresses with shares in the window.")
    workers: int = Field(ge=0, description="Workers with shares in the window.")
    blocks: BlockCounts
    round_difficulty: float = Field(ge=0, description="Share difficulty since the pool's last block.")
    effort: float | None = Field(ge=0, description="round_difficulty / network_difficulty (1.0 = one block's worth).")
    scheme: str
    fee_percent: float = Field(ge=0)
    connections: int | None = Field(ge=0, description="Open Stratum connections (when the pool says).")
    network: str | None
    height: int | None = Field(ge=0, description="Height of the block the pool's miners are working on.")
    network_difficulty: float | None = Field(ge=0)
    coin: str | None = Field(default=None, description="Ticker of the pool's network's coin (BTC, LTC, DOGE), "
                                                        "the unit of its block rewards and payouts.")


class Worker(_Model):
    name: str = Field(description="ADDRESS.worker, as the miner logs in.")
    address: str
    worker: str
    status: WorkerStatus = Field(description="online: a share within the last 5 minutes; idle: seen in the last day.")
    hashrate_hps: float = Field(ge=0, description="Over `window_s`.")
    window_s: int = Field(ge=1)
    shares: int = Field(ge=0, description="Accepted shares in the last day.")
    last_share: int = Field(description="Unix time of the worker's last accepted share.")


class AddressBalance(_Model):
    payable_sat: int = Field(description="Credited and confirmed, not yet paid.")
    immature_sat: int = Field(description="Credited from blocks not yet matured.")
    paid_sat: int = Field(ge=0)


class PoolBlock(_Model):
    id: int = Field(ge=0)
    height: int = Field(ge=0)
    hash: Hex64
    status: str = Field(pattern=r"^[a-z]{1,16}$", description="pending, confirmed, orphaned or rejected.")
    worker: str = Field(description="ADDRESS.worker that found it.")
    address: str
    reward_sat: int = Field(ge=0)
    network_difficulty: float = Field(ge=0)
    effort: float | None = Field(ge=0)
    found_at: int
    settled_at: int | None
    coin: str | None = Field(default=None, description="The block's coin (LTC, DOGE, ...): with merged mining the "
                             "aux chains' blocks are listed too, their reward in that coin's satoshis.")


class WorkerDetail(Worker):
    balance: AddressBalance = Field(description="The worker's address at the pool (shared by its workers).")
    blocks: list[PoolBlock] = Field(description="Recent blocks this worker found (newest first, up to 50).")


class Payment(_Model):
    id: int = Field(ge=0)
    txid: Hex64
    status: str = Field(pattern=r"^[a-z]{1,16}$", description="built, broadcast or confirmed.")
    amount_sat: int = Field(ge=0, description="The whole transaction's payout total, or one address's share of it.")
    created_at: int
    coin: str | None = Field(default=None, description="The coin paid (LTC, DOGE, ...).")


class MinerStats(_Model):
    address: str
    hashrate_hps: float = Field(ge=0)
    window_s: int = Field(ge=1)
    balance: AddressBalance
    workers: list[Worker]
    recent_blocks: list[PoolBlock] = Field(description="Up to 50, newest first.")
    recent_payments: list[Payment] = Field(description="Up to 50, newest first; amounts are this address's.")


class HashratePoint(_Model):
    time: int = Field(description="Start of the bucket (Unix seconds).")
    hashrate_hps: float = Field(ge=0)


class Earnings(_Model):
    hashrate_hps: float = Field(ge=0, description="The hash rate the estimate is for.")
    network_difficulty: float = Field(gt=0)
    block_reward_sat: int = Field(ge=0, description="Subsidy of the next block (fees not counted).")
    coins_per_day: float = Field(ge=0, description="H x 86400 x R / (D x 2^32) (2^16 for scrypt).")
    sat_per_day: int = Field(ge=0)
    coin: str = Field(default="BTC", description="Ticker of the amounts (BTC, LTC, DOGE): the network's coin.")
