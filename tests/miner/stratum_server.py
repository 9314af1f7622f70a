"""A small Stratum v1 pool for the miner's tests: asyncio on 127.0.0.1, a free port.

It validates every share the way a pool does (rebuilds the header from its own job, the
connection's extranonce1 and the submitted fields, hashes it, checks it against the difficulty
that was in force when the job was sent), and lets a test push notifications, raw bytes and
disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from hashforge.stratum import (
    Job,
    difficulty_to_target,
    notification,
    reply,
    rolled_version,
)


def _hash256(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def make_job(job_id: str, clean: bool = True, prev: bytes | None = None, ntime: int | None = None) -> Job:
    return Job(
        job_id,
        prev if prev is not None else os.urandom(32),
        bytes.fromhex("01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20")
        + os.urandom(4),
        os.urandom(8) + bytes.fromhex("ffffffff0100f2052a010000001976a914") + os.urandom(20) + bytes.fromhex("88ac00000000"),
        (os.urandom(32), os.urandom(32)),
        0x20000000,
        0x1D00FFFF,
        int(time.time()) if ntime is None else ntime,
        clean,
    )


@dataclass
class Submission:
    conn: int
    params: list[Any]
    ok: bool
    reason: str
    difficulty: float  # the difficulty the job was sent with
    share_difficulty: float


@dataclass
class Conn:
    cid: int
    writer: asyncio.StreamWriter
    extranonce1: bytes
    session_id: str
    difficulty: float
    mask: int = 0
    subscribed: bool = False
    authorized: bool = False
    job_diff: dict[str, float] = field(default_factory=dict)
    job_en1: dict[str, bytes] = field(default_factory=dict)
    seen: set[tuple[str, ...]] = field(default_factory=set)
    seen_hashes: set[bytes] = field(default_factory=set)  # what our pool checks: the same PoW hash
    methods: list[str] = field(default_factory=list)
    params: list[tuple[str, Any]] = field(default_factory=list)


class StratumTestServer:
    def __init__(self, difficulty: float = 1e-3, extranonce2_size: int = 4, mask: int | None = 0x1FFFE000,
                 reject_all: bool = False, auth_ok: bool = True, scrypt: bool = False,
                 prefix: str = "j") -> None:
        self.prefix = prefix
        self.difficulty = difficulty
        self.extranonce2_size = extranonce2_size
        self.mask = mask  # None: mining.configure is an unknown method
        self.reject_all = reject_all
        self.auth_ok = auth_ok
        self.scrypt = scrypt
        self.jobs: dict[str, Job] = {}
        self.current: Job | None = None
        self.conns: dict[int, Conn] = {}
        self.submissions: list[Submission] = []
        self.connections = 0
        self.sessions: dict[str, bytes] = {}
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self._next = 0
        self.on_authorized: asyncio.Event = asyncio.Event()
        self.send_job_on_authorize = True
        self.all_methods: list[str] = []
        self.subscribes: list[list[Any]] = []

    async def start(self) -> StratumTestServer:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        await self.drop_all()
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)
            self.server = None

    @property
    def url(self) -> str:
        return f"stratum+tcp://127.0.0.1:{self.port}"

    # --- what a test does -------------------------------------------------------------------

    def accepted(self) -> list[Submission]:
        return [s for s in self.submissions if s.ok]

    async def broadcast(self, data: bytes) -> None:
        for c in list(self.conns.values()):
            with contextlib.suppress(Exception):
                c.writer.write(data)
                await c.writer.drain()

    async def new_job(self, clean: bool = True, prev: bytes | None = None) -> Job:
        self._next += 1
        job = make_job(f"{self.prefix}{self._next}", clean, prev if prev is not None else (None if clean else
                                                                                 (self.current.prev_hash if self.current else None)))
        self.jobs[job.job_id] = job
        self.current = job
        for c in list(self.conns.values()):
            if clean:  # a pool forgets the jobs a clean one replaces: late shares are stale
                c.job_diff.clear()
            if c.authorized:
                await self._send_job(c, job)
        return job

    async def reissue(self, clean: bool = False) -> Job:
        """Sends the current job again, unchanged but for a new id (pools do this on a timer)."""
        assert self.current is not None
        self._next += 1
        job = dataclasses.replace(self.current, job_id=f"{self.prefix}{self._next}", clean_jobs=clean)
        self.jobs[job.job_id] = job
        self.current = job
        for c in list(self.conns.values()):
            if clean:
                c.job_diff.clear()
            if c.authorized:
                await self._send_job(c, job)
        return job

    def duplicates(self) -> list[Submission]:
        return [s for s in self.submissions if s.reason == "duplicate"]

    async def set_difficulty(self, d: float) -> None:
        self.difficulty = d
        for c in list(self.conns.values()):
            c.difficulty = d
        await self.broadcast(notification("mining.set_difficulty", [d]))

    async def drop_all(self) -> None:
        for c in list(self.conns.values()):
            c.writer.close()
        self.conns.clear()

    # --- protocol ---------------------------------------------------------------------------

    async def _send_job(self, c: Conn, job: Job) -> None:
        c.job_diff[job.job_id] = c.difficulty
        c.job_en1[job.job_id] = c.extranonce1
        c.writer.write(notification("mining.notify", job.to_notify()))
        with contextlib.suppress(Exception):
            await c.writer.drain()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        cid = self.connections
        c = Conn(cid, writer, os.urandom(4), f"s{cid:04x}", self.difficulty)
        self.conns[cid] = c
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                msg = json.loads(line)
                c.methods.append(msg.get("method"))
                c.params.append((msg.get("method"), msg.get("params")))
                self.all_methods.append(msg.get("method"))
                await self._handle(c, msg)
        except (ConnectionError, ValueError):
            pass
        finally:
            self.conns.pop(cid, None)
            writer.close()

    async def _handle(self, c: Conn, msg: dict[str, Any]) -> None:
        mid, method, params = msg.get("id"), msg.get("method"), msg.get("params") or []
        w = c.writer
        if method == "mining.configure":
            if self.mask is None:
                w.write(json.dumps({"id": mid, "result": None, "error": [20, "unknown method", None]}).encode() + b"\n")
                return
            c.mask = self.mask
            w.write(reply(mid, {"version-rolling": True, "version-rolling.mask": f"{self.mask:08x}"}))
        elif method == "mining.subscribe":
            self.subscribes.append(list(params))
            if len(params) > 1 and params[1] in self.sessions:
                c.extranonce1, c.session_id = self.sessions[params[1]], params[1]
            self.sessions[c.session_id] = c.extranonce1
            c.subscribed = True
            w.write(reply(mid, [[["mining.set_difficulty", c.session_id], ["mining.notify", c.session_id]],
                                c.extranonce1.hex(), self.extranonce2_size]))
        elif method == "mining.authorize":
            c.authorized = self.auth_ok
            w.write(reply(mid, self.auth_ok))
            if self.auth_ok:
                w.write(notification("mining.set_difficulty", [c.difficulty]))
                if self.current is None:
                    self._next += 1
                    self.current = make_job(f"{self.prefix}{self._next}")
                    self.jobs[self.current.job_id] = self.current
                if self.send_job_on_authorize:
                    await self._send_job(c, self.current)
                self.on_authorized.set()
        elif method == "mining.submit":
            ok, reason, d, sd = self._check(c, params)
            self.submissions.append(Submission(c.cid, params, ok, reason, d, sd))
            if ok:
                w.write(reply(mid, True))
            else:
                code = 21 if reason == "job not found" else 22 if reason == "duplicate" else 23
                w.write(json.dumps({"id": mid, "result": None, "error": [code, reason, None]}).encode() + b"\n")
        elif mid is not None:
            w.write(reply(mid, True))
        with contextlib.suppress(Exception):
            await w.drain()

    def _check(self, c: Conn, params: list[Any]) -> tuple[bool, str, float, float]:
        if self.reject_all:
            return False, "rejected by test", 0.0, 0.0
        _worker, job_id, en2_hex, ntime_hex, nonce_hex, *rest = params
        job = self.jobs.get(job_id)
        if job is None or job_id not in c.job_diff:
            return False, "job not found", 0.0, 0.0
        key = (job_id, en2_hex, ntime_hex, nonce_hex, *rest)
        if key in c.seen:
            return False, "duplicate", 0.0, 0.0
        c.seen.add(key)
        en2 = bytes.fromhex(en2_hex)
        if len(en2) != self.extranonce2_size:
            return False, "bad extranonce2 size", 0.0, 0.0
        version = rolled_version(job.version, int(rest[0], 16), c.mask) if rest else job.version
        if rest and int(rest[0], 16) & ~c.mask:
            return False, "version bits outside the mask", 0.0, 0.0
        header = job.header(c.job_en1[job_id], en2, int(ntime_hex, 16), int(nonce_hex, 16), version)
        if self.scrypt:
            h = hashlib.scrypt(header, salt=header, n=1024, r=1, p=1, dklen=32)
        else:
            h = _hash256(header)
        if h in c.seen_hashes:  # identical work under another job id (or extranonce2 spelling)
            return False, "duplicate", 0.0, 0.0
        c.seen_hashes.add(h)
        d = c.job_diff[job_id]
        value = int.from_bytes(h, "little")
        share_diff = 0x00000000FFFF0000000000000000000000000000000000000000000000000000 * (65536 if self.scrypt else 1) / max(value, 1)
        if value > difficulty_to_target(d, scrypt=self.scrypt):
            return False, "low difficulty share", d, share_diff
        return True, "", d, share_diff
