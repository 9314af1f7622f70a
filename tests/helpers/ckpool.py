"""Runs the real ckpool (stock, or the low-difficulty build) in solo mode against a node's JSON-RPC,
and reads what it says about shares and blocks from its own log.

ckpool's quirks (../shared/bin/README.md): clients on its Stratum ports above 4000 start at
`"highdiff"` (default 1e6), not `startdiff`; it listens for ZMQ block news on 127.0.0.1:28332
unless given another `zmqblock` endpoint (nobody publishes on ours: it polls); it submits a block
only for a share of real difficulty >= 1, and its BIP34 height push is refused below height 17
(mine 16 blocks first). Accepted and rejected shares go to its log file (at `-l 7`), not the
console. `ckpool-lowdiff` with CKPOOL_DIFF_SCALE=N makes pool difficulty 1 mean real difficulty
1/N, so a CPU gets shares in milliseconds on regtest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from hashforge.kernels import scan_sha256d
from tests.helpers.nodeproc import free_port
from tests.helpers.peers import find_peer

CKPOOL = find_peer("ckpool")
CKPOOL_LOWDIFF = find_peer("ckpool-lowdiff")

# "Accepted client 1 share diff 1.3/1/1: 0000...", "Rejected client 1 dupe diff ...",
# "Rejected client 1 invalid share Invalid nonce2 length", "Invalid share from client 1: ADDR.w"
_ACCEPTED = re.compile(r"Accepted client \S+ (?:low )?share diff ([0-9.]+)/([0-9.]+)/\S+: ([0-9a-f]{64})")
_REJECTED = re.compile(r"Rejected client|Invalid share from client")
_SOLVED = re.compile(r"Solved and confirmed block (\d+) by (\S+)")


class CkPool:
    """One ckpool process (`-B` btcsolo, `-k` kill an old one of the same name) for `address`."""

    def __init__(self, binary: str, workdir: Path, rpc_port: int, rpc_user: str, rpc_password: str,
                 address: str, *, diff_scale: int | None = None, startdiff: int = 1, mindiff: int = 1) -> None:
        self.binary, self.workdir, self.diff_scale = binary, workdir, diff_scale
        self.port = free_port()
        self.name = f"ckpool-test-{os.getpid()}-{self.port}"
        self.log_path = workdir / "logs" / f"{self.name}.log"
        self.console = workdir / "console.out"
        self.conf = {
            "btcd": [{"url": f"127.0.0.1:{rpc_port}", "auth": rpc_user, "pass": rpc_password, "notify": False}],
            "btcaddress": address,
            "btcsig": "/hashforge-interop/",
            "serverurl": [f"127.0.0.1:{self.port}"],
            "mindiff": mindiff,
            "startdiff": startdiff,
            # ports above 4000 start clients at "highdiff" (default 1e6), not startdiff
            "highdiff": startdiff,
            "maxdiff": 0,
            "blockpoll": 100,
            "update_interval": 600,  # regtest work goes stale only with a new block
            "zmqblock": f"tcp://127.0.0.1:{free_port()}",
            "logdir": str(workdir / "logs"),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.sockdir: Path | None = None

    def start(self, timeout: float = 30) -> CkPool:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "ckpool.conf").write_text(json.dumps(self.conf, indent=1))
        env = dict(os.environ)
        if self.diff_scale is not None:
            env["CKPOOL_DIFF_SCALE"] = str(self.diff_scale)
        # its unix sockets must fit sun_path (108 bytes): a short folder, not pytest's deep tmp_path
        self.sockdir = Path(tempfile.mkdtemp(prefix="ck-", dir="/tmp" if os.path.isdir("/tmp") else None))
        with open(self.console, "wb") as out:
            self.proc = subprocess.Popen(
                [self.binary, "-B", "-k", "-l", "7", "-c", str(self.workdir / "ckpool.conf"),
                 "-s", str(self.sockdir), "-n", self.name],
                cwd=self.workdir, stdout=out, stderr=subprocess.STDOUT, env=env,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ckpool exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"ckpool did not listen on {self.port}:\n{self.tail()}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self.sockdir is not None:
            shutil.rmtree(self.sockdir, ignore_errors=True)
            self.sockdir = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self) -> str:
        console = self.console.read_text(errors="replace") if self.console.exists() else ""
        return f"{console[-2000:]}\n--- {self.log_path.name}:\n{self.log()[-4000:]}"

    def accepted(self) -> list[tuple[float, str]]:
        """(share difficulty in pool units, share hash) of every share ckpool's log says it accepted."""
        return [(float(m[1]), m[3]) for m in _ACCEPTED.finditer(self.log())]

    def below_target(self) -> list[str]:
        """Accepted shares under the difficulty ckpool had set for the client (a miner that
        ignores mining.set_difficulty; some ckpool forks accept these as "low" shares)."""
        return [m[0] for m in _ACCEPTED.finditer(self.log()) if float(m[1]) < float(m[2]) or " low share " in m[0]]

    def rejected(self) -> list[str]:
        return [line for line in self.log().splitlines() if _REJECTED.search(line)]

    def solved(self) -> list[tuple[int, str]]:
        """(height, worker) of each block ckpool says it solved and the node confirmed."""
        return [(int(m[1]), m[2]) for m in _SOLVED.finditer(self.log())]

    def wait_log(self, ready: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"ckpool exited with {self.proc.returncode} waiting for {what}:\n{self.tail()}")
            assert time.monotonic() < deadline, f"ckpool's log never showed {what}:\n{self.tail()}"
            time.sleep(0.1)

    def __enter__(self) -> CkPool:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
        if et is not None:
            print(f"ckpool log tail:\n{self.tail()}")


def grind(header: bytes, target: int, deadline: float, threads: int = 2) -> int | None:
    """A nonce giving a header hash <= target, scanning the 2^32 range on `threads` threads; None
    when the range (or the time) runs out."""
    chunk = 1 << 25
    with ThreadPoolExecutor(threads) as ex:
        for base in range(0, 1 << 32, threads * chunk):
            if time.monotonic() > deadline:
                return None
            starts = range(base, base + threads * chunk, chunk)
            for r in ex.map(lambda s: scan_sha256d(header, target, s, s + chunk), starts):
                if r.found:
                    return int(r.found[0].nonce)
    return None
