"""P2P interop with Bitcoin Core on regtest: connections both ways, block sync both ways,
transaction relay both ways, and the same UTXO set (`gettxoutsetinfo` hash_serialized_3) after.

Runs when `bitcoind` is in ../shared/bin or on PATH (tests.helpers.peers); skipped with that
message otherwise. Core listens on loopback (-listen=1 -bind=127.0.0.1) with
seeds, onion and port mapping off: Core 30+ defaults to -natpmp=1 whenever it listens, and would
then send PCP/NAT-PMP requests to the default gateway, traffic that must not leave loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.bitcoind import BitcoinCore, requires_bitcoind
from tests.helpers.nodeproc import NodeProcess, free_port
from tests.helpers.txbuilder import Key, spend

from .conftest import MINER_ADDRESS, coinbase_utxo, start_node, wait_until

pytestmark = [requires_bitcoind("the P2P interop test"), pytest.mark.slow]
RPC_USER, RPC_PASSWORD = "p2pinterop", "p2pinterop-password"


# Core 30+ defaults to -natpmp=1 whenever it listens: seeds, onion, discovery and port mapping off
P2P_ARGS = ("-listen=1", "-bind=127.0.0.1", "-dnsseed=0", "-fixedseeds=0", "-listenonion=0", "-discover=0",
            "-natpmp=0", "-debug=net")


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[BitcoinCore, str, NodeProcess]]:
    p2p_port = free_port()
    with BitcoinCore(tmp_path / "core", *P2P_ARGS, f"-port={p2p_port}", user=RPC_USER, password=RPC_PASSWORD) as core:
        ours = start_node(tmp_path / "ours")
        try:
            yield core, f"127.0.0.1:{p2p_port}", ours
        finally:
            ours.stop()


def test_core_interop_both_ways(pair: tuple[BitcoinCore, str, NodeProcess]) -> None:
    core, core_p2p_addr, ours = pair
    core.call("generatetoaddress", 110, MINER_ADDRESS)
    # we connect to Core, and sync its chain
    ours.call("addnode", core_p2p_addr, "onetry")
    wait_until(lambda: ours.call("getbestblockhash") == core.call("getbestblockhash"), 60, "sync from Core")
    peer = ours.call("getpeerinfo")[0]
    assert peer["subver"].startswith("/Satoshi:") and peer["wtxidrelay"]
    # Core connects to us: two connections between the nodes, one each way. Core tries BIP324 (v2)
    # first; we speak v1 only, so that attempt closes and Core retries with v1 at once.
    core.call("addnode", f"127.0.0.1:{ours.p2p_port}", "onetry")
    wait_until(lambda: {(p["inbound"], p["version"] > 0) for p in core.call("getpeerinfo")} == {(True, True), (False, True)},
               30, "Core's outbound connection to us, handshaken")
    assert [p["transport_protocol_type"] for p in core.call("getpeerinfo")] == ["v1", "v1"]
    assert all(p["subver"].startswith("/hashforge:") for p in core.call("getpeerinfo")), "Core sees our node"
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
    # several blocks of ours at once, one spending a coinbase: Core fetches and connects them all
    tx3 = spend(coinbase_utxo(ours, 3), Key.from_int(33), fee=5000)
    ours.call("sendrawtransaction", tx3.serialize().hex())
    wait_until(lambda: tx3.txid_hex in core.call("getrawmempool"), 60, "our tx at Core")
    *_, h = ours.call("generatetoaddress", 3, MINER_ADDRESS)
    wait_until(lambda: core.call("getbestblockhash") == h, 30, "our three blocks at Core")
    assert core.call("getrawmempool") == []
    assert core.call("getblockcount") == ours.call("getblockcount") == 116
    # the same UTXO set on both sides, by Core's own hash of it
    theirs, mine = core.call("gettxoutsetinfo"), ours.call("gettxoutsetinfo")
    for field in ("height", "bestblock", "txouts", "hash_serialized_3"):
        assert theirs[field] == mine[field], field
