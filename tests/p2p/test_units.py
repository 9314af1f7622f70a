"""Unit tests of the P2P building blocks: ban list, address book, orphan pool, and the chain-side
view (locators, getheaders answers, download planning) on a real regtest chain."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from hashforge.consensus.tx import OutPoint, Transaction, TxIn, TxOut
from hashforge.node.p2p.addrbook import AddrBook
from hashforge.node.p2p.banman import BanMan, parse_subnet
from hashforge.node.p2p.chainview import ChainView
from hashforge.node.p2p.netaddr import AddrRecord, NetAddr
from hashforge.node.p2p.orphans import OrphanPool
from hashforge.node.p2p.settings import P2PSettings
from tests.helpers.regtest import RegtestEnv


def test_banman_persists_and_expires(tmp_path: Path) -> None:
    now = [1_000_000.0]
    path = tmp_path / "banlist.json"
    bans = BanMan(path, clock=lambda: now[0])
    bans.ban(parse_subnet("10.0.0.0/8"), 100)
    bans.ban(parse_subnet("::ffff:192.0.2.1"), 50)
    assert bans.is_banned(NetAddr.from_host("10.2.3.4"))
    assert bans.is_banned(NetAddr.from_host("192.0.2.1"))
    assert not bans.is_banned(NetAddr.from_host("11.0.0.1"))
    again = BanMan(path, clock=lambda: now[0])
    assert [str(e.subnet) for e in again.list()] == ["10.0.0.0/8", "192.0.2.1/32"]
    now[0] += 60
    assert [str(e.subnet) for e in again.list()] == ["10.0.0.0/8"]
    again.discourage(NetAddr.from_host("8.8.8.8"))
    assert again.is_discouraged(NetAddr.from_host("8.8.8.8"))
    assert not BanMan(path, clock=lambda: now[0]).is_discouraged(NetAddr.from_host("8.8.8.8"))  # memory only
    with pytest.raises(ValueError):
        parse_subnet("300.1.1.1")


def test_addrbook_persists(tmp_path: Path) -> None:
    path = tmp_path / "peers.json"
    book = AddrBook(path)
    now = int(time.time())
    recs = [AddrRecord(now - 10, 9, NetAddr.from_host(f"8.8.{i}.1"), 8333) for i in range(5)]
    assert book.add(recs) == 5 and book.add(recs[:2]) == 0
    book.good(NetAddr.from_host("127.0.0.1"), 18444, 0x409)
    book.save()
    loaded = AddrBook(path)
    assert len(loaded) == 6
    assert loaded.select(set(), routable_only=True) is not None
    picked = {loaded.select(set(), routable_only=True).port for _ in range(20)}  # type: ignore[union-attr]
    assert picked == {8333}  # the loopback entry is never picked for automatic dialling
    assert len(loaded.sample(3)) == 3


def _tx(prev: bytes, n: int = 0, outs: int = 1) -> Transaction:
    return Transaction(2, (TxIn(OutPoint(prev, n)),), tuple(TxOut(1000, b"\x51") for _ in range(outs)))


def test_orphan_pool() -> None:
    now = [0.0]
    pool = OrphanPool(max_orphans=3, clock=lambda: now[0])
    parent = _tx(b"\x01" * 32, outs=2)
    kids = [_tx(parent.txid, 0), _tx(parent.txid, 1)]
    for k in kids:
        assert pool.add(k, peer_id=1)
    assert {o.tx for o in pool.children_of(parent)} == set(kids)
    assert pool.add(_tx(b"\x02" * 32), peer_id=2)
    pool.remove_for_peer(2)
    assert len(pool) == 2
    for i in range(5):
        pool.add(_tx(bytes([i + 10]) * 32), peer_id=3)
    assert len(pool) == 3  # evicted at random down to the limit
    now[0] += 21 * 60
    pool.limit()
    assert len(pool) == 0


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> RegtestEnv:
    return RegtestEnv.create(tmp_path_factory.mktemp("view") / "chain", 30)


def test_chainview_headers_and_locator(env: RegtestEnv) -> None:
    view = ChainView(env.chain)
    loc = view.locator()
    assert loc[0] == env.chain.tip.hash and loc[-1] == env.chain.active[0].hash
    assert len(loc) < 30
    after = view.headers_after([env.chain.active[10].hash], b"\x00" * 32)
    assert [h.hash for h in after] == [e.hash for e in env.chain.active[11:]]
    stop = env.chain.active[15].hash
    assert view.headers_after([env.chain.active[10].hash], stop)[-1].hash == stop
    assert view.headers_after([], stop)[0].hash == stop
    assert view.headers_to_announce(env.chain.tip, env.chain.active[-3]) == [e.header for e in env.chain.active[-2:]]
    assert view.headers_to_announce(env.chain.tip, env.chain.active[5]) is None  # too many: inv instead


def test_download_plan_window_and_staller(env: RegtestEnv, tmp_path: Path) -> None:
    # a fresh chain that knows all the headers but no blocks
    fresh = RegtestEnv.open(tmp_path / "fresh", env.clock)
    try:
        view = ChainView(fresh.chain)
        out = view.accept_headers([e.header for e in env.chain.active[1:]])
        assert out.error is None and out.new == 30 and out.best is not None
        best = out.best.hash
        plan = view.plan_download(best, frozenset(), 16, 1024)
        assert plan.blocks == [e.hash for e in env.chain.active[1:17]] and plan.extends_tip
        plan2 = view.plan_download(best, frozenset(plan.blocks), 16, 1024)
        assert plan2.blocks == [e.hash for e in env.chain.active[17:31]]
        # a window of 8 blocked behind block 1 in flight elsewhere: the staller is named
        blocked = view.plan_download(best, frozenset(e.hash for e in env.chain.active[1:9]), 16, 8)
        assert blocked.blocks == [] and blocked.staller == env.chain.active[1].hash
        # unconnecting and non-continuous headers are reported, not accepted
        assert view.accept_headers([env.chain.active[5].header, env.chain.active[7].header]).non_continuous
    finally:
        fresh.close()


def test_settings_from_config() -> None:
    cfg = SimpleNamespace(
        listen=False, bind=["127.0.0.1"], connect=[], addnode=["1.2.3.4"], max_connections=20, p2p_port=1234,
        extra={"p2p_handshake_timeout": 2, "p2p_dial_local": True, "other": 1},
    )
    s = P2PSettings.from_node_config(cfg)
    assert (s.listen, s.bind, s.addnode, s.port, s.max_inbound, s.handshake_timeout, s.dial_local) == (
        False, ["127.0.0.1"], ["1.2.3.4"], 1234, 12, 2.0, True,
    )
