"""A plain Stratum v1 client for tests: newline-delimited JSON over TCP, a reader thread, and a
`mine_one()` that grinds a share at the assigned difficulty with hashforge's native kernel."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hashforge.consensus.hashes import hash256
from hashforge.kernels import scan_sha256d
from hashforge.stratum.work import Job, difficulty_to_target


class StratumError(RuntimeError):
    """The pool answered a request with an error."""


class Disconnected(RuntimeError):
    """The pool closed the connection."""


@dataclass(frozen=True)
class Share:
    job_id: str
    extranonce2: bytes
    ntime: int
    nonce: int
    hash: bytes  # header hash, internal byte order (as the pool's share log stores it)
    difficulty: float


class StratumClient:
    """One connection to a pool; every request waits for its reply."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(None)
        self.jobs: list[Job] = []
        self.difficulty: float | None = None
        self.replies: dict[int, dict[str, Any]] = {}
        self.closed = False
        self.extranonce1 = b""
        self.extranonce2_size = 0
        self._next_id = 1
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self._changed:
                    self.closed = True
                    self._changed.notify_all()
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if not line.strip():
                    continue
                msg = json.loads(line)
                with self._changed:
                    if msg.get("method") == "mining.notify":
                        self.jobs.append(Job.from_notify(msg["params"]))
                    elif msg.get("method") == "mining.set_difficulty":
                        self.difficulty = float(msg["params"][0])
                    elif msg.get("id") is not None:
                        self.replies[int(msg["id"])] = msg
                    self._changed.notify_all()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(self, method: str, params: list[Any], timeout: float = 30) -> dict[str, Any]:
        """The whole reply (result or error) to one request."""
        with self._lock:
            req_id = self._next_id
            self._next_id += 1
        try:
            self.sock.sendall(json.dumps({"id": req_id, "method": method, "params": params}).encode() + b"\n")
        except OSError as e:
            raise Disconnected(f"{method}: {e}") from None
        with self._changed:
            if not self._changed.wait_for(lambda: req_id in self.replies or self.closed, timeout):
                raise TimeoutError(f"no reply to {method}")
            if req_id not in self.replies:
                raise Disconnected(f"connection closed before the reply to {method}")
            return self.replies.pop(req_id)

    def call(self, method: str, params: list[Any], timeout: float = 30) -> Any:
        reply = self.request(method, params, timeout)
        if reply.get("error"):
            raise StratumError(f"{method}: {reply['error']}")
        return reply["result"]

    def handshake(self, user: str, password: str = "x") -> None:
        result = self.call("mining.subscribe", ["hashforge-tests/1"])
        self.extranonce1 = bytes.fromhex(result[1])
        self.extranonce2_size = int(result[2])
        if not self.call("mining.authorize", [user, password]):
            raise StratumError(f"mining.authorize {user!r} refused")

    def wait_for_job(self, predicate: Callable[[Job], bool] = lambda job: True, timeout: float = 30) -> Job:
        """The newest job matching `predicate`, once one has arrived."""
        with self._changed:
            if not self._changed.wait_for(lambda: any(predicate(j) for j in self.jobs), timeout):
                raise TimeoutError("no matching mining.notify")
            return [j for j in self.jobs if predicate(j)][-1]

    def latest_job(self) -> Job:
        with self._lock:
            return self.jobs[-1]

    def wait_for_difficulty(self, timeout: float = 30) -> float:
        with self._changed:
            if not self._changed.wait_for(lambda: self.difficulty is not None, timeout):
                raise TimeoutError("no mining.set_difficulty")
            assert self.difficulty is not None
            return self.difficulty

    def mine_one(self, user: str, budget_s: float = 30) -> Share | None:
        """Grinds the newest job at the current difficulty and submits one share; the share when the
        pool acknowledged it, None when the pool refused it or the budget ran out."""
        job = self.wait_for_job()
        difficulty = self.wait_for_difficulty()
        target = difficulty_to_target(difficulty)
        extranonce2 = os.urandom(self.extranonce2_size)
        deadline = time.monotonic() + budget_s
        ntime = job.time
        chunk = 1 << 22
        start = 0
        while time.monotonic() < deadline:
            header = job.header(self.extranonce1, extranonce2, ntime, 0)
            found = scan_sha256d(header, target, start, start + chunk).nonces
            if found:
                nonce = found[0]
                full = job.header(self.extranonce1, extranonce2, ntime, nonce)
                reply = self.request("mining.submit", [user, job.job_id, extranonce2.hex(), f"{ntime:08x}",
                                                       f"{nonce:08x}"])
                if reply.get("result") is True:
                    return Share(job.job_id, extranonce2, ntime, nonce, hash256(full), difficulty)
                return None
            start += chunk
            if start >= 1 << 32:
                start, extranonce2 = 0, os.urandom(self.extranonce2_size)
        return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
