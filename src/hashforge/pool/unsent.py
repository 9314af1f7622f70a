"""Found blocks the node has not answered yet, kept on disk until it does.

A block candidate is written here (fsync, then an atomic rename) before it is submitted and removed
once its `BlockFound` is recorded. A pool that stops, or is killed, while the node is away leaves
the files behind; the next start submits them again (`submitblock` is idempotent: a block the node
already has answers "duplicate") and records them, so a found block is never lost to a restart.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from hashforge.pool.records import BlockFound
from hashforge.pool.shares import sha256d

log = logging.getLogger(__name__)

MAX_UNSENT_FILE = 8 * 1024 * 1024  # hex of a 4 MB block, with room


@dataclass(frozen=True, slots=True)
class UnsentBlock:
    block_hex: str
    found: BlockFound  # submit_result not known yet (None here)


class UnsentBlocks:
    """One JSON file per block, named by the block hash (display order)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, block_hash: bytes) -> Path:
        return self.folder / f"{block_hash[::-1].hex()}.json"

    def save(self, block_hex: str, found: BlockFound) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(found.hash)
        body = json.dumps({
            "block_hex": block_hex, "ts": found.ts, "instance": found.instance, "height": found.height,
            "address": found.address, "worker": found.worker, "reward": found.reward,
            "network_difficulty": found.network_difficulty,
            "pow_hash": found.pow_hash.hex() if found.pow_hash is not None else None,
        }).encode()
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        dir_fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def remove(self, block_hash: bytes) -> None:
        self._path(block_hash).unlink(missing_ok=True)

    def load(self) -> list[UnsentBlock]:
        """Every readable block left behind, oldest first; unreadable files are logged and kept."""
        if not self.folder.is_dir():
            return []
        out = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                if path.stat().st_size > MAX_UNSENT_FILE:
                    raise ValueError("file too large")
                d = json.loads(path.read_bytes())
                block_hex = d["block_hex"]
                header = bytes.fromhex(block_hex[:160])
                found = BlockFound(float(d["ts"]), int(d["instance"]), int(d["height"]),
                                   bytes.fromhex(path.stem)[::-1], str(d["address"]), str(d["worker"]),
                                   int(d["reward"]), float(d["network_difficulty"]), None,
                                   pow_hash=bytes.fromhex(d["pow_hash"]) if d.get("pow_hash") else None)
                if len(header) != 80 or sha256d(header) != found.hash:
                    raise ValueError("the block does not hash to its file name")
            except (OSError, ValueError, KeyError, TypeError) as e:
                log.error("unsent block file %s unreadable (%s); left in place", path, e)
                continue
            out.append(UnsentBlock(block_hex, found))
        out.sort(key=lambda u: u.found.ts)
        return out
