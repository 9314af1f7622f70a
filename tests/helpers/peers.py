"""Finds the real third-party programs the interop tests run against (Bitcoin Core, ckpool, minerd).

`../shared/bin` beside the checkout comes first (CI has it there; its README says how each binary
was built), then PATH. A test that needs a program it cannot find skips and says where it looked:
only a plain clone with neither skips, so CI always runs the interop tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_BIN = REPO_ROOT.parent / "shared" / "bin"


def find_peer(name: str, shared_bin: Path = SHARED_BIN) -> str | None:
    """The path of program `name` in ../shared/bin, else on PATH, else None."""
    candidate = shared_bin / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which(name)


def requires_peer(name: str, what: str) -> pytest.MarkDecorator:
    """A skip marker for when `name` is in neither ../shared/bin nor PATH; the reason says what it runs."""
    return pytest.mark.skipif(
        find_peer(name) is None,
        reason=f"{name} not found in ../shared/bin or on PATH: put a build of it there "
        f"(README.md, Interoperability) to run {what}",
    )
