"""Edge models of the miner router: cgminer's fields, renamed to ours (H/s, not MH/s; snake_case)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class HashRate(_Model):
    average_hps: float = Field(ge=0, description="Since the miner started.")
    last_5s_hps: float = Field(ge=0)
    last_1m_hps: float = Field(ge=0)
    last_5m_hps: float = Field(ge=0)
    last_15m_hps: float = Field(ge=0)


class MinerSummary(_Model):
    elapsed_s: int = Field(ge=0)
    hashrate: HashRate
    accepted: int = Field(ge=0)
    rejected: int = Field(ge=0)
    stale: int = Field(ge=0)
    hardware_errors: int = Field(ge=0)
    found_blocks: int = Field(ge=0)
    difficulty_accepted: float = Field(ge=0)
    difficulty_rejected: float = Field(ge=0)
    best_share: float = Field(ge=0)


class Device(_Model):
    id: int = Field(ge=0)
    kind: Literal["cpu", "gpu", "asic", "fpga"]
    name: str
    enabled: bool
    status: str = Field(description="cgminer's word: Alive, Sick, Dead, NoStart, Initialising, ...")
    temperature_c: float | None
    power_w: float | None
    hashrate: HashRate
    accepted: int = Field(ge=0)
    rejected: int = Field(ge=0)
    hardware_errors: int = Field(ge=0)
    last_share: int | None = Field(description="Unix time of the last share; null before the first.")
    throttle: str | None = Field(description="Thermal throttle state, when the miner reports it.")
    duty_percent: float | None = Field(ge=0, le=100, description="Duty cycle, when the miner reports it.")


class MinerPool(_Model):
    id: int = Field(ge=0)
    url: str
    user: str
    status: str = Field(description="Alive, Dead, Disabled, ...")
    priority: int
    active: bool = Field(description="A Stratum connection is up.")
    accepted: int = Field(ge=0)
    rejected: int = Field(ge=0)
    stale: int = Field(ge=0)
    difficulty: float = Field(ge=0, description="Current share difficulty.")
    last_share: int | None
    block_height: int | None
    message: str | None = Field(description="The pool's last message or error, if any.")


class Action(_Model):
    ok: bool
    changed: bool = Field(description="False when the miner was already in that state.")
    message: str = Field(description="The miner's own words.")
