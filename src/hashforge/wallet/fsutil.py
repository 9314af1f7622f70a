"""Private files written atomically: temp file (0600) + fsync + rename + directory fsync."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def ensure_private_dir(path: Path) -> None:
    """Creates `path` (and parents) with mode 0700 for the last component if it is new."""
    if not path.exists():
        path.mkdir(parents=True, mode=PRIVATE_DIR_MODE)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, overwrite: bool = True) -> None:
    """Writes `data` to `path` so a reader sees the old file or the whole new one, never a part.

    The temporary file is created next to `path` with O_EXCL and mode 0600, synced, then renamed
    over `path`; the directory is synced so the rename survives a crash. With overwrite=False an
    existing `path` is an error (FileExistsError), checked with a hard link so two writers
    cannot both win.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, PRIVATE_FILE_MODE)  # in case the umask or filesystem changed it
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails with FileExistsError instead of clobbering
            tmp.unlink()
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
