"""ruff and mypy on the wallet package and its tests (fast; the repo-wide check lives in
tests/test_static_checks.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.vectorfiles import REPO_ROOT


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(REPO_ROOT / ".venv" / "bin")) or shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def test_ruff_wallet() -> None:
    p = subprocess.run([_tool("ruff"), "check", "src/hashforge/wallet", "tests/wallet"], cwd=REPO_ROOT,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-4000:]


def test_mypy_wallet() -> None:
    p = subprocess.run([sys.executable, "-m", "mypy", "-p", "hashforge.wallet"], cwd=REPO_ROOT,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-4000:]
