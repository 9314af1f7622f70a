"""Deferred ECDSA checks for block connection: libsecp256k1 verifies on native threads, off the GIL.

The chain thread checks every rule of an input in Python and `submit`s only the final ECDSA
verification (key, low-S compact r||s, message, an int tag), then goes on while a worker thread
verifies; `collect()` at the end of the block verifies the rest on the caller too (GIL released)
and returns the tags that failed, ascending. A block needs only valid/invalid from them; the
mempool, which reports exact errors, verifies inline. See native/sigqueue.c for the threading
and shutdown rules (`close` keeps queued jobs for `collect`, so none is ever passed unverified).

Without the extension (built with HASHFORGE_NO_EXT=1, or a failed build) `open_sig_queue`
returns None, says why once in the log, and blocks verify inline as before.
"""

from __future__ import annotations

import logging
import os
from typing import Protocol

from .ecc import libsecp256k1_address, static_context_address

log = logging.getLogger(__name__)

# A full ring makes the submitter verify a job itself, so this bounds memory (~180 bytes a job),
# not throughput; 4,096 covers a typical block.
DEFAULT_CAPACITY = 4096

NATIVE_ERROR: str | None
try:
    import hashforge.consensus._sigqueue as _native

    NATIVE_ERROR = None
except ImportError as exc:  # built with HASHFORGE_NO_EXT=1, or no compiler
    _native = None  # type: ignore[assignment]
    NATIVE_ERROR = f"{type(exc).__name__}: {exc}"


class SigQueue(Protocol):
    """What hashforge.consensus._sigqueue.SigQueue offers (see its docstrings)."""

    @property
    def threads(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    def submit(self, pubkey: bytes, sig64: bytes, msg32: bytes, tag: int, /) -> None: ...
    def collect(self) -> list[int]: ...
    def cancel(self) -> None: ...
    def close(self) -> None: ...


def default_threads() -> int:
    """One worker per core the process may run on, less the one the chain thread uses (at least 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def native_available() -> bool:
    return _native is not None


_warned = False


def open_sig_queue(threads: int | None = None, capacity: int = DEFAULT_CAPACITY) -> SigQueue | None:
    """A queue with `threads` workers (default: `default_threads()`), or None without the extension."""
    global _warned
    if _native is None:
        if not _warned:
            _warned = True
            log.warning("signature queue unavailable (%s): block signatures are verified inline", NATIVE_ERROR)
        return None
    queue: SigQueue = _native.SigQueue(
        static_context_address(),
        libsecp256k1_address("secp256k1_ec_pubkey_parse"),
        libsecp256k1_address("secp256k1_ecdsa_signature_parse_compact"),
        libsecp256k1_address("secp256k1_ecdsa_verify"),
        default_threads() if threads is None else threads,
        capacity,
    )
    return queue
