"""/v1/ops/alerts: see hashforge.ops."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
