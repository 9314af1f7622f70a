"""Raw blocks in append-only files (blk00000.dat, ...), framed like Bitcoin Core's: magic | length | block."""

from __future__ import annotations

import fcntl
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


class DatadirInUseError(BlockStoreError):
    pass


class DatadirLock:
    """An exclusive flock on DATADIR/.lock (as Core's .lock): a second node on the same datadir is
    refused instead of interleaving writes with the first. The kernel drops the lock when the
    process dies, so a SIGKILLed node never leaves a stale one."""

    def __init__(self, datadir: Path) -> None:
        self.path = datadir / ".lock"
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise DatadirInUseError(f"datadir {datadir} is in use by another hashforge node") from None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


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
