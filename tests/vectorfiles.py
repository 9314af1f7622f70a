"""Where the public test vectors live (tests/data, carried in the repository), and readers for them."""

from __future__ import annotations

import bz2
import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
# Public data (Bitcoin Core, BIP, btcd ... vectors and real mainnet blocks); tests/data/README.md
# names the upstream repository, path, commit and licence of each file.
VECTORS = Path(__file__).resolve().parent / "data"


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

