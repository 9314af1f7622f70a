"""SQLite store files for the schema-version tests: read a file's `user_version`, turn a file into
one written by a newer hashforge, and fingerprint it to prove a refused file was left unchanged."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_newer(path: Path, version: int) -> str:
    """Stamps `path` with schema `version` (one this hashforge does not know); returns its digest."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"PRAGMA user_version = {version}")
    finally:
        conn.close()
    return digest(path)
