"""Three (then four) hashforge nodes in separate processes on loopback: block propagation, tx
relay, a late node's initial sync, partition and heal, and the network RPCs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hashforge.node.p2p.messages import MsgTx
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Key, outputs_of, spend

from .conftest import coinbase_utxo, connect, disconnect, mine, same_tip, start_node, wait_until
from .rawpeer import RawPeer

# The tests share one module-scoped network and build on each other's blocks: one xdist worker must run
# them all, in order (make test distributes whole files: --dist loadfile).
pytestmark = pytest.mark.slow


def _has_tip(node: NodeProcess, block_hash: str) -> Callable[[], bool]:
    return lambda: bool(node.call("getbestblockhash") == block_hash)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[NodeProcess]]:
    root = tmp_path_factory.mktemp("p2pnet")
    nodes: list[NodeProcess] = []
    try:
        for name in "abc":
            nodes.append(start_node(root / name))
        a, b, c = nodes
        connect(b, a)
        connect(c, b)  # a line: a - b - c
        yield nodes
    finally:
        for n in nodes:
            n.stop()


def test_blocks_propagate_within_two_seconds(net: list[NodeProcess]) -> None:
    a, b, c = net
    mine(a, 101)
    wait_until(lambda: same_tip(net), 30, "initial 101 blocks everywhere")
    for miner, far in ((a, c), (c, a), (b, a)):
        [h] = mine(miner, 1)
        took = wait_until(_has_tip(far, h), 2.0, "block relay")
        assert took < 2.0
    wait_until(lambda: same_tip(net), 5)
    info = a.call("getpeerinfo")
    assert len(info) == 1 and info[0]["inbound"] and info[0]["synced_blocks"] >= 101


def test_transactions_relay(net: list[NodeProcess]) -> None:
    a, b, c = net
    tx = spend(coinbase_utxo(a, 1), Key.from_int(7), fee=2000)
    a.call("sendrawtransaction", tx.serialize().hex())
    wait_until(lambda: tx.txid_hex in c.call("getrawmempool"), 10, "tx relay a -> c")
    assert tx.txid_hex in b.call("getrawmempool")
    # a child sent to the far end comes back the other way
    child = spend(outputs_of(tx, Key.from_int(7))[0], Key.from_int(8), fee=2000)
    c.call("sendrawtransaction", child.serialize().hex())
    wait_until(lambda: child.txid_hex in a.call("getrawmempool"), 10, "tx relay c -> a")
    [h] = mine(b, 1)
    wait_until(lambda: all(n.call("getbestblockhash") == h for n in net), 5)
    assert all(n.call("getrawmempool") == [] for n in net)
    block = a.call("getblock", h)
    assert tx.txid_hex in block["tx"] and child.txid_hex in block["tx"]


def test_orphan_transaction_resolved(net: list[NodeProcess]) -> None:
    """A child that arrives before its parent waits in the orphan pool, then both are accepted."""
    a, _b, c = net
    parent = spend(coinbase_utxo(a, 3), Key.from_int(10), fee=2000)
    child = spend(outputs_of(parent, Key.from_int(10))[0], Key.from_int(11), fee=2000)
    peer = RawPeer(a.p2p_port)
    try:
        peer.handshake()
        peer.send(MsgTx(child))
        time.sleep(0.3)
        assert child.txid_hex not in a.call("getrawmempool")
        peer.send(MsgTx(parent))
        wait_until(lambda: {parent.txid_hex, child.txid_hex} <= set(c.call("getrawmempool")), 10, "orphan resolved and relayed")
    finally:
        peer.close()
    mine(a, 1)
    wait_until(lambda: same_tip(net), 5)


def test_late_node_syncs_whole_chain(net: list[NodeProcess], tmp_path: Path) -> None:
    a = net[0]
    mine(a, 50)
    d = start_node(tmp_path / "late", ["--connect", a.p2p_addr])
    try:
        wait_until(lambda: d.call("getbestblockhash") == a.call("getbestblockhash"), 60, "late node sync")
        assert d.call("getblockcount") == a.call("getblockcount")
        peers = d.call("getpeerinfo")
        assert [p["connection_type"] for p in peers] == ["manual"]
        assert d.call("getaddednodeinfo")[0]["connected"] is True
    finally:
        d.stop()
    book = json.loads((tmp_path / "late" / "peers.json").read_text())
    assert any(e["port"] == a.p2p_port and e["last_success"] > 0 for e in book["addresses"])


def test_partition_and_heal(net: list[NodeProcess]) -> None:
    a, b, c = net
    wait_until(lambda: same_tip(net), 10)
    disconnect(b, c)
    # c's side: a transaction mined only on the branch that will lose
    tx = spend(coinbase_utxo(c, 2), Key.from_int(9), fee=3000)
    c.call("sendrawtransaction", tx.serialize().hex())
    mine(c, 2)
    assert tx.txid_hex in c.call("getblock", c.call("getbestblockhash"), 1)["tx"] or tx.txid_hex in c.call(
        "getblock", c.call("getblockhash", c.call("getblockcount") - 1), 1
    )["tx"]
    mine(a, 3)  # more work on a and b's side
    wait_until(lambda: same_tip([a, b]), 5)
    assert c.call("getbestblockhash") != a.call("getbestblockhash")
    connect(c, b)
    wait_until(lambda: same_tip(net), 15, "convergence after heal")
    tips = [t for t in c.call("getchaintips") if t["status"] == "valid-fork"]
    assert tips and tips[0]["branchlen"] == 2
    # the losing branch's transaction is back in the mempool, and relayed to the winners
    wait_until(lambda: all(tx.txid_hex in n.call("getrawmempool") for n in net), 10, "tx back in mempools")


def test_network_rpcs(net: list[NodeProcess]) -> None:
    a, b, _c = net
    info = b.call("getnetworkinfo")
    assert info["connections"] == 2 and info["connections_in"] == 1 and info["connections_out"] == 1
    assert b.call("getconnectioncount") == 2
    peers = b.call("getpeerinfo")
    for key in ("id", "addr", "services", "version", "subver", "inbound", "pingtime", "bytessent_per_msg", "connection_type", "synced_headers"):
        assert all(key in p for p in peers), key
    totals = b.call("getnettotals")
    assert totals["totalbytessent"] > 0 and totals["totalbytesrecv"] > 0
    # bans: add, list, refuse, remove
    b.call("setban", "10.1.2.0/24", "add", 3600)
    b.call("setban", "192.0.2.7", "add")
    banned = {e["address"]: e for e in b.call("listbanned")}
    assert set(banned) == {"10.1.2.0/24", "192.0.2.7/32"}
    assert 3590 <= banned["10.1.2.0/24"]["time_remaining"] <= 3600
    with pytest.raises(Exception, match="already banned"):
        b.call("setban", "10.1.2.0/24", "add")
    b.call("setban", "192.0.2.7", "remove")
    assert [e["address"] for e in b.call("listbanned")] == ["10.1.2.0/24"]
    b.call("clearban")
    assert b.call("listbanned") == []
    with pytest.raises(Exception, match="Invalid IP"):
        b.call("setban", "not-an-ip", "add")
    # added nodes
    b.call("addnode", "10.9.9.9:18444", "add")
    with pytest.raises(Exception, match="already added"):
        b.call("addnode", "10.9.9.9:18444", "add")
    assert any(n["addednode"] == "10.9.9.9:18444" for n in b.call("getaddednodeinfo"))
    b.call("addnode", "10.9.9.9:18444", "remove")
    with pytest.raises(Exception, match="not been added"):
        b.call("addnode", "10.9.9.9:18444", "remove")
    with pytest.raises(Exception, match="not found"):
        b.call("disconnectnode", "10.9.9.9:1")
    # a ban on the loopback address drops and refuses the peer
    t0 = time.monotonic()
    a.call("setban", "127.0.0.1", "add", 60)
    wait_until(lambda: a.call("getconnectioncount") == 0, 5, "banned peer dropped")
    a.call("clearban")
    connect(b, a)
    assert time.monotonic() - t0 < 20
