"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.browser import browser  # noqa: F401  (the shared chromium fixture)
from tests.vectorfiles import VECTORS


@pytest.fixture(scope="session")
def vectors() -> Path:
    return VECTORS
