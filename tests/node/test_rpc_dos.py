"""Issue 17 item 7 (and 8 for the RPC): a local attacker against a real `hashforge node` process.

Each test reproduces one attack on the node's JSON-RPC port over real TCP, scaled down to run in
seconds: huge unauthenticated bodies, slowloris headers, more connections than the cap, parallel
password guessing, deeply nested JSON. The node runs with `--rpcservertimeout 3` and a cap of 60
connections (`--rpcthreads 2 --rpcworkqueue 58`) so deadlines and caps show within a test's time.
"""

from __future__ import annotations

import base64
import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.nodeproc import NodeProcess

TIMEOUT_S = 3.0
THREADS, WORK_QUEUE = 2, 58
CAP = THREADS + WORK_QUEUE
WRONG = "Basic " + base64.b64encode(b"__cookie__:guess").decode()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    n = NodeProcess(
        tmp_path_factory.mktemp("rpcdos") / "node",
        extra_args=["--no-listen", "--rpcservertimeout", str(TIMEOUT_S),
                    "--rpcthreads", str(THREADS), "--rpcworkqueue", str(WORK_QUEUE)],
    ).start()
    assert n.rpc is not None
    n.rpc.close()  # its keep-alive connection would take one of the CAP slots
    n.rpc = None
    yield n
    n.stop()


def _auth(node: NodeProcess) -> str:
    return "Basic " + base64.b64encode((node.datadir / ".cookie").read_bytes()).decode()


