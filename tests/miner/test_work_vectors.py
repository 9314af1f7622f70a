"""The miner's side of the real Stratum captures, and the scheduler's no-repeat rule."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import itertools
from typing import Any

import pytest

from hashforge.kernels import get_backend
from hashforge.miner import Scheduler, StratumSource
from hashforge.miner.work import Share, Work, WorkUnit
from hashforge.stratum import Job, difficulty_to_target, reply, submit_params
from tests.vectorfiles import load_json

SHARES = load_json("stratum_shares.json")


def _hash256(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def _feed(src: StratumSource, msgs: list[dict[str, Any]]) -> None:
    async def go() -> None:
        for m in msgs:
            await src._dispatch(m)

    asyncio.run(go())


def test_capture_miner_builds_the_recorded_header_with_version_rolling() -> None:
    v = SHARES["v1_public_pool_testnet_share"]
    src = StratumSource(0, "stratum+tcp://127.0.0.1:1", "w")
    # the session as the miner saw it: configure's mask, subscribe's extranonce1, then the job
    src.extranonce1 = bytes.fromhex(v["subscribe_result_extranonce1"])
    src.extranonce2_size = v["extranonce2_size"]
    src._mask = int(v["configure_response"]["result"]["version-rolling.mask"], 16)
    src.connected = True
    _feed(src, [
        {"id": None, "method": "mining.set_difficulty", "params": [v["suggest_difficulty"]]},
        {"id": None, "method": "mining.notify", "params": v["notify_params"]},
    ])
    work = src.current
    assert work is not None and work.version_mask == 0x1FFFE000 and work.extranonce2_size == 4
    assert work.target == difficulty_to_target(v["suggest_difficulty"])
    worker, _job_id, en2_hex, ntime_hex, nonce_hex, version_hex = v["submit_params"]
    expected = v["computed_by_anchor_script"]
    version = (work.job.version & ~work.version_mask) | int(version_hex, 16)
    share = Share(work, bytes.fromhex(en2_hex), int(ntime_hex, 16), int(nonce_hex, 16), version, b"", "CPU0")
    assert share.header.hex() == expected["header_hex"]
    assert _hash256(share.header)[::-1].hex() == expected["hash"]
    # what the miner would submit is exactly what the Bitaxe submitted
    assert submit_params(worker, work.job_id, share.extranonce2, share.ntime, share.nonce, version,
                         work.version_mask) == v["submit_params"]
    # and the unit the scheduler cuts, scanned by the kernel, finds that very nonce and version
    en2 = bytes.fromhex(en2_hex)
    header = work.job.header(work.extranonce1, en2, int(ntime_hex, 16), 0)
    nonce = int(nonce_hex, 16)
    unit = WorkUnit(work, en2, int(ntime_hex, 16), header, (version,), nonce - 1000, nonce + 1000, 0)
    assert unit.header_for(version, nonce).hex() == expected["header_hex"]
    found = get_backend("sha256d").scan_versions(unit.header, unit.versions, work.target, unit.nonce_start,
                                                 unit.nonce_end).found
    assert (version, nonce) in [(f.version, f.nonce) for f in found]


def test_capture_block_413567_from_the_miners_work() -> None:
    v = SHARES["v3_block413567_derived"]
    job = Job.from_notify(v["notify_params"])
    work = Work(0, job, bytes.fromhex(v["extranonce1"]), 4, 1.0, difficulty_to_target(1), 0)
    share = Share(work, bytes.fromhex(v["extranonce2"]), int(v["submit_ntime"], 16), int(v["submit_nonce"], 16),
                  job.version, b"", "CPU0")
    assert _hash256(share.header)[::-1].hex() == v["expected_block_hash"]


def _work(en2_size: int = 4, mask: int = 0x1FFFE000, source: int = 0, diff: float = 1.0) -> Work:
    job = Job("1", bytes(32), b"\x01" * 40, b"\x02" * 40, (bytes(32),), 0x20000000, 0x1D00FFFF, 1_700_000_000, True)
    return Work(source, job, b"\xaa\xbb\xcc\xdd", en2_size, diff, difficulty_to_target(diff), 0, version_mask=mask)


@pytest.mark.parametrize("en2_size", [4, 0])
def test_scheduler_never_repeats_work_across_devices_and_threads(en2_size: int) -> None:
    sched = Scheduler(slots=3)
    sched.set_work({0: _work(en2_size)})
    cover: list[tuple[bytes, int, int, int, int]] = []
    for i in range(300):
        slot = i % 3
        u = sched.next_unit(slot, nonces=1 << (20 + i % 5), versions=16, timeout=0)
        assert u is not None
        for v in u.versions:
            cover.append((u.extranonce2, v, u.nonce_start, u.nonce_end, slot))
    # exact interval check: no two units overlap on the same (extranonce2, version)
    by_key: dict[tuple[bytes, int], list[tuple[int, int]]] = {}
    for en2, v, a, b, _slot in cover:
        by_key.setdefault((en2, v), []).append((a, b))
    for ranges in by_key.values():
        ranges.sort()
        assert all(r1[1] <= r2[0] for r1, r2 in itertools.pairwise(ranges))
    if en2_size:
        slots_of_en2 = {en2: s for en2, _v, _a, _b, s in cover}
        assert all(int.from_bytes(en2, "big") % 3 == s for en2, s in slots_of_en2.items())


def test_scheduler_keeps_its_place_when_the_same_job_comes_again() -> None:
    sched = Scheduler(slots=1)
    w = _work()
    sched.set_work({0: w})
    a = sched.next_unit(0, 1000, 4, timeout=0)
    sched.set_work({0: Work(**{**{f: getattr(w, f) for f in w.__dataclass_fields__}, "difficulty": 2.0})})
    b = sched.next_unit(0, 1000, 4, timeout=0)
    assert a is not None and b is not None
    assert (a.extranonce2, a.versions) == (b.extranonce2, b.versions) and b.nonce_start == a.nonce_end


def test_scheduler_continues_across_an_unchanged_job_reissued_under_a_new_id() -> None:
    sched = Scheduler(slots=1)
    w = _work()
    sched.set_work({0: w})
    a = sched.next_unit(0, 1000, 4, timeout=0)
    again = dataclasses.replace(w, job=dataclasses.replace(w.job, job_id="2", time=w.job.time + 30, clean_jobs=False))
    sched.set_work({0: again})
    b = sched.next_unit(0, 1000, 4, timeout=0)
    assert a is not None and b is not None and b.work is again
    assert (a.extranonce2, a.versions) == (b.extranonce2, b.versions) and b.nonce_start == a.nonce_end
    # a job whose coinbase differs is new work: its cursor starts from the beginning
    other = dataclasses.replace(w, job=dataclasses.replace(w.job, job_id="3", coinb1=b"\x03" * 40))
    sched.set_work({0: other})
    c = sched.next_unit(0, 1000, 4, timeout=0)
    assert c is not None and c.nonce_start == 0 and c.extranonce2 == bytes(4)


def test_scheduler_caps_units_for_easy_targets_and_balances_sources() -> None:
    sched = Scheduler(slots=1)
    easy = _work(diff=1e-9)
    sched.set_work({0: easy, 1: _work(source=1)}, {0: 1, 1: 3})
    units = [sched.next_unit(0, 1 << 30, 64, timeout=0) for _ in range(40)]
    picks = [u.work.source for u in units if u is not None]
    assert picks.count(1) == 30 and picks.count(0) == 10
    for u in units:
        assert u is not None
        if u.work is easy:
            assert u.hashes * u.work.target >> 256 <= 64


def test_scheduler_waits_for_work_and_stops() -> None:
    sched = Scheduler(slots=1)
    assert sched.next_unit(0, 10, timeout=0.01) is None
    sched.stop()
    assert sched.next_unit(0, 10, timeout=5) is None


def test_stratum_reply_helpers_round_trip() -> None:
    assert reply(1, True).endswith(b"\n")
