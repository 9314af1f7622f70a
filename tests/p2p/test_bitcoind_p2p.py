"""P2P interop with Bitcoin Core on regtest: connections both ways, block sync both ways,
transaction relay both ways.

Runs only when `bitcoind` is on PATH (build Bitcoin Core outside the repo, DESIGN.md section 8);
skipped with that message otherwise. Core listens on loopback (-listen=1 -bind=127.0.0.1) with
seeds, onion and port mapping off: Core 30+ defaults to -natpmp=1 whenever it listens, and would
then send PCP/NAT-PMP requests to the default gateway, traffic that must not leave loopback.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hashforge.rpcclient import RPCClient, RPCClientError, RPCTransportError
from tests.helpers.nodeproc import NodeProcess, free_port
from tests.helpers.txbuilder import Key, spend

from .conftest import MINER_ADDRESS, coinbase_utxo, start_node, wait_until

BITCOIND = shutil.which("bitcoind")
pytestmark = [
    pytest.mark.skipif(
        BITCOIND is None,
        reason="bitcoind is not on PATH: build Bitcoin Core outside the repo (see DESIGN.md section 8) "
        "to run the P2P interop test",
    ),
    pytest.mark.slow,
]
RPC_USER, RPC_PASSWORD = "p2pinterop", "p2pinterop-password"


class CoreP2PNode:
    def __init__(self, datadir: Path) -> None:
        assert BITCOIND is not None
        datadir.mkdir(parents=True)
        self.rpc_port, self.p2p_port = free_port(), free_port()
        self.log = datadir / "stdout.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [BITCOIND, "-regtest", f"-datadir={datadir}", "-server=1", "-disablewallet",
                 "-listen=1", "-bind=127.0.0.1", f"-port={self.p2p_port}", "-dnsseed=0", "-fixedseeds=0",
                 "-listenonion=0", "-discover=0", "-natpmp=0", "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1",
                 f"-rpcport={self.rpc_port}", f"-rpcuser={RPC_USER}", f"-rpcpassword={RPC_PASSWORD}",
                 "-printtoconsole=1", "-debug=net"],
                stdout=out, stderr=subprocess.STDOUT,
            )
        self.rpc = RPCClient(f"http://127.0.0.1:{self.rpc_port}/", user=RPC_USER, password=RPC_PASSWORD, timeout=120)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bitcoind exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                self.rpc.call("getblockchaininfo")
                return
            except (RPCTransportError, RPCClientError):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"bitcoind did not answer:\n{self.tail()}") from None
                time.sleep(0.2)

    @property
    def p2p_addr(self) -> str:
        return f"127.0.0.1:{self.p2p_port}"

    def call(self, method: str, *params: Any) -> Any:
        return self.rpc.call(method, *params)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        try:
            self.rpc.call("stop")
            self.proc.wait(60)
        except (RPCTransportError, RPCClientError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            self.rpc.close()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[CoreP2PNode, NodeProcess]]:
    core = CoreP2PNode(tmp_path / "core")
    ours = start_node(tmp_path / "ours")
    try:
        yield core, ours
    finally:
        ours.stop()
        core.stop()


def test_core_interop_both_ways(pair: tuple[CoreP2PNode, NodeProcess]) -> None:
    core, ours = pair
    core.call("generatetoaddress", 110, MINER_ADDRESS)
    # we connect to Core, and sync its chain
    ours.call("addnode", core.p2p_addr, "onetry")
    wait_until(lambda: ours.call("getbestblockhash") == core.call("getbestblockhash"), 60, "sync from Core")
    peer = ours.call("getpeerinfo")[0]
    assert peer["subver"].startswith("/Satoshi:") and peer["wtxidrelay"]
    # Core connects to us: two connections between the nodes, one each way
    core.call("addnode", f"127.0.0.1:{ours.p2p_port}", "onetry")
    wait_until(lambda: len(core.call("getpeerinfo")) == 2, 20, "Core's outbound connection to us")
    wait_until(lambda: all(p["version"] > 0 for p in ours.call("getpeerinfo")), 20)
    # our blocks reach Core
    [h] = ours.call("generatetoaddress", 1, MINER_ADDRESS)
    wait_until(lambda: core.call("getbestblockhash") == h, 20, "our block at Core")
    [h] = core.call("generatetoaddress", 1, MINER_ADDRESS)
    wait_until(lambda: ours.call("getbestblockhash") == h, 20, "Core's block at ours")
    # transactions both ways (Core trickles its announcements: seconds)
    tx1 = spend(coinbase_utxo(ours, 1), Key.from_int(31), fee=5000)
    ours.call("sendrawtransaction", tx1.serialize().hex())
    wait_until(lambda: tx1.txid_hex in core.call("getrawmempool"), 60, "our tx at Core")
    tx2 = spend(coinbase_utxo(ours, 2), Key.from_int(32), fee=5000)
    core.call("sendrawtransaction", tx2.serialize().hex())
    wait_until(lambda: tx2.txid_hex in ours.call("getrawmempool"), 60, "Core's tx at ours")
    # a block with both, mined by Core, relayed (compact block) and connected by us
    [h] = core.call("generatetoaddress", 1, MINER_ADDRESS)
    wait_until(lambda: ours.call("getbestblockhash") == h, 20)
    assert ours.call("getrawmempool") == []
