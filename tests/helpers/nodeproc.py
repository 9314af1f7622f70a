"""Runs a real `hashforge node` process on loopback for integration tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hashforge.rpcclient import RPCClient, RPCTransportError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NodeProcess:
    def __init__(self, datadir: Path, network: str = "regtest", extra_args: list[str] | None = None) -> None:
        self.datadir = datadir
        self.network = network
        self.extra_args = extra_args or []
        self.port = free_port()
        # P2P on loopback, on a free port of its own (unless the caller chose P2P flags itself).
        self.p2p_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.rpc: RPCClient | None = None
        self.log_path = datadir.parent / f"{datadir.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 30.0) -> NodeProcess:
        self.datadir.mkdir(parents=True, exist_ok=True)
        cookie = self.datadir / ".cookie"
        if cookie.exists():
            cookie.unlink()
        with open(self.log_path, "ab") as log:
            self.proc = self._spawn(log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}:\n{self.log()}")
            if cookie.exists():
                try:
                    self.rpc = RPCClient(self.url, cookie=cookie, timeout=120)
                    self.rpc.call("getblockcount")
                    return self
                except (RPCTransportError, ValueError):
                    pass
            time.sleep(0.05)
        raise TimeoutError(f"node did not start:\n{self.log()}")

    def _spawn(self, log: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "hashforge", "node", "--network", self.network, "--datadir", str(self.datadir),
             "--rpc-port", str(self.port), *self._p2p_args(), *self.extra_args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def _p2p_args(self) -> list[str]:
        if any(a in self.extra_args for a in ("--port", "--bind", "--no-listen")):
            return []
        return ["--bind", "127.0.0.1", "--port", str(self.p2p_port)]

    @property
    def p2p_addr(self) -> str:
        """host:port of this node's P2P listener (for addnode/--connect)."""
        return f"127.0.0.1:{self.p2p_port}"

    def call(self, method: str, *params: Any) -> Any:
        assert self.rpc is not None
        return self.rpc.call(method, *params)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self, timeout: float = 30.0) -> int:
        if self.rpc is not None:
            self.rpc.close()
            self.rpc = None
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.rpc is not None:
            self.rpc.close()
            self.rpc = None
