"""Pool throughput on loopback; prints one JSON object. A benchmark, never a test.

    .venv/bin/python bench/pool_shares.py [--miners 1000] [--seconds 10] [--window 8]
                                          [--max-conns 10000]

A pool process (stratifier + connector + durable SQLite recorder with group commit, no node:
shares never meet the network target) serves simulated miners from a second process over
TCP. Every miner subscribes, authorizes and then pipelines mining.submit (at most `window`
unanswered each); the share difficulty is set so low that every header qualifies, so the
client spends nothing on hashing while the pool still does the full validation (coinbase,
merkle root, header, SHA-256d, target, duplicate check, durable write before the reply).

Figures: accepted shares/s (replies `true` counted by the client over `seconds`), pool process
CPU seconds per share (so shares/s per core = 1 / that), and the most concurrent connections
one pool process held (each subscribed and authorized), with the pool's RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from hashforge.consensus.address import address_to_script, script_to_address
from hashforge.consensus.params import REGTEST
from hashforge.pool.config import (
    AccountingConfig,
    ConnectorConfig,
    PoolConfig,
    RecorderConfig,
    Scheme,
    VardiffConfig,
)
from hashforge.pool.connector import Connector
from hashforge.pool.db import make_engine, migrate
from hashforge.pool.recorder import ShareRecorder
from hashforge.pool.records import BlockFound
from hashforge.pool.service import raise_fd_limit
from hashforge.pool.stratifier import Stratifier
from hashforge.pool.template import Template

EASY = 1e-12  # target above 2^256 - 1: every header is a share
MINER = script_to_address(bytes([0, 20]) + bytes(range(20)), REGTEST) or ""


class NoNode:
    async def submit_block(self, block_hex: str) -> Any:
        return "not a block"


async def _validate(address: str) -> bytes | None:
    try:
        return address_to_script(address, REGTEST)
    except ValueError:
        return None


async def _on_block(_: BlockFound) -> None:
    return None


async def serve(datadir: Path, db: str = "sqlite") -> None:
    raise_fd_limit()
    url = db if db != "sqlite" else f"sqlite:///{datadir / 'pool.sqlite3'}"
    cfg = PoolConfig(
        network="regtest", datadir=datadir,
        connector=ConnectorConfig(port=0, max_connections_per_ip=1_000_000, max_connections=1_000_000,
                                  submit_rate=1e9, submit_burst=1e9),
        vardiff=VardiffConfig(start_difficulty=EASY, min_difficulty=EASY, retarget_shares=1 << 60,
                              retarget_window=1e9, idle_decay_after=1e9),
        accounting=AccountingConfig(scheme=Scheme.PPLNS, pool_address=MINER),
        recorder=RecorderConfig(database_url=url),
    )
    engine = make_engine(url)
    migrate(engine)
    recorder = ShareRecorder(engine, cfg.recorder, datadir / "spill.jsonl")
    await recorder.start()
    strat = Stratifier(cfg, recorder, NoNode(), _validate, _on_block, pool_script=address_to_script(MINER, REGTEST))
    now = int(time.time())
    strat.set_template(Template(300, 0x20000000, b"\x11" * 32, 0x1D00FFFF, now, now, 50_0000_0000,
                                (), (), (), True, b"", None))
    conn = Connector(cfg.connector, strat)
    await conn.start()
    print(conn.ports[0], flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        if line.strip() == "stats":
            ru = resource.getrusage(resource.RUSAGE_SELF)
            print(json.dumps({"cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024,
                              "connections": len(conn.protocols), "committed": recorder.committed}), flush=True)


class Miner(asyncio.Protocol):
    def __init__(self, bench: Bench, n: int, submit: bool) -> None:
        self.bench, self.n, self.submit = bench, n, submit
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.job = ""
        self.ntime = ""
        self.en2 = 0
        self.outstanding = 0
        self.ready = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)
        transport.write(b'{"id":1,"method":"mining.subscribe","params":["bench"]}\n'
                        b'{"id":2,"method":"mining.authorize","params":["' + f"{MINER}.m{self.n}".encode() + b'","x"]}\n')

    def data_received(self, data: bytes) -> None:
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        for line in lines:
            if line.startswith(b'{"id":3,"result":true'):
                self.outstanding -= 1
                self.bench.accepted += 1
            elif b'"method":"mining.notify"' in line:
                params = json.loads(line)["params"]
                self.job, self.ntime = params[0], params[7]
                if not self.ready.done():
                    self.ready.set_result(None)
            elif line.startswith(b'{"id":3'):
                self.outstanding -= 1
                self.bench.rejected += 1
        self.pump()

    def pump(self) -> None:
        if not self.submit or not self.job or self.transport is None:
            return
        out = []
        while self.outstanding < self.bench.window:
            self.en2 += 1
            out.append(f'{{"id":3,"method":"mining.submit","params":["{MINER}.m{self.n}","{self.job}",'
                       f'"{self.n:08x}{self.en2:08x}","{self.ntime}","00000000"]}}\n')
            self.outstanding += 1
        if out:
            self.transport.write("".join(out).encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self.bench.lost += 1


class Bench:
    def __init__(self, window: int) -> None:
        self.window = window
        self.accepted = self.rejected = self.lost = 0


def pool_stats(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("stats\n")
    proc.stdin.flush()
    return dict(json.loads(proc.stdout.readline()))


async def throughput(proc: subprocess.Popen[str], port: int, miners: int, seconds: float, window: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    bench = Bench(window)
    protos: list[Miner] = []
    for i in range(miners):
        _, p = await loop.create_connection(lambda i=i: Miner(bench, i, submit=False), "127.0.0.1", port)  # type: ignore[misc]
        protos.append(p)
    await asyncio.gather(*(p.ready for p in protos))
    for p in protos:
        p.submit = True
        p.pump()
    await asyncio.sleep(2.0)  # warm-up
    a0, s0, t0 = bench.accepted, pool_stats(proc), time.perf_counter()
    await asyncio.sleep(seconds)
    a1, s1, t1 = bench.accepted, pool_stats(proc), time.perf_counter()
    for p in protos:
        p.submit = False
        if p.transport:
            p.transport.close()
    n = a1 - a0
    cpu = s1["cpu"] - s0["cpu"]
    return {
        "miners": miners, "window_per_miner": window, "seconds": round(t1 - t0, 2),
        "accepted_shares": n, "rejected_shares": bench.rejected,
        "accepted_shares_per_s": round(n / (t1 - t0)),
        "pool_cpu_seconds": round(cpu, 2),
        "accepted_shares_per_pool_cpu_second": round(n / cpu) if cpu else None,
        "committed_to_db": s1["committed"],
    }


async def connections(proc: subprocess.Popen[str], port: int, target: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    bench = Bench(0)
    held: list[Miner] = []
    t0 = time.perf_counter()
    failed = 0
    for start in range(0, target, 500):
        batch = []
        for i in range(start, min(target, start + 500)):
            try:
                _, p = await loop.create_connection(lambda i=i: Miner(bench, i, submit=False), "127.0.0.1", port)  # type: ignore[misc]
                batch.append(p)
            except OSError:
                failed += 1
                break
        try:
            await asyncio.wait_for(asyncio.gather(*(p.ready for p in batch)), 30)
        except TimeoutError:
            break
        held.extend(batch)
        if failed:
            break
    await asyncio.sleep(1.0)
    stats = pool_stats(proc)
    for p in held:
        if p.transport:
            p.transport.close()
    return {"target": target, "held_authorized_connections": stats["connections"], "client_failures": failed,
            "seconds_to_open": round(time.perf_counter() - t0, 2), "pool_rss_mb": round(stats["rss_mb"], 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--miners", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--window", type=int, default=8)
    ap.add_argument("--max-conns", type=int, default=10000)
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    args = ap.parse_args()
    run: Any
    try:
        import uvloop

        run = uvloop.run
        loop_name = "uvloop"
    except ImportError:
        run, loop_name = asyncio.run, "asyncio"
    if args.serve:
        run(serve(Path(args.serve), "sqlite"))
        return
    raise_fd_limit()
    out: dict[str, Any] = {"benchmark": "pool_shares", "python": platform.python_version(), "loop": loop_name,
                           "cpus": os.cpu_count(), "db": "sqlite (WAL, synchronous=FULL)"}
    with tempfile.TemporaryDirectory() as tmp:
        for phase in ("throughput", "connections"):
            d = Path(tmp) / phase
            d.mkdir()
            proc = subprocess.Popen([sys.executable, __file__, "--serve", str(d)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            try:
                assert proc.stdout is not None
                port = int(proc.stdout.readline())
                if phase == "throughput":
                    out["throughput"] = run(throughput(proc, port, args.miners, args.seconds, args.window))
                else:
                    out["connections"] = run(connections(proc, port, args.max_conns))
            finally:
                assert proc.stdin is not None
                proc.stdin.close()
                proc.terminate()
                proc.wait(30)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
