"""The tax ledger as `/v1/ops/tax` and the dashboard's /tax page use it: one `Ledger` per ops directory."""

from __future__ import annotations

from hashforge.ops.gateway import OpsGateway
from hashforge.ops.ledger import Ledger


def ledger_of(ops: OpsGateway) -> Ledger:
    return ops.service("ledger", lambda g: Ledger(g.dir))
