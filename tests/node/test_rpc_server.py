"""The JSON-RPC HTTP server over real TCP: Core's status codes, auth, batches, keep-alive, bare LF."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from hashforge.node.rpc.errors import RPCError, RPCErrorCode
from hashforge.node.rpc.server import Credentials, RPCDispatcher, RPCServer

AUTH = "Basic " + base64.b64encode(b"alice:secret").decode()


def _methods() -> dict[str, Any]:
    def getblockhash(height: int) -> str:
        if height < 0:
            raise RPCError(RPCErrorCode.INVALID_PARAMETER, "Block height out of range")
        return f"hash{height}"

    def echo(a: str, b: bool = False, c: list[Any] | None = None) -> Any:
        return [a, b, c]

    def boom() -> None:
        raise RuntimeError("handler bug")

    return {"getblockhash": getblockhash, "echo": echo, "boom": boom}


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    loop = asyncio.new_event_loop()
    dispatcher = RPCDispatcher()
    dispatcher.register_all(_methods())
    srv = RPCServer(dispatcher, Credentials([("alice", "secret")]))
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(srv.start())
        started.set()
        loop.run_forever()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    started.wait(10)
    yield srv.port
    asyncio.run_coroutine_threadsafe(srv.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    t.join(10)


def _raw(port: int, data: bytes, read_all: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        if not read_all:
            return s.recv(65536)
        chunks = []
        while True:
            c = s.recv(65536)
            if not c:
                break
            chunks.append(c)
        return b"".join(chunks)


def _post(port: int, body: Any, auth: str | None = AUTH, sep: bytes = b"\r\n", close: bool = True) -> tuple[int, dict[str, str], bytes]:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    lines = [b"POST / HTTP/1.1", b"Host: x", b"Content-Type: application/json", f"Content-Length: {len(payload)}".encode()]
    if auth:
        lines.append(f"Authorization: {auth}".encode())
    if close:
        lines.append(b"Connection: close")
    raw = _raw(port, sep.join(lines) + sep + sep + payload)
    head, _, rest = raw.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.decode().partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest


def test_ok_call_v1(server: int) -> None:
    status, headers, body = _post(server, {"method": "getblockhash", "params": [7], "id": 1})
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"result": "hash7", "error": None, "id": 1}


def test_named_params_and_defaults(server: int) -> None:
    _, _, body = _post(server, {"method": "echo", "params": {"a": "x", "c": [1]}, "id": "q"})
    assert json.loads(body)["result"] == ["x", False, [1]]


def test_no_id_and_bare_lf_headers(server: int) -> None:
    status, _, body = _post(server, {"method": "getblockhash", "params": [1]}, sep=b"\n")
    assert status == 200
    assert json.loads(body) == {"result": "hash1", "error": None, "id": None}


def test_unauthorized(server: int) -> None:
    status, headers, _ = _post(server, {"method": "getblockhash", "params": [1], "id": 1}, auth=None)
    assert status == 401
    assert "basic" in headers["www-authenticate"].lower()
    bad = "Basic " + base64.b64encode(b"alice:wrong").decode()
    assert _post(server, {"method": "getblockhash", "params": [1], "id": 1}, auth=bad)[0] == 401
    assert _post(server, {"method": "getblockhash", "params": [1], "id": 1}, auth="Basic !!!")[0] == 401


@pytest.mark.parametrize(
    ("request_body", "status", "code"),
    [
        ({"method": "nosuch", "params": [], "id": 1}, 404, -32601),
        ({"method": "getblockhash", "params": ["x"], "id": 1}, 500, -3),
        ({"method": "getblockhash", "params": [], "id": 1}, 500, -1),
        ({"method": "getblockhash", "params": [1, 2], "id": 1}, 500, -1),
        ({"method": "getblockhash", "params": [-1], "id": 1}, 500, -8),
        ({"method": "echo", "params": {"zzz": 1}, "id": 1}, 500, -1),
        ({"method": 5, "id": 1}, 400, -32600),
        ({"method": "boom", "id": 1}, 500, -32603),
        (b"{not json", 500, -32700),
        (b"[]", 200, -32600),
    ],
)
def test_errors_v1(server: int, request_body: Any, status: int, code: int) -> None:
    got_status, _, body = _post(server, request_body)
    assert got_status == status
    reply = json.loads(body)
    assert reply["error"]["code"] == code
    assert isinstance(reply["error"]["message"], str) and reply["error"]["message"]


def test_v2_errors_are_http_200_and_notifications_204(server: int) -> None:
    status, _, body = _post(server, {"jsonrpc": "2.0", "method": "nosuch", "id": 3})
    assert status == 200
    reply = json.loads(body)
    assert reply == {"jsonrpc": "2.0", "id": 3, "error": {"code": -32601, "message": "Method not found"}}
    status, _, body = _post(server, {"jsonrpc": "2.0", "method": "getblockhash", "params": [1]})
    assert status == 204 and body == b""


def test_batch(server: int) -> None:
    status, _, body = _post(
        server,
        [
            {"method": "getblockhash", "params": [1], "id": 1},
            {"method": "nosuch", "id": 2},
            {"jsonrpc": "2.0", "method": "getblockhash", "params": [2]},  # notification: no reply
            7,
        ],
    )
    assert status == 200
    replies = json.loads(body)
    assert [r["id"] for r in replies] == [1, 2, None]
    assert replies[0]["result"] == "hash1"
    assert replies[1]["error"]["code"] == -32601
    assert replies[2]["error"]["code"] == -32600


def test_keep_alive_serves_several_requests(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=10) as s:
        f = s.makefile("rb")
        for i in range(3):
            body = json.dumps({"method": "getblockhash", "params": [i], "id": i}).encode()
            s.sendall(
                b"POST / HTTP/1.1\r\nAuthorization: " + AUTH.encode() + b"\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            assert f.readline().startswith(b"HTTP/1.1 200")
            length = 0
            while (line := f.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            assert json.loads(f.read(length))["result"] == f"hash{i}"


def test_oversized_and_garbage_requests_do_not_kill_the_server(server: int) -> None:
    reply = _raw(server, b"POST / HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 413")
    reply = _raw(server, b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400")
    _raw(server, b"\x00\xff" * 1000 + b"\r\n\r\n")
    _raw(server, b"X" * 200_000)  # no newline at all: header limit
    reply = _raw(server, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 405")
    # still serving
    assert _post(server, {"method": "getblockhash", "params": [4], "id": 1})[0] == 200
