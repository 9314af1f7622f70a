"""Edge models of `/v1/pool/contracts`. Hash rates in H/s, amounts in integer satoshis, fiat as
decimal strings (never floats), times in Unix seconds."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ContractState = Literal["pending", "active", "expired", "cancelled"]
# Bounds at the edge, so out-of-range numbers are a 422 here rather than an overflow in the pool's database.
MAX_INT64 = 2**63 - 1
EARLIEST_TIME = 1231006505.0  # Bitcoin's genesis block
LATEST_TIME = 7258118400.0  # 2200-01-01 UTC


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContractIn(_Model):
    customer_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Your id for the customer.")
    customer_name: str = Field(min_length=1, max_length=128)
    payout_address: str = Field(pattern=r"^[A-Za-z0-9]{14,128}$")
    hashrate_hps: int = Field(gt=0, le=MAX_INT64, description="Hash rate sold, H/s.")
    days: int = Field(ge=1, le=3650)
    start_time: float | None = Field(default=None, ge=EARLIEST_TIME, le=LATEST_TIME, allow_inf_nan=False,
                                     description="Unix seconds (2009..2200); default now.")
    price_sat: int | None = Field(default=None, ge=0, le=MAX_INT64)
    price_fiat: Decimal | None = Field(default=None, ge=0, max_digits=30, decimal_places=8, allow_inf_nan=False,
                                       description="Recorded for information.")
    fiat_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3,8}$")
    fee_sat_per_day: int = Field(default=0, ge=0, le=MAX_INT64 // 3650,
                                 description="Maintenance fee, sats per day of the contract.")
    fee_percent: Decimal = Field(default=Decimal(0), ge=0, lt=100, decimal_places=4, allow_inf_nan=False,
                                 description="Maintenance fee, percent of the contract's gross earnings.")


class Contract(_Model):
    id: int
    customer_id: str
    customer_name: str
    payout_address: str
    hashrate_hps: int
    start_time: float
    end_time: float
    days: int
    state: ContractState
    price_sat: int | None
    price_fiat: Decimal | None
    fiat_currency: str | None
    fee_sat_per_day: int
    fee_percent: Decimal
    created_at: float
    cancelled_at: float | None
    earned_sat: int = Field(description="Net, from confirmed blocks and PPS credits (payable).")
    immature_sat: int = Field(description="Net, from blocks not yet confirmed.")
    reversed_sat: int = Field(description="Net, from blocks orphaned (reversed).")
    gross_sat: int
    fees_sat: int
    delivered_hps: float = Field(description="The farm's measured work credited to the contract per active second.")
    accrued_seconds: float


class Farm(_Model):
    addresses: list[str] = Field(min_length=1, max_length=100, description="The operator's own payout addresses.")
    capacity_hps: int | None = Field(default=None, gt=0, le=MAX_INT64, description="A capacity the operator asserts (H/s).")
    window_s: int = Field(default=86400, ge=600, le=30 * 86400, description="Window the farm's rate is measured over.")


class Capacity(_Model):
    farm: Farm | None
    measured_hps: float = Field(description="The farm's addresses' rate over the window.")
    capacity_hps: float = Field(description="Sellable: measured, or the asserted capacity if lower.")
    sold_hps: int = Field(description="Contracted hash rate active now.")
    sold_peak_hps: int = Field(description="The most contracted at any time from now on.")
    available_hps: int
    utilization: float | None


class Allocation(_Model):
    period_id: int
    source: str
    block_id: int | None
    block_status: str | None
    start_time: float
    end_time: float
    earned: int = Field(description="The farm's earnings in the period, sats.")
    farm_hashrate: float
    active_seconds: float
    share: float
    hashes: float
    gross: int
    fee: int
    net: int


class Period(_Model):
    id: int
    source: str
    block_id: int | None
    block_status: str | None
    start_time: float
    end_time: float
    earned: int
    farm_hashrate: float
    allocated: int
    fees: int
    operator_sat: int = Field(description="What the operator kept: earned - allocated.")
    created_at: float


class Balance(_Model):
    payable_sat: int
    immature_sat: int
    paid_sat: int


class CustomerPayout(_Model):
    id: int
    txid: str
    status: str
    created_at: float
    amount_sat: int
    address: str


class Customer(_Model):
    id: str
    name: str
    contracts: list[Contract]
    earned_sat: int
    immature_sat: int
    fees_sat: int
    balances: dict[str, Balance]
    payouts: list[CustomerPayout]


class CustomerKeyIn(_Model):
    name: str | None = Field(default=None, min_length=1, max_length=64)


class CustomerKey(_Model):
    name: str
    customer_id: str
    token: str = Field(description="Shown once; it reads only this customer's contracts.")
