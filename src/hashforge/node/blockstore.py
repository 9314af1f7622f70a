"""Raw blocks in append-only files (blk00000.dat, ...), framed like Bitcoin Core's: magic | length | block."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

T = TypeVar("T")

MAX_FILE_SIZE = 128 * 1024 * 1024


@dataclass(frozen=True, slots=True)
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
    """Appends blocks and reads them back by position. A write is fsynced only when asked (a block
    `submitblock` acknowledges); `sync` fsyncs everything written since, before the chainstate
    records how far the files go. Bytes after that mark are scanned again at startup (`scan`)."""

    def __init__(self, directory: Path, magic: bytes, max_file_size: int = MAX_FILE_SIZE) -> None:
        self.dir = directory
        self.magic = magic
        self.max_file_size = max_file_size
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        existing = sorted(self.dir.glob("blk*.dat"))
        self._file_no = int(existing[-1].name[3:8]) if existing else 0
        self._file: BinaryIO | None = None  # the newest file, open for appending (unbuffered)
        self._size = 0
        self._unsynced: set[int] = set()
        self._new_file = False  # the directory gained a file since the last sync

    def _path(self, file_no: int) -> Path:
        return self.dir / f"blk{file_no:05d}.dat"

    def _open(self) -> BinaryIO:
        if self._file is None:
            path = self._path(self._file_no)
            self._new_file = self._new_file or not path.exists()
            self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - kept open across writes
            self._size = self._file.seek(0, os.SEEK_END)
        return self._file

    def write(self, raw_block: bytes, sync: bool = True) -> BlockPos:
        with self._lock:
            f = self._open()
            if self._size and self._size + len(raw_block) + 8 > self.max_file_size:
                self._fsync_current()
                f.close()
                self._file = None
                self._file_no += 1
                f = self._open()
            offset = self._size + 8
            f.write(self.magic + len(raw_block).to_bytes(4, "little") + raw_block)
            self._size += len(raw_block) + 8
            self._unsynced.add(self._file_no)
            if sync:
                self._sync_locked()
            return BlockPos(self._file_no, offset, len(raw_block))

    def _fsync_current(self) -> None:
        if self._file is not None and self._file_no in self._unsynced:
            os.fsync(self._file.fileno())
            self._unsynced.discard(self._file_no)

    def _sync_locked(self) -> None:
        self._fsync_current()
        for file_no in sorted(self._unsynced):
            with open(self._path(file_no), "rb") as f:
                os.fsync(f.fileno())
        self._unsynced.clear()
        if self._new_file:
            fd = os.open(self.dir, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._new_file = False

    def sync(self) -> None:
        """Makes every block written so far durable."""
        with self._lock:
            self._sync_locked()

    def end(self) -> BlockPos:
        """Where the next block will go (file, offset of its frame), as a mark for `scan`."""
        with self._lock:
            self._open()
            return BlockPos(self._file_no, self._size, 0)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def scan(self, start: BlockPos, parse: Callable[[bytes], T | None]) -> Iterator[tuple[BlockPos, T]]:
        """Every complete record from `start` (an `end()` mark) to the end of the files that
        `parse` takes (not None), as (position, parsed). Garbage in between is skipped; a torn
        record at the end of the newest file is cut off, so the next block follows the last good one."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            newest = self._file_no
        file_no, offset = start.file_no, start.offset
        while file_no <= newest:
            path = self._path(file_no)
            if path.exists():
                data = path.read_bytes()
                good_end = offset
                pos = offset
                while pos + 8 <= len(data):
                    if data[pos : pos + 4] != self.magic:
                        nxt = data.find(self.magic, pos + 1)
                        if nxt < 0:
                            break
                        pos = nxt
                        continue
                    length = int.from_bytes(data[pos + 4 : pos + 8], "little")
                    if pos + 8 + length > len(data) or length < 80:
                        pos += 1
                        continue
                    parsed = parse(data[pos + 8 : pos + 8 + length])
                    if parsed is None:
                        pos += 1
                        continue
                    yield BlockPos(file_no, pos + 8, length), parsed
                    pos += 8 + length
                    good_end = pos
                if file_no == newest and good_end < len(data):
                    with open(path, "r+b") as f:
                        f.truncate(good_end)
                        os.fsync(f.fileno())
            file_no += 1
            offset = 0

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
