"""Raw blocks in append-only files (blk00000.dat, ...), framed like Bitcoin Core's: magic | length | block."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_SIZE = 128 * 1024 * 1024


@dataclass(frozen=True)
class BlockPos:
    file_no: int
    offset: int  # of the block bytes, after the 8-byte frame header
    length: int


class BlockStoreError(OSError):
    pass


class BlockStore:
    """Appends blocks and reads them back by position. Bytes written but never indexed are harmless:
    the index (in SQLite) only ever points at fully written, fsynced records."""

    def __init__(self, directory: Path, magic: bytes, max_file_size: int = MAX_FILE_SIZE) -> None:
        self.dir = directory
        self.magic = magic
        self.max_file_size = max_file_size
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        existing = sorted(self.dir.glob("blk*.dat"))
        self._file_no = int(existing[-1].name[3:8]) if existing else 0

    def _path(self, file_no: int) -> Path:
        return self.dir / f"blk{file_no:05d}.dat"

    def write(self, raw_block: bytes, sync: bool = True) -> BlockPos:
        with self._lock:
            path = self._path(self._file_no)
            size = path.stat().st_size if path.exists() else 0
            if size and size + len(raw_block) + 8 > self.max_file_size:
                self._file_no += 1
                path = self._path(self._file_no)
                size = 0
            with open(path, "ab") as f:
                f.write(self.magic + len(raw_block).to_bytes(4, "little") + raw_block)
                f.flush()
                if sync:
                    os.fsync(f.fileno())
            return BlockPos(self._file_no, size + 8, len(raw_block))

    def read(self, pos: BlockPos) -> bytes:
        try:
            with open(self._path(pos.file_no), "rb") as f:
                f.seek(pos.offset - 8)
                frame = f.read(8)
                data = f.read(pos.length)
        except OSError as e:
            raise BlockStoreError(f"cannot read block at {pos}: {e}") from e
        if frame[:4] != self.magic or int.from_bytes(frame[4:], "little") != pos.length or len(data) != pos.length:
            raise BlockStoreError(f"corrupt block record at {pos}")
        return data
