"""The operator's farm: which payout addresses are the operator's own workers, and its capacity.

Stored in `pool_state` (so the pool, its API and the CLI share it): the addresses, an optional
capacity the operator asserts (H/s), and the measuring window (24 h by default). Sellable
capacity = the measured rate of those addresses over the window, or the asserted capacity if
that is lower.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from ..db.models import shares
from ..db.repositories import StateRepository
from ..hashrate import hashrate
from .errors import ContractError

KEY = "contracts.farm"
DEFAULT_WINDOW = 86400


@dataclass(frozen=True)
class Farm:
    addresses: tuple[str, ...] = ()
    capacity_hps: int | None = None
    window_s: int = DEFAULT_WINDOW

    def to_json(self) -> dict[str, object]:
        return {"addresses": list(self.addresses), "capacity_hps": self.capacity_hps, "window_s": self.window_s}


def load(conn: Connection) -> Farm:
    raw = StateRepository.get(conn, KEY)
    if not raw:
        return Farm()
    d = json.loads(raw)
    return Farm(tuple(d.get("addresses") or ()), d.get("capacity_hps"), int(d.get("window_s") or DEFAULT_WINDOW))


def save(conn: Connection, farm: Farm) -> Farm:
    if not farm.addresses:
        raise ContractError("the farm needs at least one operator payout address")
    if len(set(farm.addresses)) != len(farm.addresses):
        raise ContractError("the farm's addresses repeat")
    if farm.capacity_hps is not None and farm.capacity_hps <= 0:
        raise ContractError("the asserted capacity must be a positive hash rate (H/s)")
    if not 600 <= farm.window_s <= 30 * 86400:
        raise ContractError("the measuring window must be 600 s .. 30 days")
    StateRepository.set(conn, KEY, json.dumps(farm.to_json()))
    return farm


def difficulty(conn: Connection, addresses: tuple[str, ...], after: float, up_to: float) -> float:
    """Share difficulty the farm's addresses sent in (after, up_to]."""
    if not addresses:
        return 0.0
    q = select(func.coalesce(func.sum(shares.c.difficulty), 0.0)).where(
        shares.c.address.in_(addresses), shares.c.ts > after, shares.c.ts <= up_to)
    return float(conn.execute(q).scalar() or 0.0)


def first_share_time(conn: Connection, addresses: tuple[str, ...]) -> float | None:
    if not addresses:
        return None
    v = conn.execute(select(func.min(shares.c.ts)).where(shares.c.address.in_(addresses))).scalar()
    return None if v is None else float(v)


def measured(conn: Connection, farm: Farm, scrypt: bool, now: float | None = None) -> float:
    now = time.time() if now is None else now
    return hashrate(difficulty(conn, farm.addresses, now - farm.window_s, now), farm.window_s, scrypt)


def sellable(measured_hps: float, farm: Farm) -> float:
    return measured_hps if farm.capacity_hps is None else min(measured_hps, float(farm.capacity_hps))
