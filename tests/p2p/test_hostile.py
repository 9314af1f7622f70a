"""Hostile peers: garbage, an oversized (32 MB) message, slowloris, a silent peer, invalid headers,
a banned address. Each is disconnected; the node stays up and keeps serving an honest peer."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from hashforge.consensus.block import BlockHeader
from hashforge.consensus.params import REGTEST
from hashforge.node.p2p.messages import MsgHeaders, MsgPing, MsgPong
from tests.helpers.nodeproc import NodeProcess

from .conftest import connect, mine, start_node, wait_until
from .rawpeer import RawPeer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    root = tmp_path_factory.mktemp("hostile")
    target = start_node(root / "target")
    honest = start_node(root / "honest")
    try:
        connect(honest, target)
        yield target, honest
    finally:
        target.stop()
        honest.stop()


def _still_serving(target: NodeProcess, honest: NodeProcess) -> None:
    [h] = mine(target, 1)
    wait_until(lambda: honest.call("getbestblockhash") == h, 3, "honest peer gets the new block")
    assert target.proc is not None and target.proc.poll() is None


def test_garbage_is_disconnected(pair: tuple[NodeProcess, NodeProcess]) -> None:
    target, honest = pair
    peer = RawPeer(target.p2p_port)
    peer.send_bytes(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)) * 4)
    assert peer.closed_by_remote(5)
    _still_serving(target, honest)


def test_oversized_message_is_disconnected(pair: tuple[NodeProcess, NodeProcess]) -> None:
    target, honest = pair
    peer = RawPeer(target.p2p_port)
    peer.handshake()
    header = REGTEST.message_start + b"block".ljust(12, b"\x00") + (32 * 1024 * 1024).to_bytes(4, "little") + b"\x00" * 4
    peer.send_bytes(header + b"\x00" * 65536)
    assert peer.closed_by_remote(5)
    _still_serving(target, honest)


def test_slowloris_and_silent_peers_are_dropped(pair: tuple[NodeProcess, NodeProcess]) -> None:
    target, honest = pair
    silent = RawPeer(target.p2p_port)  # connects and says nothing: handshake timeout (3 s here)
    slow = RawPeer(target.p2p_port)  # a handshake, then one message a byte at a time
    slow.handshake()
    wire = REGTEST.message_start + b"ping".ljust(12, b"\x00") + (8).to_bytes(4, "little")
    t0 = time.monotonic()
    dropped = False
    for byte in wire:
        try:
            slow.send_bytes(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            dropped = True
            break
        time.sleep(0.25)
    assert dropped or slow.closed_by_remote(4)
    assert time.monotonic() - t0 < 8
    _still_serving(target, honest)
    assert silent.closed_by_remote(5)


def test_honest_ping_and_bad_header(pair: tuple[NodeProcess, NodeProcess]) -> None:
    target, honest = pair
    peer = RawPeer(target.p2p_port)
    version = peer.handshake()
    assert version.start_height == target.call("getblockcount")
    peer.send(MsgPing(77))
    while not isinstance(msg := peer.recv(), MsgPong):
        pass
    assert msg.nonce == 77
    # a header with no proof of work: misbehaving 100, disconnected (a local peer is not discouraged)
    tip = bytes.fromhex(target.call("getbestblockhash"))[::-1]
    bad = BlockHeader(0x20000000, tip, b"\x00" * 32, int(time.time()), 0x1D00FFFF, 0)
    peer.send(MsgHeaders((bad,)))
    assert peer.closed_by_remote(5)
    again = RawPeer(target.p2p_port)
    again.handshake()  # still welcome: loopback peers are never discouraged
    again.close()
    _still_serving(target, honest)


def test_banned_source_refused(pair: tuple[NodeProcess, NodeProcess]) -> None:
    target, honest = pair
    target.call("setban", "127.0.0.2", "add", 60)
    try:
        try:
            peer = RawPeer(target.p2p_port, source="127.0.0.2")
        except OSError:
            pytest.skip("cannot bind 127.0.0.2 here")
        assert peer.closed_by_remote(3)
        _still_serving(target, honest)
        assert len(target.call("getpeerinfo")) == 1
    finally:
        target.call("clearban")


def test_inbound_limit(tmp_path_factory: pytest.TempPathFactory) -> None:
    """--maxconnections 9 leaves one inbound slot: a second inbound peer evicts or is refused."""
    node = start_node(tmp_path_factory.mktemp("limit") / "n", ["--maxconnections", "9"])
    try:
        first = RawPeer(node.p2p_port)
        first.handshake()
        second = socket.create_connection(("127.0.0.1", node.p2p_port), timeout=5)
        wait_until(lambda: node.call("getconnectioncount") == 1, 5, "one inbound connection")
        second.close()
        first.close()
    finally:
        node.stop()