def _head(method: str = "POST", length: int = 0, auth: str | None = None) -> bytes:
    lines = [f"{method} / HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", f"Content-Length: {length}"]
    if auth is not None:
        lines.append(f"Authorization: {auth}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status(sock: socket.socket, timeout: float) -> int:
    """The status code of the reply on `sock` (reads only its first line)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed before a status line: {data!r}")
        data += chunk
    return int(data.split()[1])


def _call(node: NodeProcess, body: bytes, auth: str | None) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as s:
        s.sendall(_head(length=len(body), auth=auth).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n") + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), rest


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _log(node: NodeProcess) -> str:
    return node.log_path.read_text(errors="replace")


def test_unauthenticated_huge_bodies_get_401_without_being_buffered(node: NodeProcess) -> None:
    assert node.proc is not None
    pid, n, size = node.proc.pid, 8, 31 * 1024 * 1024
    before = _rss_kb(pid)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_kb(pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    socks = [socket.create_connection(("127.0.0.1", node.port), timeout=10) for _ in range(n)]
    sent = [0] * n

    def send_body(i: int) -> None:
        chunk = b"[" * (1024 * 1024)
        try:
            for _ in range(size // len(chunk)):
                socks[i].sendall(chunk)
                sent[i] += len(chunk)
        except OSError:
            pass

    senders = []
    waits = []
    try:
        for s in socks:
            s.sendall(_head(length=size))
        started = time.monotonic()
        senders = [threading.Thread(target=send_body, args=(i,), daemon=True) for i in range(n)]
        for t in senders:
            t.start()
        statuses = []
        for s in socks:
            statuses.append(_status(s, 10))
            waits.append(time.monotonic() - started)
        for t in senders:
            t.join(30)
    finally:
        done.set()
        sampler.join(5)
        for s in socks:
            s.close()
    assert statuses == [401] * n
    assert max(waits) < 3.0, waits  # the reply does not wait for 31 MiB to arrive
    assert sent == [size] * n  # the node read (and dropped) every body: no reset lost the 401
    growth_mb = (peak[0] - before) / 1024
    assert growth_mb < 40, f"node RSS grew {growth_mb:.0f} MB for {n} x 31 MiB unauthenticated bodies"
    assert _call(node, b'{"method":"getblockcount","id":1}', _auth(node))[0] == 200


def test_slowloris_sockets_are_dropped_at_the_request_deadline(node: NodeProcess) -> None:
    n = 50
    started = time.monotonic()  # before any connects: no deadline can start earlier
    socks = [socket.create_connection(("127.0.0.1", node.port), timeout=5) for _ in range(n)]
    closed_at: dict[int, float] = {}
    for s in socks:
        s.sendall(b"POST / HTTP/1.1\r\n")
        s.setblocking(False)
    try:
        line = 0
        while len(closed_at) < n and time.monotonic() - started < TIMEOUT_S * 4:
            # one more header line per socket every 0.5 s: each line alone is far inside the timeout
            line += 1
            for i, s in enumerate(socks):
                if i in closed_at:
                    continue
                try:
                    s.sendall(f"X-Slow-{line}: {'a' * 10}\r\n".encode())
                except (BlockingIOError, OSError):
                    closed_at[i] = time.monotonic() - started
            end = time.monotonic() + 0.5
            while (left := end - time.monotonic()) > 0:
                open_socks = [s for i, s in enumerate(socks) if i not in closed_at]
                readable, _, _ = select.select(open_socks, [], [], left)
                for s in readable:
                    try:
                        data = s.recv(4096)
                    except OSError:
                        data = b""
                    if not data:
                        closed_at[socks.index(s)] = time.monotonic() - started
                if not readable:
                    break
        # meanwhile the node still serves a real client: 50 is under the cap
        assert _call(node, b'{"method":"getblockcount","id":1}', _auth(node))[0] == 200
    finally:
        for s in socks:
            s.close()
    assert len(closed_at) == n, f"{n - len(closed_at)} slowloris sockets still open after {TIMEOUT_S * 4} s"
    # one deadline per request: not one per line (the lines kept coming every 0.5 s), not earlier
    assert max(closed_at.values()) < TIMEOUT_S + 3.0, sorted(closed_at.values())
    assert min(closed_at.values()) > TIMEOUT_S - 0.2, sorted(closed_at.values())


def test_connections_over_the_cap_get_503_at_once(node: NodeProcess) -> None:
    extra = 5
    socks = [socket.create_connection(("127.0.0.1", node.port), timeout=5) for _ in range(CAP + extra)]
    try:
        t0 = time.monotonic()
        readable, _, _ = select.select(socks, [], [], 1.0)
        while time.monotonic() - t0 < 1.0:  # give every refusal a chance to arrive
            more, _, _ = select.select([s for s in socks if s not in readable], [], [], 0.2)
            if not more:
                break
            readable += more
        refused = [s for s in socks if s in readable]
        replies = [s.recv(4096) for s in refused]
        assert len(refused) >= extra
        assert len(socks) - len(refused) <= CAP
        assert len(socks) - len(refused) >= CAP - 1  # the cap, not something smaller, is what refuses
        for r in replies:
            assert r.startswith(b"HTTP/1.1 503 ") and b"Work queue depth exceeded" in r
        # a client that sends its request at once still reads the 503 (no reset from unread data)
        body = b'{"method":"getblockcount","id":1}'
        for _ in range(extra):
            with socket.create_connection(("127.0.0.1", node.port), timeout=5) as late:
                late.sendall(_head(length=len(body), auth=_auth(node)) + body)
                assert _status(late, 5) == 503
        # a held connection is still served normally
        held = next(s for s in socks if s not in readable)
        held.sendall(_head(length=len(body), auth=_auth(node)) + body)
        assert _status(held, 10) == 200
    finally:
        for s in socks:
            s.close()
    # once they go, new clients are served again
    deadline = time.monotonic() + TIMEOUT_S + 5
    while True:
        try:
            assert _call(node, b'{"method":"getblockcount","id":1}', _auth(node))[0] == 200
            break
        except (AssertionError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    assert "RPC: connection refused, 60 open is the limit" in _log(node)


def test_parallel_wrong_passwords_cost_a_quarter_second_each(node: NodeProcess) -> None:
    n = 20
    results: list[int] = []
    lock = threading.Lock()

    def guess() -> None:
        status, _ = _call(node, b'{"method":"getblockcount","id":1}', WRONG)
        with lock:
            results.append(status)

    threads = [threading.Thread(target=guess) for _ in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(0.3)  # let the guesses queue up behind each other before the real client calls
    t1 = time.monotonic()
    status, _ = _call(node, b'{"method":"getblockcount","id":1}', _auth(node))
    right_password_s = time.monotonic() - t1
    for t in threads:
        t.join(60)
    elapsed = time.monotonic() - t0
    assert results == [401] * n
    assert elapsed >= n * 0.25 - 0.05, f"{n} parallel wrong passwords answered in {elapsed:.2f} s"
    assert status == 200 and right_password_s < 2.0  # guessing does not lock out the operator
    log = _log(node)
    assert "RPC: incorrect password attempt from 127.0.0.1" in log
    assert log.count("incorrect password attempt") < n  # an attack is a counted line, not one per guess


def test_deeply_nested_json_gets_parse_error_and_no_traceback(node: NodeProcess) -> None:
    deep = ('{"id":1,"method":"getblockcount","params":' + "[" * 5000 + "]" * 5000 + "}").encode()
    status, body = _call(node, deep, _auth(node))
    assert status == 500
    reply = json.loads(body)
    assert reply["error"]["code"] == -32700 and reply["id"] is None
    batch = ("[" + "[" * 100_000 + "]" * 100_000 + "]").encode()
    status, body = _call(node, batch, _auth(node))
    assert json.loads(body)["error"]["code"] == -32700
    status, body = _call(node, b'{"method":"getblockcount","id":2}', _auth(node))
    assert status == 200 and json.loads(body)["id"] == 2
    log = _log(node)
    assert "Traceback" not in log and "RecursionError" not in log and "Fatal error" not in log
