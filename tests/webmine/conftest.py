"""Fixtures for browser mining: a real operation on loopback — a devnet node, `hashforge pool` with
its WebSocket port, and the API/dashboard told where that port is. Chromium (the `browser`
fixture) comes from tests/helpers/browser.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hashforge.api.attach import pool_component
from hashforge.consensus.address import script_to_address
from hashforge.consensus.params import get_params
from hashforge.pool.apiguard import COOKIE_FILE, read_cookie
from hashforge.services.gateways.pool import PoolGateway
from tests.api.served import ServedApi, serve
from tests.api.stack import wait_for
from tests.helpers.nodeproc import NodeProcess, free_port
from tests.pool.harness import MINER


@dataclass
class Operation:
    root: Path
    node: NodeProcess
    pool: subprocess.Popen[bytes]
    stratum_port: int
    ws_port: int
    pool_api_port: int
    api: ServedApi
    address: str

    @property
    def pool_api(self) -> str:
        return f"http://127.0.0.1:{self.pool_api_port}"

    def pool_log(self) -> str:
        return (self.root / "pool.log").read_text(errors="replace")[-3000:]

    @property
    def pool_auth(self) -> tuple[str, str]:
        return read_cookie(self.root / "pool" / COOKIE_FILE)

    def workers(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = httpx.get(f"{self.pool_api}/v1/pool/workers", auth=self.pool_auth, timeout=5).json()
        return rows

    def metric(self, name: str, **labels: str) -> float:
        text = httpx.get(f"{self.pool_api}/v1/pool/metrics", auth=self.pool_auth, timeout=5).text
        want = ",".join(f'{k}="{v}"' for k, v in labels.items())
        for line in text.splitlines():
            key, _, value = line.rpartition(" ")
            if key == (f"{name}{{{want}}}" if want else name):
                return float(value)
        return 0.0


@contextmanager
def running_operation(root: Path, network: str, start_difficulty: str) -> Iterator[Operation]:
    node = NodeProcess(root / network, network=network).start()
    stratum, ws, pool_api, api_port = free_port(), free_port(), free_port(), free_port()
    log = open(root / "pool.log", "ab")  # noqa: SIM115 - closed below
    pool = subprocess.Popen([
        sys.executable, "-m", "hashforge", "pool", "--network", network, "--node-rpc", node.url,
        "--node-cookie", str(node.datadir / ".cookie"), "--stratum-port", str(stratum), "--ws-port", str(ws),
        "--ws-host", "127.0.0.1", "--ws-origin", f"http://127.0.0.1:{api_port}", "--api-port", str(pool_api), "--datadir", str(root / "pool"), "--scheme", "solo",
        "--start-difficulty", start_difficulty, "--log-level", "WARNING",
    ], stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    api = None
    try:
        cookie = root / "pool" / COOKIE_FILE
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{pool_api}/v1/pool/stats", auth=read_cookie(cookie),
                                   timeout=1).status_code == 200,
                 30, "pool API up", lambda: (root / "pool.log").read_text(errors="replace"))
        gateway = PoolGateway(f"http://127.0.0.1:{pool_api}/", cookie)
        api = serve(node, root / "api", lambda bus: pool_component(gateway, bus, poll_s=0.5),
                    stratum_ws=f":{ws}", network=network, port=api_port)
        address = script_to_address(MINER.p2wpkh, get_params(network)) or ""
        yield Operation(root, node, pool, stratum, ws, pool_api, api, address)
    finally:
        if api is not None:
            api.stop()
        if pool.poll() is None:
            pool.send_signal(signal.SIGTERM)
        try:
            pool.wait(15)
        except subprocess.TimeoutExpired:
            pool.kill()
            pool.wait()
        log.close()
        node.stop()


@pytest.fixture(scope="session")
def operation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operation]:
    """devnet, not regtest: regtest's network difficulty (4.7e-10) caps the share difficulty, so
    half of all hashes would be shares; on devnet (6e-5) a share is ~86k hashes."""
    with running_operation(tmp_path_factory.mktemp("webmine"), "devnet", "0.00002") as op:
        yield op


@pytest.fixture(scope="session")
def scrypt_operation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operation]:
    """scryptnet: share difficulty 0.01 (x 2^16 scaling: ~655 scrypt hashes a share)."""
    with running_operation(tmp_path_factory.mktemp("webmine-scrypt"), "scryptnet", "0.01") as op:
        yield op
