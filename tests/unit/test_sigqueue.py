"""The native signature queue (consensus/sigqueue.py, native/sigqueue.c): results, bounds, shutdown."""

from __future__ import annotations

import hashlib
import threading

import pytest
from coincurve import PrivateKey

from hashforge.consensus.ecc import ecdsa_compact, verify_compact
from hashforge.consensus.sigqueue import SigQueue, default_threads, native_available, open_sig_queue

pytestmark = pytest.mark.skipif(not native_available(), reason="signature queue not built (HASHFORGE_NO_EXT=1)")

Job = tuple[bytes, bytes, bytes]


def make_jobs(n: int) -> list[Job]:
    jobs = []
    for i in range(n):
        key = PrivateKey(hashlib.sha256(b"key %d" % i).digest())
        msg = hashlib.sha256(b"msg %d" % i).digest()
        pubkey = key.public_key.format(compressed=i % 3 != 0)
        sig64 = ecdsa_compact(pubkey, bytes(key.sign(msg, hasher=None)))
        assert sig64 is not None
        jobs.append((pubkey, sig64, msg))
    return jobs


JOBS = make_jobs(300)
BAD = {3, 4, 77, 150, 299}


def spoiled(i: int, job: Job) -> Job:
    """Job i, made to fail in one of several ways when i is in BAD."""
    pubkey, sig64, msg = job
    if i not in BAD:
        return job
    return [
        (pubkey, sig64, bytes(32)),  # wrong message
        (pubkey, bytes(64), msg),  # r = s = 0: does not parse as a signature
        (b"\x02" + b"\xff" * 32, sig64, msg),  # not a point
        (JOBS[0][0], sig64, msg),  # another key
        (pubkey, b"\xff" * 64, msg),  # r, s over the order
    ][sorted(BAD).index(i)]


def run(queue: SigQueue, tag_base: int = 0) -> list[int]:
    for i, job in enumerate(JOBS):
        queue.submit(*spoiled(i, job), tag_base + i)
    return queue.collect()


@pytest.mark.parametrize(("threads", "capacity"), [(0, 4096), (1, 4096), (1, 1), (2, 7), (3, 64)])
def test_the_failed_tags_and_only_those(threads: int, capacity: int) -> None:
    queue = open_sig_queue(threads, capacity)
    assert queue is not None and queue.threads == threads
    try:
        assert run(queue) == sorted(BAD)
        assert run(queue, 1 << 40) == [(1 << 40) + i for i in sorted(BAD)]  # batches are separate
        assert queue.collect() == []
    finally:
        queue.close()
    # The same verdicts as inline verification.
    assert [i for i, job in enumerate(JOBS) if not verify_compact(*spoiled(i, job))] == sorted(BAD)


def test_close_keeps_queued_jobs_for_collect() -> None:
    queue = open_sig_queue(1)
    assert queue is not None
    for i, job in enumerate(JOBS):
        queue.submit(*spoiled(i, job), i)
    queue.close()  # mid-batch, as at shutdown: nothing queued may pass unverified
    assert queue.closed and queue.threads == 0
    assert queue.collect() == sorted(BAD)
    with pytest.raises(RuntimeError, match="closed"):
        queue.submit(*JOBS[0], 0)
    queue.close()  # idempotent


def test_cancel_drops_an_abandoned_batch() -> None:
    queue = open_sig_queue(1)
    assert queue is not None
    try:
        for i, job in enumerate(JOBS):
            queue.submit(job[0], bytes(64), job[2], i)  # every one fails
        queue.cancel()
        assert queue.collect() == []
        assert run(queue) == sorted(BAD)
    finally:
        queue.close()


def test_a_queue_dropped_mid_batch_joins_its_workers() -> None:
    before = threading.active_count()
    for _ in range(20):
        queue = open_sig_queue(2)
        assert queue is not None
        for i, job in enumerate(JOBS[:50]):
            queue.submit(*job, i)
        del queue  # deallocation stops and joins the workers; queued jobs are dropped
    assert threading.active_count() == before  # native threads are not Python threads anyway


@pytest.mark.parametrize(
    "args",
    [
        (b"", JOBS[0][1], JOBS[0][2], 0),
        (b"\x02" * 66, JOBS[0][1], JOBS[0][2], 0),
        (JOBS[0][0], JOBS[0][1][:63], JOBS[0][2], 0),
        (JOBS[0][0], JOBS[0][1], JOBS[0][2] + b"\x00", 0),
    ],
)
def test_malformed_submissions_are_refused(args: tuple[bytes, bytes, bytes, int]) -> None:
    queue = open_sig_queue(1)
    assert queue is not None
    try:
        with pytest.raises(ValueError):
            queue.submit(*args)
        with pytest.raises(TypeError):
            queue.submit(bytearray(JOBS[0][0]), JOBS[0][1], JOBS[0][2], 0)  # type: ignore[arg-type]
        assert queue.collect() == []
    finally:
        queue.close()


def test_default_threads_leave_a_core_to_the_caller() -> None:
    assert default_threads() >= 1
