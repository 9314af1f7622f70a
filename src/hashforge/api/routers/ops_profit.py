"""/v1/ops/profit: see hashforge.ops."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
