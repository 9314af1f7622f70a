"""ckpool (the real pool software) on top of `hashforge node`: a Stratum client mines, blocks land.

Runs only when a `ckpool` binary is on PATH (build it from https://github.com/ckolivas/ckpool outside
this repository: yasm libzmq3-dev autoconf automake libtool; ./autogen.sh && ./configure && make);
CI has none and skips it. ckpool runs in solo mode (-B) against our node's JSON-RPC (user/password
auth), so it validates the payout address with `validateaddress`, polls `getbestblockhash` /
`getblockcount` / `getblockhash`, builds work from `getblocktemplate` and calls `submitblock`.

ckpool clamps the network difficulty to at least 1, so even on regtest only a share of difficulty
>= 1 becomes a block: the client grinds about 2^32 hashes with the native kernel (about a minute on
two cores at ~35 MH/s each). ckpool's ports above 4000 start clients at difficulty 1e6 unless
"highdiff" says otherwise; the config sets it to 1.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from hashforge.consensus.address import script_to_address
from hashforge.consensus.block import Block
from hashforge.consensus.hashes import hash256
from hashforge.consensus.params import REGTEST
from hashforge.kernels import scan_sha256d
from hashforge.stratum.work import DIFF1_TARGET, Job
from tests.helpers.nodeproc import NodeProcess, free_port
from tests.helpers.peers import find_peer, requires_peer
from tests.helpers.txbuilder import Key, outputs_of, spend

CKPOOL = find_peer("ckpool")
pytestmark = [
    requires_peer("ckpool", "the ckpool interop test"),
    pytest.mark.slow,
    pytest.mark.timeout(1200),
]

KEY = Key.from_int(0xC4F00)
ADDRESS = script_to_address(KEY.p2wpkh, REGTEST)
assert ADDRESS is not None
RPC_USER, RPC_PASSWORD = "ckpool", "ckpool-test-password"
GRIND_LIMIT_S = 900
# ckpool turns a share into a block when its difficulty >= 0.999 * max(1, network difficulty).
BLOCK_TARGET = DIFF1_TARGET * 99 // 100


class StratumClient:
    """Just enough Stratum v1 for one miner: newline-delimited JSON, a reader thread, a queue."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.settimeout(None)
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.replies: dict[int, dict[str, Any]] = {}
        self.jobs: list[Job] = []
        self.difficulty: float | None = None
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
                return
            if not chunk:
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

    def call(self, method: str, params: list[Any], timeout: float = 30) -> Any:
        with self._lock:
            req_id = self._next_id
            self._next_id += 1
        self.sock.sendall(json.dumps({"id": req_id, "method": method, "params": params}).encode() + b"\n")
        with self._changed:
            if not self._changed.wait_for(lambda: req_id in self.replies, timeout):
                raise TimeoutError(f"no reply to {method}")
            reply = self.replies.pop(req_id)
        if reply.get("error"):
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def wait_for_job(self, predicate: Any = lambda job: True, timeout: float = 30) -> Job:
        with self._changed:
            if not self._changed.wait_for(lambda: any(predicate(j) for j in self.jobs), timeout):
                raise TimeoutError("no matching mining.notify")
            return [j for j in self.jobs if predicate(j)][-1]

    def latest_job(self) -> Job:
        with self._lock:
            return self.jobs[-1]

    def close(self) -> None:
        self.sock.close()


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ckpool exited with {proc.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"ckpool did not listen on {port}:\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeProcess]:
    n = NodeProcess(tmp_path / "node" / "regtest", extra_args=["--rpc-user", RPC_USER, "--rpc-password", RPC_PASSWORD])
    n.start()
    # ckpool writes the BIP34 height as a plain push ("01 01" for height 1), while consensus wants
    # OP_1..OP_16 for heights 1..16: like Bitcoin Core, our node refuses those, so start above 16.
    n.call("generatetoaddress", 101, ADDRESS)
    # a mempool transaction, so ckpool's work (and the block it submits) carries one from the template
    raw_cb = n.call("getblock", n.call("getblockhash", 1), 0)
    tx = spend(outputs_of(Block.from_bytes(bytes.fromhex(raw_cb)).vtx[0], KEY)[0], KEY, fee=20_000, n_outputs=2)
    assert n.call("sendrawtransaction", tx.serialize().hex()) == tx.txid_hex
    yield n
    n.stop()


@pytest.fixture
def ckpool(node: NodeProcess, tmp_path: Path) -> Iterator[int]:
    assert CKPOOL is not None
    stratum_port = free_port()
    workdir = tmp_path / "ckpool"
    workdir.mkdir()
    conf = {
        "btcd": [{"url": f"127.0.0.1:{node.port}", "auth": RPC_USER, "pass": RPC_PASSWORD, "notify": False}],
        "btcaddress": ADDRESS,
        "btcsig": "/hashforge-interop/",
        "serverurl": [f"127.0.0.1:{stratum_port}"],
        "mindiff": 1,
        "startdiff": 1,
        "highdiff": 1,  # our port is > 4000: without this the first difficulty is 1e6
        "maxdiff": 0,
        "blockpoll": 100,
        "update_interval": 30,
        "zmqblock": f"tcp://127.0.0.1:{free_port()}",  # nobody publishes there: ckpool polls
        "logdir": str(workdir / "logs"),
    }
    (workdir / "ckpool.conf").write_text(json.dumps(conf, indent=1))
    log = workdir / "ckpool.out"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [CKPOOL, "-B", "-k", "-l", "7", "-c", str(workdir / "ckpool.conf"), "-s", str(workdir / "sock"),
             "-n", f"ckpool-test-{os.getpid()}"],
            cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        _wait_listening(stratum_port, proc, log)
        yield stratum_port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        print(f"ckpool log tail:\n{log.read_text(errors='replace')[-3000:]}")


def _grind(job: Job, extranonce1: bytes, extranonce2: bytes, deadline: float) -> int | None:
    """A nonce giving a header hash <= BLOCK_TARGET, scanning the 2^32 range on two threads."""
    header = job.header(extranonce1, extranonce2, job.time, 0)
    chunk = 1 << 26
    with ThreadPoolExecutor(2) as ex:
        for base in range(0, 1 << 32, 2 * chunk):
            if time.monotonic() > deadline:
                return None
            results = ex.map(lambda s: scan_sha256d(header, BLOCK_TARGET, s, s + chunk), (base, base + chunk))
            for r in results:
                if r.found:
                    return r.found[0].nonce
    return None


def test_ckpool_mines_blocks_onto_our_node(node: NodeProcess, ckpool: int) -> None:
    start_height = node.call("getblockcount")
    client = StratumClient(ckpool)
    try:
        sub = client.call("mining.subscribe", ["hashforge-interop-test/1.0"])
        extranonce1, en2_size = bytes.fromhex(sub[1]), int(sub[2])
        assert client.call("mining.authorize", [f"{ADDRESS}.rig1", "x"]) is True
        job = client.wait_for_job()
        assert job.prev_hash == bytes.fromhex(node.call("getbestblockhash"))[::-1]
        deadline = time.monotonic() + GRIND_LIMIT_S
        for counter in range(1 << 16):
            job = client.latest_job()
            extranonce2 = counter.to_bytes(en2_size, "big")
            nonce = _grind(job, extranonce1, extranonce2, deadline)
            if nonce is not None:
                break
            assert time.monotonic() < deadline, "no difficulty-1 share within the time limit"
        assert nonce is not None
        header = job.header(extranonce1, extranonce2, job.time, nonce)
        block_hash = hash256(header)[::-1].hex()
        accepted = client.call(
            "mining.submit", [f"{ADDRESS}.rig1", job.job_id, extranonce2.hex(), f"{job.time:08x}", f"{nonce:08x}"]
        )
        assert accepted is True
        deadline = time.monotonic() + 30
        while node.call("getblockcount") == start_height and time.monotonic() < deadline:
            time.sleep(0.1)
        assert node.call("getbestblockhash") == block_hash
        block = node.call("getblock", block_hash, 2)
        assert len(block["tx"]) == 2, "the mempool transaction rode along in ckpool's block"
        assert node.call("getrawmempool") == []
        paid = {out["scriptPubKey"]["hex"] for out in block["tx"][0]["vout"]}
        assert KEY.p2wpkh.hex() in paid, "the solo miner's address is paid"
        # ckpool notices the new tip and hands out work on top of it
        client.wait_for_job(lambda j: j.prev_hash == bytes.fromhex(block_hash)[::-1], timeout=30)
    finally:
        client.close()
