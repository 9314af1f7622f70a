"""Starts a real Bitcoin Core `bitcoind` on regtest for interop tests (found in ../shared/bin or on
PATH by tests.helpers.peers; skipped when neither has it).

One launcher for every test that talks to Core: RPC on loopback, no wallet, and whatever the
caller adds (`-listen=0`, or P2P flags on a port of its own). Regtest's own consistency checks
(`-checkblockindex`, `-checkmempool`) are off: they walk the whole index per block and make Core
itself the slow part (../shared/bin/README.md).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from hashforge.rpcclient import RPCClient, RPCClientError, RPCTransportError
from tests.helpers.nodeproc import free_port
from tests.helpers.peers import find_peer, requires_peer

BITCOIND = find_peer("bitcoind")


def requires_bitcoind(what: str = "the Bitcoin Core interop tests") -> pytest.MarkDecorator:
    """Skips with a message that says how to run `what` when bitcoind is in neither ../shared/bin nor PATH."""
    return requires_peer("bitcoind", what)


class BitcoinCore:
    """A regtest bitcoind in `datadir`, started by `start()` and answering RPC before it returns."""

    def __init__(self, datadir: Path, *extra_args: str, user: str = "hashforge",
                 password: str = "hashforge-password", rpc_timeout: float = 120) -> None:
        self.datadir = datadir
        self.extra_args = extra_args
        self.user, self.password = user, password
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = datadir / "stdout.log"
        self.rpc = RPCClient(self.url, user=user, password=password, timeout=rpc_timeout)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> BitcoinCore:
        if BITCOIND is None:
            raise RuntimeError("bitcoind not found in ../shared/bin or on PATH")
        self.datadir.mkdir(parents=True, exist_ok=True)
        args = [BITCOIND, "-regtest", f"-datadir={self.datadir}", "-server=1", "-disablewallet",
                "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1", f"-rpcport={self.port}",
                f"-rpcuser={self.user}", f"-rpcpassword={self.password}", "-printtoconsole=1",
                "-checkblockindex=0", "-checkmempool=0", *self.extra_args]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bitcoind exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                self.rpc.call("getblockchaininfo")
                return self
            except (RPCTransportError, RPCClientError):  # not listening yet, or -28 while warming up
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"bitcoind did not answer:\n{self.tail()}") from None
                time.sleep(0.2)

    def call(self, method: str, *params: Any) -> Any:
        return self.rpc.call(method, *params)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            self.rpc.call("stop")
            self.proc.wait(60)
        except (RPCTransportError, RPCClientError, OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            self.rpc.close()
            self.proc = None

    def __enter__(self) -> BitcoinCore:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
