"""The README's first command: `make up` on this checkout runs the main job and says what it did."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from hashforge.consensus.params import get_params
from tests.vectorfiles import REPO_ROOT


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_up_prints_devnet_genesis() -> None:
    proc = subprocess.run(
        ["make", "-s", "up"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    devnet = get_params("devnet")
    assert devnet.genesis.hash_hex in proc.stdout
    assert "node coming soon" in proc.stdout
    assert "Traceback" not in proc.stderr
