"""gettxoutsetinfo and scantxoutset scan a snapshot of the UTXO set off the chain thread.

A real node runs in this process (its RPC server on loopback TCP, its SQLite chainstate on disk)
so the test can hold a scan at its start through the scanner's observers: while it is held,
getblockcount and submitblock must answer (they would hang if they queued behind the scan), and a
block connected meanwhile must not show in the scan's result.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hashforge.consensus.address import script_to_address
from hashforge.consensus.params import REGTEST
from hashforge.node.config import NodeConfig
from hashforge.node.service import Node
from hashforge.rpcclient import RPCClient, RPCClientError
from tests.helpers.nodeproc import free_port
from tests.helpers.txbuilder import Key

KEY = Key.from_int(0x5CA11)
ADDRESS = script_to_address(KEY.p2wpkh, REGTEST)
assert ADDRESS is not None
WAIT = 30.0  # a bound on waits that succeed within milliseconds; a hang fails the test


@dataclass
class Running:
    node: Node
    url: str

    def client(self) -> RPCClient:
        # a short timeout: a call stuck behind the held scan fails instead of waiting for it
        return RPCClient(self.url, cookie=self.node.cookie_path, timeout=10)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    port = free_port()
    node = Node(NodeConfig(network="regtest", datadir=tmp_path / "regtest", rpc_port=port, listen=False))
    loop = asyncio.new_event_loop()
    started: Future[None] = Future()

    def serve() -> None:
        try:
            loop.run_until_complete(node.start())
        except BaseException as e:
            started.set_exception(e)
            return
        started.set_result(None)
        loop.run_until_complete(node.run_until_stopped())

    thread = threading.Thread(target=serve, name="node")
    thread.start()
    started.result(WAIT)
    try:
        yield Running(node, f"http://127.0.0.1:{port}/")
    finally:
        node.request_stop()
        thread.join(WAIT)
        loop.close()
    assert not thread.is_alive()


class Gate:
    """A scanner observer that holds each scan at its start until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, progress: int) -> None:
        if progress == 0:
            self.entered.set()
            assert self.release.wait(WAIT), "the test never released the scan"


def _held_scan(running: Running, call: Callable[[RPCClient], Any]) -> tuple[Gate, Future[Any], ThreadPoolExecutor]:
    gate = Gate()
    running.node.utxo_scans.observers.append(gate)
    pool = ThreadPoolExecutor(1)
    result = pool.submit(call, running.client())
    assert gate.entered.wait(WAIT), "the scan did not start"
    return gate, result, pool


def _new_block(client: RPCClient) -> str:
    made = client.call("generateblock", ADDRESS, [], False)
    return str(made["hex"])


def test_gettxoutsetinfo_scans_a_snapshot_while_blocks_connect(running: Running) -> None:
    rpc = running.client()
    rpc.call("generatetoaddress", 101, ADDRESS)
    before = rpc.call("gettxoutsetinfo")
    assert before["height"] == 101 and before["txouts"] == 101
    gate, pending, pool = _held_scan(running, lambda c: c.call("gettxoutsetinfo"))
    try:
        # the scan is held on its own thread: the chain thread still answers
        assert rpc.call("getblockcount") == 101
        assert rpc.call("submitblock", _new_block(rpc)) is None
        assert rpc.call("getblockcount") == 102
        assert not pending.done()
    finally:
        gate.release.set()
        pool.shutdown()
    held = pending.result(WAIT)
    # everything as at the snapshot's tip (101), not the block connected during the scan
    assert {k: v for k, v in held.items() if k != "disk_size"} == {k: v for k, v in before.items() if k != "disk_size"}
    after = rpc.call("gettxoutsetinfo")
    assert after["height"] == 102 and after["txouts"] == 102
    assert after["hash_serialized_3"] != before["hash_serialized_3"]


def test_scantxoutset_status_abort_and_snapshot_result(running: Running) -> None:
    rpc = running.client()
    rpc.call("generatetoaddress", 5, ADDRESS)
    assert rpc.call("scantxoutset", "status") is None
    assert rpc.call("scantxoutset", "abort") is False
    gate, pending, pool = _held_scan(running, lambda c: c.call("scantxoutset", "start", [f"addr({ADDRESS})"]))
    try:
        assert rpc.call("scantxoutset", "status") == {"progress": 0}
        with pytest.raises(RPCClientError, match="Scan already in progress"):
            rpc.call("scantxoutset", "start", [ADDRESS])
        assert rpc.call("submitblock", _new_block(rpc)) is None
    finally:
        gate.release.set()
        pool.shutdown()
    found = pending.result(WAIT)
    assert found["success"] is True and found["height"] == 5 and found["txouts"] == 5
    assert sorted(u["height"] for u in found["unspents"]) == [1, 2, 3, 4, 5]
    for u in found["unspents"]:
        assert u["blockhash"] == rpc.call("getblockhash", u["height"])
        assert u["confirmations"] == 5 - u["height"] + 1
    assert rpc.call("scantxoutset", "status") is None
    assert len(rpc.call("scantxoutset", "start", [ADDRESS])["unspents"]) == 6


def test_scantxoutset_abort_stops_the_running_scan(running: Running) -> None:
    rpc = running.client()
    rpc.call("generatetoaddress", 3, ADDRESS)
    gate, pending, pool = _held_scan(running, lambda c: c.call("scantxoutset", "start", [ADDRESS]))
    try:
        assert rpc.call("scantxoutset", "abort") is True
    finally:
        gate.release.set()
        pool.shutdown()
    assert pending.result(WAIT) == {"success": False}
    assert rpc.call("scantxoutset", "status") is None
    assert rpc.call("scantxoutset", "start", [ADDRESS])["success"] is True

