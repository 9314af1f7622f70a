"""Every component's CLI module imports on its own (a fresh interpreter each): `hashforge.cli`'s
initializer must not import the components (tests/test_architecture.py keeps them from importing it)."""

from __future__ import annotations

import subprocess
import sys

import pytest

MODULES = ["hashforge.pool.contracts.cli", "hashforge.ops.ledger.cli", "hashforge.ops.alerts.cli",
           "hashforge.ops.profit.cli", "hashforge.wallet.cli", "hashforge.api.cli", "hashforge.pool.cli",
           "hashforge.miner.cli"]


@pytest.mark.parametrize("module", MODULES)
def test_component_cli_imports_alone(module: str) -> None:
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.strip().splitlines()[-1:]


def test_entry_point_and_app() -> None:
    from hashforge.cli import app, main

    assert callable(main)
    assert {c.name for c in app.registered_groups} >= {"calc", "alerts", "tax", "contracts", "wallet"}
