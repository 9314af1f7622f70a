"""ckpool (the real pool software) on top of `hashforge node`: shares accepted in ckpool's log,
and a block ckpool submits lands on our node, with the stock build and the low-difficulty one.

Runs when `ckpool` / `ckpool-lowdiff` are in ../shared/bin or on PATH (tests.helpers.peers).
ckpool runs in solo mode (-B) against our node's JSON-RPC (user/password auth), so it validates the
payout address with `validateaddress`, polls `getbestblockhash` / `getblockcount` /
`getblockhash`, builds work from `getblocktemplate` and calls `submitblock`.

ckpool clamps the network difficulty to at least 1, so even on regtest only a share of real
difficulty >= 1 becomes a block: each block costs about 2^32 hashes (a minute or two on two cores
with the native kernel). Stock ckpool's share difficulty is never below 1 either, so its one
accepted share is its block; the low-difficulty build (CKPOOL_DIFF_SCALE) accepts cheap shares
first, from `hashforge mine`, which then finds the block on its own.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hashforge.consensus.address import script_to_address
from hashforge.consensus.block import Block
from hashforge.consensus.hashes import hash256
from hashforge.consensus.params import REGTEST
from hashforge.stratum.work import DIFF1_TARGET
from tests.helpers.bitcoind import BitcoinCore, requires_bitcoind
from tests.helpers.ckpool import CKPOOL, CKPOOL_LOWDIFF, CkPool, grind
from tests.helpers.nodeproc import NodeProcess, free_port
from tests.helpers.peers import requires_peer
from tests.helpers.stratumclient import StratumClient
from tests.helpers.txbuilder import Key, outputs_of, spend

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

KEY = Key.from_int(0xC4F00)
ADDRESS = script_to_address(KEY.p2wpkh, REGTEST)
assert ADDRESS is not None
RPC_USER, RPC_PASSWORD = "ckpool", "ckpool-test-password"
# A block is ~2^32 hashes whatever the build: ~90 s on two idle cores, ~3 min on one, but many
# times that on a machine busy with other work (15 min seen at a load of 15 on 2 cores). The limit
# is for a miner or pool that never finds one (wrong target), not for a slow machine.
GRIND_LIMIT_S = 1500
# ckpool turns a share into a block when its difficulty >= 0.999 * max(1, network difficulty).
BLOCK_TARGET = DIFF1_TARGET * 99 // 100
# lowdiff: pool difficulty 1 is real difficulty 2^-20 (4,096 hashes); clients start at 1024 (4M)
DIFF_SCALE = 1 << 20


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


def _wait_block(node: NodeProcess, start_height: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while node.call("getblockcount") == start_height:
        assert time.monotonic() < deadline, "no block from ckpool on our node"
        time.sleep(0.1)
    return str(node.call("getblockhash", start_height + 1))


def _assert_ckpool_block(node: NodeProcess, pool: CkPool, block_hash: str, worker: str) -> None:
    """The block is ckpool's (its log says solved and confirmed), carries the mempool transaction
    and pays the solo miner."""
    block = node.call("getblock", block_hash, 2)
    pool.wait_log(lambda: (block["height"], worker) in pool.solved(), f"block {block['height']} solved by {worker}")
    assert len(block["tx"]) == 2, "the mempool transaction rode along in ckpool's block"
    assert node.call("getrawmempool") == []
    paid = {out["scriptPubKey"]["hex"] for out in block["tx"][0]["vout"]}
    assert KEY.p2wpkh.hex() in paid, "the solo miner's address is paid"
    assert b"/hashforge-interop/" in bytes.fromhex(block["tx"][0]["vin"][0]["coinbase"]), "ckpool's btcsig"


@requires_peer("ckpool", "the stock ckpool interop test")
def test_stock_ckpool_mines_a_block_onto_our_node(node: NodeProcess, tmp_path: Path) -> None:
    assert CKPOOL is not None and ADDRESS is not None
    start_height = node.call("getblockcount")
    worker = f"{ADDRESS}.rig1"
    with CkPool(CKPOOL, tmp_path / "ckpool", node.port, RPC_USER, RPC_PASSWORD, ADDRESS) as pool:
        client = StratumClient(pool.port)
        try:
            sub = client.call("mining.subscribe", ["hashforge-interop-test/1.0"])
            extranonce1, en2_size = bytes.fromhex(sub[1]), int(sub[2])
            assert client.call("mining.authorize", [worker, "x"]) is True
            job = client.wait_for_job()
            assert job.prev_hash == bytes.fromhex(node.call("getbestblockhash"))[::-1]
            assert client.difficulty == 1, "stock ckpool's floor"
            deadline = time.monotonic() + GRIND_LIMIT_S
            for counter in range(1 << 16):
                job = client.latest_job()
                extranonce2 = counter.to_bytes(en2_size, "big")
                nonce = grind(job.header(extranonce1, extranonce2, job.time, 0), BLOCK_TARGET, deadline)
                if nonce is not None:
                    break
                assert time.monotonic() < deadline, "no difficulty-1 share within the time limit"
            assert nonce is not None
            block_hash = hash256(job.header(extranonce1, extranonce2, job.time, nonce))[::-1].hex()
            accepted = client.call(
                "mining.submit", [worker, job.job_id, extranonce2.hex(), f"{job.time:08x}", f"{nonce:08x}"]
            )
            assert accepted is True
            # ckpool's log: the share accepted at difficulty >= 1, then the block confirmed
            pool.wait_log(lambda: any(h == block_hash for _, h in pool.accepted()), "our share accepted", 30)
            assert next(d for d, h in pool.accepted() if h == block_hash) >= 1
            assert _wait_block(node, start_height, 30) == block_hash
            _assert_ckpool_block(node, pool, block_hash, worker)
            assert pool.rejected() == []
            # ckpool notices the new tip and hands out work on top of it
            client.wait_for_job(lambda j: j.prev_hash == bytes.fromhex(block_hash)[::-1], timeout=30)
        finally:
            client.close()


def _miner_summary(port: int) -> dict[str, Any]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(json.dumps({"command": "summary"}).encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    summary: dict[str, Any] = json.loads(data.rstrip(b"\x00"))["SUMMARY"][0]
    return summary


def _miner_accepted(port: int, at_least: int, timeout: float = 30) -> dict[str, Any]:
    """The miner's cgminer summary once it counts `at_least` accepted shares (ckpool logs a share
    before it replies, so the miner's count trails the log by a moment)."""
    deadline = time.monotonic() + timeout
    while (summary := _miner_summary(port))["Accepted"] < at_least:
        assert time.monotonic() < deadline, summary
        time.sleep(0.1)
    return summary


