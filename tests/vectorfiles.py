"""Where the public test vectors live (../shared/vectors beside the checkout), and readers for them."""

from __future__ import annotations

import bz2
import json
import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def _find_vectors() -> Path:
    env = os.environ.get("HASHFORGE_VECTORS")
    candidates = [Path(env)] if env else []
    candidates += [REPO_ROOT.parent / "shared" / "vectors", REPO_ROOT / "shared" / "vectors"]
    for c in candidates:
        if (c / "README.md").exists():
            return c
    raise RuntimeError(
        "test vectors not found: expected ../shared/vectors beside the checkout "
        "(or set HASHFORGE_VECTORS)"
    )


VECTORS = _find_vectors()


def load_json(rel: str) -> Any:
    return json.loads((VECTORS / rel).read_text())


def read_framed_blocks(rel: str) -> list[bytes]:
    """Blocks from a blk*.dat-style file (magic | u32 length | block), bz2 if the name says so."""
    raw = (VECTORS / rel).read_bytes()
    if rel.endswith(".bz2"):
        raw = bz2.decompress(raw)
    blocks, pos = [], 0
    while pos < len(raw):
        length = int.from_bytes(raw[pos + 4 : pos + 8], "little")
        blocks.append(raw[pos + 8 : pos + 8 + length])
        pos += 8 + length
    return blocks

