"""The scheduler: cuts WorkUnits from the current Work for device threads so no two repeat work.

Splitting rule (what makes hybrid CPU+GPU mining safe):
- each device has a *slot*; device `s` of `n` takes extranonce2 values ``k*n + s`` (k = 0, 1, ...),
  so devices never share a coinbase. When extranonce2 is too small to split (a pool with
  extranonce2_size 0), slots split the nonce space instead.
- the threads of one device take consecutive nonce chunks of the device's current extranonce2
  (and BIP310 version block), from one cursor under the lock, so threads never overlap either.
- cursors are keyed by what the header is built from (source, prevhash, coinbase halves, merkle
  branch, version, nbits, extranonce1), not by job id or ntime: a Work replaced by one with the same
  content (a reconnect, or a pool re-issuing an unchanged job under a new id) continues where it
  was, so no header is hashed (and no share submitted) twice.

Threads: device threads call next_unit()/is_current(); the event loop calls set_work().
One lock guards all state (self._cond's); nothing outside is called while it is held.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from hashforge.kernels import rolled_versions

from .work import Work, WorkUnit

NONCE_SPACE = 1 << 32
MAX_EXPECTED_FINDS = 32  # per unit

_JobKey = tuple[int, bytes, bytes, bytes, tuple[bytes, ...], int, int, bytes, int]


@dataclass
class _Cursor:
    k: int  # extranonce2 counter
    version_block: int
    next_nonce: int
    nonce_lo: int
    nonce_hi: int
    n_versions: int  # versions per unit, fixed for the cursor so version blocks never overlap
    merkle_cache: tuple[bytes, bytes] | None = None  # (extranonce2, header76 prefix w/o ntime)


class Scheduler:
    def __init__(self, slots: int = 1) -> None:
        if slots < 1:
            raise ValueError("need at least one device slot")
        self.slots = slots
        self._cond = threading.Condition()
        self._works: dict[int, Work] = {}
        self._weights: dict[int, int] = {}
        self._current: dict[int, int] = {}  # smooth weighted round-robin state
        self._cursors: dict[tuple[_JobKey, int], _Cursor] = {}  # (job key, slot)
        self._generation = 0
        self._stopped = False

    # --- event-loop side --------------------------------------------------------------------

    def set_work(self, works: Mapping[int, Work], weights: Mapping[int, int] | None = None) -> None:
        """Replaces the work on offer: one Work per source, mined in proportion to `weights`."""
        with self._cond:
            self._works = dict(works)
            self._weights = {s: max(1, (weights or {}).get(s, 1)) for s in self._works}
            self._current = {s: self._current.get(s, 0) for s in self._works}
            live = {self._job_key(w) for w in self._works.values()}
            self._cursors = {k: c for k, c in self._cursors.items() if k[0] in live}
            self._generation += 1
            self._cond.notify_all()

    def clear(self) -> None:
        self.set_work({})

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    @property
    def generation(self) -> int:
        return self._generation

    def works(self) -> dict[int, Work]:
        with self._cond:
            return dict(self._works)

    # --- device-thread side -----------------------------------------------------------------

    def is_current(self, unit: WorkUnit) -> bool:
        with self._cond:
            return self._works.get(unit.work.source) is unit.work

    def next_unit(self, slot: int, nonces: int, versions: int = 1, timeout: float = 0.5) -> WorkUnit | None:
        """The next unit for device `slot`: `nonces` nonces x up to `versions` rolled versions.

        Waits up to `timeout` seconds for work; None if there is none (or the space is used up).
        """
        if not 0 <= slot < self.slots:
            raise ValueError(f"slot {slot} out of range")
        nonces = max(1, min(nonces, NONCE_SPACE))
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._works and not self._stopped:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            if self._stopped or not self._works:
                return None
            for _ in range(len(self._works)):
                work = self._works[self._pick_source()]
                unit = self._cut(work, slot, nonces, versions)
                if unit is not None:
                    return unit
            return None

    def wait_for_change(self, generation: int, timeout: float) -> None:
        with self._cond:
            if self._generation == generation and not self._stopped:
                self._cond.wait(timeout)

    # --- internals (caller holds the lock) ------------------------------------------------

    def _pick_source(self) -> int:
        total = sum(self._weights.values())
        for s, w in self._weights.items():
            self._current[s] += w
        best = max(self._current, key=lambda s: self._current[s])
        self._current[best] -= total
        return best

    @staticmethod
    def _job_key(work: Work) -> _JobKey:
        # job id, ntime and clean_jobs left out on purpose: a cursor never revisits an
        # (extranonce2, version, nonce) triple, whatever the ntime, so a re-issued job may keep it
        j = work.job
        return (work.source, j.prev_hash, j.coinb1, j.coinb2, j.merkle_branch, j.version, j.bits,
                work.extranonce1, work.extranonce2_size)

    def _cut(self, work: Work, slot: int, nonces: int, versions: int) -> WorkUnit | None:
        ckey = (self._job_key(work), slot)
        # an easy target (regtest, tiny share difficulty) would make one kernel call return a flood
        # of nonces: keep the expected finds per unit small
        cap = max(1, (MAX_EXPECTED_FINDS << 256) // (work.target + 1))
        en2_space = 1 << (8 * work.extranonce2_size)
        split_en2 = en2_space >= self.slots
        mask_bits = bin(work.version_mask).count("1")
        cur = self._cursors.get(ckey)
        if cur is None:
            if split_en2:
                lo, hi = 0, NONCE_SPACE
            else:
                per = NONCE_SPACE // self.slots
                lo, hi = slot * per, NONCE_SPACE if slot == self.slots - 1 else (slot + 1) * per
            n_versions = min(max(1, versions), 1 << mask_bits) if work.version_mask else 1
            if cap < 4 * n_versions:
                n_versions = 1
            cur = self._cursors[ckey] = _Cursor(0, 0, lo, lo, hi, n_versions)
        n_versions = cur.n_versions
        nonces = max(1, min(nonces, cap // n_versions))
        blocks = (1 << mask_bits) // n_versions if work.version_mask else 1
        if cur.next_nonce >= cur.nonce_hi:
            cur.next_nonce = cur.nonce_lo
            cur.version_block += 1
            if cur.version_block >= blocks:
                cur.version_block = 0
                cur.k += 1
                cur.merkle_cache = None
        en2_value = cur.k * self.slots + slot if split_en2 else cur.k
        if en2_value >= en2_space:
            return None  # this job's space is used up: wait for the next job
        start = cur.next_nonce
        end = min(start + nonces, cur.nonce_hi)
        cur.next_nonce = end
        en2 = en2_value.to_bytes(work.extranonce2_size, "big") if work.extranonce2_size else b""
        if cur.merkle_cache is None or cur.merkle_cache[0] != en2:
            cur.merkle_cache = (en2, work.job.merkle_root(work.extranonce1, en2))
        ntime = work.ntime_at(time.monotonic())
        job = work.job
        header = (
            job.version.to_bytes(4, "little")
            + job.prev_hash
            + cur.merkle_cache[1]
            + ntime.to_bytes(4, "little")
            + job.bits.to_bytes(4, "little")
            + b"\x00\x00\x00\x00"
        )
        if work.version_mask:
            vs = tuple(rolled_versions(job.version & 0xFFFFFFFF, work.version_mask, n_versions,
                                       cur.version_block * n_versions))
        else:
            vs = (job.version & 0xFFFFFFFF,)
        return WorkUnit(work, en2, ntime, header, vs, start, end, slot)