@contextmanager
def _hashforge_mine(url: str, worker: str, log: Path) -> Iterator[int]:
    """`hashforge mine` on `url` as `worker`; yields its cgminer API port."""
    api_port = free_port()
    with open(log, "wb") as out:
        miner = subprocess.Popen(
            [sys.executable, "-m", "hashforge", "mine", "-o", url, "-u", worker, "-p", "x", "--quiet",
             "--api-listen", f"127.0.0.1:{api_port}"],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        yield api_port
    finally:
        miner.send_signal(signal.SIGTERM)
        try:
            miner.wait(20)
        except subprocess.TimeoutExpired:
            miner.kill()
            miner.wait()
        print(f"miner log tail:\n{log.read_text(errors='replace')[-3000:]}")
    assert miner.returncode == 0, log.read_text(errors="replace")[-3000:]


@requires_peer("ckpool-lowdiff", "the low-difficulty ckpool interop test")
def test_lowdiff_ckpool_with_hashforge_mine_on_our_node(node: NodeProcess, tmp_path: Path) -> None:
    """`hashforge mine` on ckpool-lowdiff on our node: many cheap shares accepted in ckpool's log,
    none rejected. (A ckpool block needs a share of real difficulty >= 1 in either build, about 2^32
    hashes: the stock test above proves that path once, so CI grinds it once.)"""
    assert CKPOOL_LOWDIFF is not None and ADDRESS is not None
    worker = f"{ADDRESS}.lowdiff"
    with CkPool(CKPOOL_LOWDIFF, tmp_path / "ckpool", node.port, RPC_USER, RPC_PASSWORD, ADDRESS,
                diff_scale=DIFF_SCALE, startdiff=1024) as pool:
        assert f"CKPOOL_DIFF_SCALE {DIFF_SCALE}" in pool.tail(), "the lowdiff build took the scale"
        with _hashforge_mine(f"stratum+tcp://127.0.0.1:{pool.port}", worker, tmp_path / "miner.log") as api_port:
            pool.wait_log(lambda: len(pool.accepted()) >= 5, "five accepted shares", 60)
            assert pool.rejected() == [] and pool.below_target() == []
            summary = _miner_accepted(api_port, 5)
            assert summary["Rejected"] == 0 and summary["Hardware Errors"] == 0, summary


@requires_bitcoind("hashforge mine on ckpool on Bitcoin Core")
@requires_peer("ckpool-lowdiff", "hashforge mine on ckpool on Bitcoin Core")
def test_hashforge_mine_on_ckpool_on_bitcoin_core(tmp_path: Path) -> None:
    """`hashforge mine` on ckpool-lowdiff on regtest Core: ckpool's log accepts its shares, at the
    difficulties ckpool set (vardiff moves them), and rejects none; the miner agrees."""
    assert CKPOOL_LOWDIFF is not None and ADDRESS is not None
    with BitcoinCore(tmp_path / "core", "-listen=0", user=RPC_USER, password=RPC_PASSWORD) as core:
        core.call("generatetoaddress", 16, ADDRESS)  # ckpool's height push is valid from 17 on
        with CkPool(CKPOOL_LOWDIFF, tmp_path / "ckpool", core.port, RPC_USER, RPC_PASSWORD, ADDRESS,
                    diff_scale=DIFF_SCALE, startdiff=1024) as pool:
            worker = f"{ADDRESS}.core"
            with _hashforge_mine(f"stratum+tcp://127.0.0.1:{pool.port}", worker, tmp_path / "miner.log") as api_port:
                pool.wait_log(lambda: len(pool.accepted()) >= 10, "ten accepted shares", 90)
                summary = _miner_accepted(api_port, 10)
            assert pool.rejected() == [], pool.rejected()[:5]
            assert pool.below_target() == [], pool.below_target()[:5]
            assert summary["Rejected"] == 0 and summary["Hardware Errors"] == 0, summary
            # every share the miner counts as accepted, ckpool logged as accepted
            assert len(pool.accepted()) >= summary["Accepted"], summary
