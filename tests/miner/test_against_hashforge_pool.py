"""`hashforge mine` against hashforge's own pool (`hashforge pool`) on a devnet node, and on a regtest
node (network difficulty ~4.66e-10: every share is also a block, the share-flood case): real
processes, real Stratum, real JSON-RPC. Shares are accepted, blocks land on the node, and the
miner's cgminer API and the pool's REST API agree that work was done."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hashforge.consensus.address import script_to_address
from hashforge.consensus.params import get_params
from hashforge.pool.apiguard import COOKIE_FILE, read_cookie
from tests.helpers.nodeproc import NodeProcess, free_port
from tests.helpers.txbuilder import Key

KEY = Key.from_int(0x51DE)


def _cgminer(port: int, command: str) -> dict[str, object]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(json.dumps({"command": command}).encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return json.loads(data.rstrip(b"\x00"))  # type: ignore[no-any-return]


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as f:
        return subprocess.Popen([sys.executable, "-m", "hashforge", *args], stdout=f, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.parametrize("network", ["devnet", "regtest"])
def test_miner_mines_on_hashforge_pool(tmp_path: Path, network: str) -> None:
    address = script_to_address(KEY.p2wpkh, get_params(network)) or ""
    node = NodeProcess(tmp_path / network, network).start()
    stratum, pool_api, miner_api = free_port(), free_port(), free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        start_height = node.call("getblockcount")
        procs.append(_spawn(["pool", "--network", network, "--node-rpc", node.url, "--node-cookie",
                             str(node.datadir / ".cookie"), "--stratum-port", str(stratum), "--stratum-host", "127.0.0.1",
                             "--api-port", str(pool_api), "--scheme", "solo", "--datadir", str(tmp_path / "pool"),
                             "--start-difficulty", "0.0001"], tmp_path / "pool.log"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", stratum), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        procs.append(_spawn(["mine", "-o", f"stratum+tcp://127.0.0.1:{stratum}", "-u", f"{address}.t1", "-p", "x",
                             "--threads", "1", "--quiet", "--api-listen", f"127.0.0.1:{miner_api}"], tmp_path / "miner.log"))
        accepted = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                summary = _cgminer(miner_api, "summary")
            except OSError:
                continue
            accepted = int(summary["SUMMARY"][0]["Accepted"])  # type: ignore[index]
            if accepted >= 3 and node.call("getblockcount") >= start_height + 2:
                break
        logs = (tmp_path / "pool.log").read_text()[-1500:] + (tmp_path / "miner.log").read_text()[-1500:]
        assert accepted >= 3, logs
        height = node.call("getblockcount")
        assert height >= start_height + 2, logs
        # solo: the new blocks pay the miner's own address
        block = node.call("getblock", node.call("getblockhash", height), 2)
        assert block["tx"][0]["vout"][0]["scriptPubKey"].get("address") == address
        auth = read_cookie(tmp_path / "pool" / COOKIE_FILE)
        stats = httpx.get(f"http://127.0.0.1:{pool_api}/v1/pool/stats", auth=auth, timeout=10).json()
        workers = httpx.get(f"http://127.0.0.1:{pool_api}/v1/pool/workers", auth=auth, timeout=10).json()
        assert any(w["address"] == address and w["worker"] == "t1" and w["shares"] >= 1 for w in workers), workers
        assert stats["hashrate"] > 0
        pools = _cgminer(miner_api, "pools")["POOLS"]
        assert pools[0]["Status"] == "Alive" and int(pools[0]["Accepted"]) >= 3  # type: ignore[index]
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
        node.stop()
    assert all(p.returncode == 0 for p in procs), [p.returncode for p in procs]
