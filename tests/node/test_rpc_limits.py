"""RPCServer's limits over real TCP, in process: --rpcthreads bounds calls running at once, a refused
request's body is read and dropped so keep-alive goes on, and the CLI refuses bad limit values."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from typer.testing import CliRunner

from hashforge.cli.commands import app
from hashforge.node.rpc.server import Credentials, RPCDispatcher, RPCLimits, RPCServer

AUTH = "Basic " + base64.b64encode(b"alice:secret").decode()
WRONG = "Basic " + base64.b64encode(b"alice:guess").decode()


@contextmanager
def serving(limits: RPCLimits) -> Iterator[tuple[int, dict[str, int]]]:
    """A server whose `slow` method sleeps 0.3 s and records the most calls seen running at once."""
    loop = asyncio.new_event_loop()
    seen = {"running": 0, "peak": 0}

    async def slow() -> int:
        seen["running"] += 1
        seen["peak"] = max(seen["peak"], seen["running"])
        await asyncio.sleep(0.3)
        seen["running"] -= 1
        return 1

    dispatcher = RPCDispatcher()
    dispatcher.register_all({"slow": slow, "echo": lambda x: x})
    srv = RPCServer(dispatcher, Credentials([("alice", "secret")]), limits=limits)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(srv.start())
        started.set()
        loop.run_forever()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert started.wait(10)
    try:
        yield srv.port, seen
    finally:
        asyncio.run_coroutine_threadsafe(srv.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)


def _request(body: bytes, auth: str | None, method: str = "POST") -> bytes:
    head = [f"{method} / HTTP/1.1", f"Content-Length: {len(body)}"] + ([f"Authorization: {auth}"] if auth else [])
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _reply(f: Any) -> tuple[int, bytes]:
    status = int(f.readline().split()[1])
    length = 0
    while (line := f.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return status, f.read(length)


@pytest.mark.parametrize(("threads", "least", "most"), [(1, 1.2, 9.0), (4, 0.3, 3.0)])
def test_rpcthreads_bounds_calls_running_at_once(threads: int, least: float, most: float) -> None:
    with serving(RPCLimits(threads=threads, work_queue=8)) as (port, seen):
        statuses: list[int] = []

        def call() -> None:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(_request(b'{"method":"slow","id":1}', AUTH))
                statuses.append(_reply(s.makefile("rb"))[0])

        callers = [threading.Thread(target=call) for _ in range(4)]
        t0 = time.monotonic()
        for c in callers:
            c.start()
        for c in callers:
            c.join(20)
        elapsed = time.monotonic() - t0
    assert statuses == [200] * 4
    assert seen["peak"] == threads
    assert least <= elapsed < most, elapsed


def test_refused_requests_keep_the_connection_usable() -> None:
    with serving(RPCLimits()) as (port, _), socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rb")
        body = json.dumps({"method": "echo", "params": ["x" * 100_000], "id": 1}).encode()
        s.sendall(_request(body, WRONG))
        assert _reply(f)[0] == 401
        s.sendall(_request(body, AUTH, method="PUT"))
        assert _reply(f)[0] == 405
        s.sendall(_request(body, AUTH))  # the bodies above were dropped whole: this one parses
        status, payload = _reply(f)
        assert status == 200 and json.loads(payload)["result"] == "x" * 100_000


def test_limits_validated() -> None:
    for bad in ({"threads": 0}, {"work_queue": -1}, {"timeout": 0}):
        with pytest.raises(ValueError):
            RPCLimits(**bad)
    assert RPCLimits().max_connections == 80  # Core: 16 threads + 64 queued


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [("--rpcthreads", "0", "--rpcthreads must be 1 or more"), ("--rpcworkqueue", "-1", "--rpcworkqueue must be 0"),
     ("--rpcservertimeout", "0", "--rpcservertimeout must be more than 0")],
)
def test_cli_refuses_bad_limits(flag: str, value: str, message: str) -> None:
    result = CliRunner().invoke(app, ["node", flag, value])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
