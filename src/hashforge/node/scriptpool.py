"""Executors for signature checks: ChainManager takes any `map`-like callable as `script_map`.

Script checks are mostly Python (sighash, interpreter) around libsecp256k1 calls, so threads share
one GIL: blocks connect on the chain thread, off the event loop already, and a thread pool there only
adds hand-offs and GIL contention (a 2,000-check block: 0.77x the speed of checking inline,
bench/node_connect.py), so the default checks inline, where the chain manager hands each P2WPKH
signature's libsecp256k1 verification to native threads that need no GIL (consensus/sigqueue.py)
and collects the verdicts at the end of the block. A process pool runs them in parallel, at the
price of pickling each transaction and its spent outputs to a worker and of the workers' memory;
`process_pool_map` sends them in chunks so that price stays small next to the checks.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Literal

ScriptMap = Callable[..., Iterator[Any]]
WorkerKind = Literal["inline", "thread", "process"]

# Below this many checks a block is verified inline: starting a round trip to worker processes
# costs more than a handful of checks.
MIN_PARALLEL_CHECKS = 16


def process_pool_map(executor: ProcessPoolExecutor, workers: int | None = None) -> ScriptMap:
    """A `map` over `executor` that sends work in a few chunks per worker (small batches inline)."""
    n_workers: int = workers or getattr(executor, "_max_workers", None) or 1

    def mapper(fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        batch = list(items)
        if len(batch) < MIN_PARALLEL_CHECKS:
            return map(fn, batch)
        chunksize = max(1, math.ceil(len(batch) / (4 * n_workers)))
        return executor.map(fn, batch, chunksize=chunksize)

    return mapper


def make_script_executor(kind: WorkerKind | str, workers: int) -> tuple[Executor | None, ScriptMap]:
    """The executor the node verifies signatures on (None: inline, on the chain thread), and the
    `script_map` to hand the chain manager."""
    workers = max(1, workers)
    if kind == "inline":
        return None, map
    if kind == "process":
        # spawn, not fork: the node has threads (event loop, executors) that a fork would copy mid-step
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        return pool, process_pool_map(pool, workers)
    if kind == "thread":
        threads = ThreadPoolExecutor(workers, thread_name_prefix="script")
        return threads, threads.map
    raise ValueError(f"script workers must be 'inline', 'thread' or 'process', not {kind!r}")
