"""A plain clone tests itself: its test data is inside the repository, not in ../shared beside it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.vectorfiles import REPO_ROOT

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (REPO_ROOT / ".git").exists(),
    reason="needs git and a git checkout (this is an unpacked copy)",
)


def test_clone_of_head_loads_its_vectors_without_shared(tmp_path: Path) -> None:
    clone = tmp_path / "empty" / "hashforge"
    clone.parent.mkdir()
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO_ROOT), str(clone)],
                   check=True, timeout=120)
    assert not (clone.parent / "shared").exists()
    env = {k: v for k, v in os.environ.items() if k != "HASHFORGE_VECTORS"}
    # The clone's own tests package (its tests/data), with the installed hashforge.
    probe = (
        "from tests.vectorfiles import VECTORS, load_json, read_framed_blocks\n"
        "import pathlib, sys\n"
        f"assert VECTORS == pathlib.Path({str(clone)!r}) / 'tests' / 'data', VECTORS\n"
        "assert len(load_json('bitcoin-core/tx_valid.json')) > 100\n"
        "assert len(read_framed_blocks('mainnet/btcd/blocks1-256.bz2')) == 255\n"
        "print('vectors ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=clone, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "vectors ok" in out.stdout
    # And a fast subset of the suite, run inside the clone.
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
         "tests/vectors/test_genesis.py", "tests/vectors/test_mainnet_blocks.py",
         "tests/wallet/test_vectors.py"],
        cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert " passed" in run.stdout and " failed" not in run.stdout
