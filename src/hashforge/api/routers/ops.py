"""/v1/ops: profitability, alerts and maintenance, tax records (one sub-router per area)."""

from __future__ import annotations

from fastapi import APIRouter

from . import ops_alerts, ops_profit, ops_tax

router = APIRouter()
router.include_router(ops_profit.router, prefix="/profit")
router.include_router(ops_alerts.router)  # /alerts..., /maintenance...
router.include_router(ops_tax.router, prefix="/tax")
