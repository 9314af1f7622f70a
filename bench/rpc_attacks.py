"""Issue 17 item 7's attacks at full scale on a real `hashforge node` with default RPC limits; prints JSON. A benchmark, never a test.

    .venv/bin/python bench/rpc_attacks.py [--slowloris 1000] [--guesses 500]

1. 8 unauthenticated sockets each send a 31 MiB body: when each 401 arrives, node RSS before and at peak.
2. SLOWLORIS sockets each send one header line every 25 s: how many get 503 at once, when the last is dropped.
3. GUESSES wrong passwords in parallel: how many get 401 (each costs 0.25 s, one at a time) or 503, total time.
The regression tests (tests/node/test_rpc_dos.py) run the same attacks scaled down.
"""

from __future__ import annotations

import argparse
import base64
import json
import select
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.helpers runs the node

from tests.helpers.nodeproc import NodeProcess


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def call(port: int, auth: str) -> int:
    body = b'{"method":"getblockcount","id":1}'
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        s.sendall(f"POST / HTTP/1.1\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
                  f"Authorization: {auth}\r\n\r\n".encode() + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split()[1]) if data else 0


def huge_bodies(port: int, pid: int, n: int = 8, mib: int = 31) -> dict[str, object]:
    before = peak = rss_mb(pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb(pid))
            time.sleep(0.01)

    threading.Thread(target=sample, daemon=True).start()
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    for s in socks:
        s.sendall(f"POST / HTTP/1.1\r\nContent-Length: {mib << 20}\r\n\r\n".encode())
    t0 = time.monotonic()

    def send(s: socket.socket) -> None:
        try:
            for _ in range(mib):
                s.sendall(b"[" * (1 << 20))
        except OSError:
            pass

    senders = [threading.Thread(target=send, args=(s,)) for s in socks]
    for t in senders:
        t.start()
    replies = []
    for s in socks:
        status = s.recv(64).split(b"\r\n")[0].decode()
        replies.append({"status": status, "after_s": round(time.monotonic() - t0, 2)})
    for t in senders:
        t.join()
    done.set()
    for s in socks:
        s.close()
    return {"sockets": n, "body_mib": mib, "replies": replies, "rss_before_mb": round(before), "rss_peak_mb": round(peak)}


def slowloris(port: int, n: int, every_s: float = 25.0, give_up_s: float = 100.0) -> dict[str, object]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST / HTTP/1.1\r\n")
        s.setblocking(False)
        socks.append(s)
    t0 = time.monotonic()
    closed: dict[int, float] = {}
    refused = 0
    index = {s.fileno(): i for i, s in enumerate(socks)}
    next_line, line = t0 + every_s, 0
    while len(closed) < n and time.monotonic() - t0 < give_up_s:
        if time.monotonic() >= next_line:
            line += 1
            next_line += every_s
            for i, s in enumerate(socks):
                if i not in closed:
                    try:
                        s.sendall(f"X-Slow-{line}: a\r\n".encode())
                    except OSError:
                        closed[i] = time.monotonic() - t0
        live = [s for i, s in enumerate(socks) if i not in closed]
        readable, _, _ = select.select(live, [], [], 0.5)
        for s in readable:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if data.startswith(b"HTTP/1.1 503"):
                refused += 1
            closed[index[s.fileno()]] = time.monotonic() - t0
    for s in socks:
        s.close()
    held = [t for i, t in closed.items()]
    return {"sockets": n, "line_every_s": every_s, "refused_503_at_once": refused, "dropped": len(closed),
            "still_open": n - len(closed), "last_dropped_after_s": round(max(held), 1) if held else None}


def guesses(port: int, n: int) -> dict[str, object]:
    wrong = "Basic " + base64.b64encode(b"__cookie__:guess").decode()
    statuses: list[int] = []
    lock = threading.Lock()

    def guess() -> None:
        try:
            status = call(port, wrong)
        except OSError:
            status = -1
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=guess) for _ in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    return {"parallel": n, "answered_401": statuses.count(401), "refused_503": statuses.count(503),
            "other": n - statuses.count(401) - statuses.count(503), "elapsed_s": round(elapsed, 2),
            "guesses_per_s": round(statuses.count(401) / elapsed, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slowloris", type=int, default=1000)
    ap.add_argument("--guesses", type=int, default=500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        node = NodeProcess(Path(tmp) / "node", extra_args=["--no-listen"]).start()
        try:
            assert node.rpc is not None and node.proc is not None
            node.rpc.close()  # its keep-alive connection would hold one of the capped slots
            node.rpc = None
            auth = "Basic " + base64.b64encode((node.datadir / ".cookie").read_bytes()).decode()
            pid = node.proc.pid
            out: dict[str, object] = {"rss_start_mb": round(rss_mb(pid))}
            out["huge_unauthenticated_bodies"] = huge_bodies(node.port, pid)
            out["slowloris"] = slowloris(node.port, args.slowloris)
            out["parallel_wrong_passwords"] = guesses(node.port, args.guesses)
            out["real_client_after"] = call(node.port, auth)
            out["rss_end_mb"] = round(rss_mb(pid))
        finally:
            node.stop()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
