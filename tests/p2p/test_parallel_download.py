"""Headers-first sync from several peers at once, with Core's moving download window: a fresh node
syncs a chain from two honest sources (a hashforge node, and Bitcoin Core where it is here, else a
second hashforge node) and from a withholder, a tiny P2P server that completes the handshake and
serves headers but never sends a block. The sync completes, blocks come from both honest sources,
and the withholder, which ends up holding the window's first block, is dropped as a staller."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hashforge.consensus.block import Block, BlockHeader
from hashforge.consensus.params import REGTEST
from hashforge.node.p2p.framing import HEADER_SIZE, MessageHeader, frame_message
from hashforge.node.p2p.messages import (
    MAX_HEADERS_RESULTS,
    MSG_WITNESS_FLAG,
    Message,
    MsgGetdata,
    MsgGetheaders,
    MsgHeaders,
    MsgPing,
    MsgPong,
    MsgVerack,
    MsgVersion,
    decode_payload,
)
from tests.helpers.bitcoind import BITCOIND, BitcoinCore
from tests.helpers.chainbuild import make_block
from tests.helpers.nodeproc import NodeProcess, free_port

from .conftest import start_node, wait_until

BLOCKS = 400
WINDOW = 64  # Core's 1024 needs a chain of thousands of blocks to fill; the logic is the same
CORE_P2P_ARGS = ("-listen=1", "-bind=127.0.0.1", "-dnsseed=0", "-fixedseeds=0", "-listenonion=0", "-discover=0", "-natpmp=0")


def build_chain(n: int) -> list[Block]:
    """Blocks 1..n, one second apart and ending about now (a source whose tip is old is in initial
    block download itself, and Core does not answer getheaders then)."""
    genesis = REGTEST.genesis
    first_offset = int(time.time()) - n - genesis.header.time
    blocks: list[Block] = []
    parent = genesis
    for h in range(1, n + 1):
        parent = make_block(parent, h, time_offset=first_offset if h == 1 else 1)
        blocks.append(parent)
    return blocks


class Withholder:
    """A P2P peer on loopback that shakes hands, answers pings and getheaders from `headers`, takes
    getdata for blocks and never answers it. It accepts one connection only (later ones are closed
    at once, so the node cannot simply come back to it)."""

    def __init__(self, headers: list[BlockHeader], repeat: bool = False) -> None:
        """`repeat`: answer every getheaders with the first headers again, whatever it asks."""
        self.headers = headers
        self.repeat = repeat
        self.height_of = {REGTEST.genesis.hash: 0} | {h.hash: i + 1 for i, h in enumerate(headers)}
        self.blocks_asked = 0
        self.events: list[tuple[str, int]] = []  # ("headers", count sent) / ("getdata", blocks asked), in order
        self.connections = 0
        self.dropped = threading.Event()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Withholder:
        self._thread.start()
        assert self._ready.wait(10), "withholder did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.connections > 1:
            writer.close()
            return

        def send(msg: Message) -> None:
            writer.write(frame_message(REGTEST.message_start, msg))

        try:
            while True:
                header = MessageHeader.parse(REGTEST.message_start, await reader.readexactly(HEADER_SIZE))
                msg = decode_payload(header.command, await reader.readexactly(header.length))
                if isinstance(msg, MsgVersion):
                    send(MsgVersion(timestamp=int(time.time()), nonce=0x5EED, user_agent=b"/withholder/", start_height=len(self.headers)))
                    send(MsgVerack())
                elif isinstance(msg, MsgPing):
                    send(MsgPong(msg.nonce))
                elif isinstance(msg, MsgGetheaders):
                    start = 0 if self.repeat else next((self.height_of[h] for h in msg.locator if h in self.height_of), 0)
                    sent = self.headers[start : start + MAX_HEADERS_RESULTS]
                    self.events.append(("headers", len(sent)))
                    send(MsgHeaders(tuple(sent)))
                elif isinstance(msg, MsgGetdata):
                    asked = sum(1 for i in msg.inventory if i.type & ~MSG_WITNESS_FLAG == 2)
                    self.blocks_asked += asked
                    self.events.append(("getdata", asked))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            self.dropped.set()
        finally:
            writer.close()


@pytest.fixture
def chain() -> list[Block]:
    return build_chain(BLOCKS)


@contextlib.contextmanager
def honest_source(path: Path, blocks: list[Block], use_core: bool) -> Iterator[str]:
    """A node holding `blocks`, listening on loopback; yields its P2P address."""
    if use_core:
        port = free_port()
        with BitcoinCore(path, *CORE_P2P_ARGS, f"-port={port}") as core:
            for b in blocks:
                assert core.call("submitblock", b.serialize().hex()) is None
            yield f"127.0.0.1:{port}"
        return
    node = start_node(path)
    try:
        for b in blocks:
            assert node.call("submitblock", b.serialize().hex()) is None
        yield node.p2p_addr
    finally:
        node.stop()


def test_sync_from_several_peers_drops_a_staller(tmp_path: Path, chain: list[Block]) -> None:
    tip = chain[-1].hash_hex
    with (
        honest_source(tmp_path / "source-a", chain, use_core=False) as a,
        honest_source(tmp_path / "source-b", chain, use_core=BITCOIND is not None) as b,
        Withholder([blk.header for blk in chain]) as staller,
    ):
        args = ["--no-listen", "--connect", staller.addr, "--connect", a, "--connect", b]
        sync: NodeProcess = start_node(tmp_path / "sync", args, {"p2p_block_download_window": WINDOW})
        try:
            wait_until(lambda: sync.call("getbestblockhash") == tip, 120, "the sync to reach the tip")
            assert staller.blocks_asked > 0, "the withholder was never asked for a block"
            assert staller.dropped.wait(10), "the withholder is still connected"
            assert "stalling block download" in sync.log_path.read_text()
            blocks_from = {p["addr"]: p["bytesrecv_per_msg"].get("block", 0) for p in sync.call("getpeerinfo")}
            assert staller.addr not in blocks_from
            assert blocks_from.get(a, 0) > 0 and blocks_from.get(b, 0) > 0, f"blocks came from one peer only: {blocks_from}"
            assert sync.call("getblockcount") == BLOCKS
        finally:
            sync.stop()


def test_getpeerinfo_lists_the_heights_in_flight(tmp_path: Path, chain: list[Block]) -> None:
    """A peer that never sends the blocks asked of it holds them in flight: `inflight` lists their
    heights, the first ones of the chain, at most the per-peer limit (Core's 16)."""
    with Withholder([blk.header for blk in chain]) as staller:
        sync: NodeProcess = start_node(tmp_path / "sync", ["--no-listen", "--connect", staller.addr])
        try:
            def inflight() -> list[int]:
                peers = sync.call("getpeerinfo")
                return list(peers[0]["inflight"]) if peers else []

            wait_until(lambda: bool(inflight()), 60, "blocks in flight to the withholder")
            heights = inflight()
            assert heights == list(range(1, len(heights) + 1)) and len(heights) <= 16, heights
            assert staller.blocks_asked >= len(heights)
        finally:
            sync.stop()


def test_blocks_wait_for_the_header_chain() -> None:
    """While a peer's headers come in full messages (more follow), no block is asked for: the
    first getdata comes after the last, short, headers message (Core on a real network syncs
    headers to the minimum chain work before downloading blocks)."""
    n = 2 * MAX_HEADERS_RESULTS + 100
    headers = [blk.header for blk in build_chain(n)]
    with Withholder(headers) as peer, tempfile.TemporaryDirectory() as tmp:
        sync: NodeProcess = start_node(Path(tmp) / "sync", ["--no-listen", "--connect", peer.addr])
        try:
            wait_until(lambda: peer.blocks_asked > 0, 60, "a block to be asked for")
            assert sync.call("getblockchaininfo")["headers"] == n
        finally:
            sync.stop()
    first_getdata = next(i for i, (kind, _) in enumerate(peer.events) if kind == "getdata")
    sent = [count for kind, count in peer.events[:first_getdata] if kind == "headers"]
    assert sent[-1] < MAX_HEADERS_RESULTS and sum(sent) >= n, peer.events[: first_getdata + 1]


def test_a_peer_repeating_known_headers_does_not_hold_blocks(tmp_path: Path) -> None:
    """Blocks wait only for headers that move the best header on: a peer that answers every
    getheaders with the same full message of headers we know does not stop the sync."""
    n = MAX_HEADERS_RESULTS + 50
    chain = build_chain(n)
    with (
        honest_source(tmp_path / "source", chain, use_core=False) as source,
        Withholder([blk.header for blk in chain], repeat=True) as repeater,
    ):
        sync: NodeProcess = start_node(tmp_path / "sync", ["--no-listen", "--connect", repeater.addr, "--connect", source])
        try:
            wait_until(lambda: sync.call("getblockcount") == n, 120, "the sync to reach the tip")
            assert sum(1 for kind, _ in repeater.events if kind == "headers") >= 2, repeater.events
        finally:
            sync.stop()


def test_no_blocks_from_a_peer_below_the_minimum_chain_work(tmp_path: Path, chain: list[Block]) -> None:
    """Core's nMinimumChainWork: a peer whose best header has less work is never asked for a block
    (here one that knows only part of the chain), and the node is in initial block download until
    its own tip has that work; a peer above it serves the whole chain."""
    short = 250  # regtest: each block adds 2 to the chain work, genesis included
    minimum = 2 * (short + 1) + 2
    with (
        honest_source(tmp_path / "source", chain, use_core=False) as source,
        Withholder([blk.header for blk in chain[:short]]) as behind,
    ):
        args = ["--no-listen", "--connect", behind.addr, "--connect", source, "--minimumchainwork", f"{minimum:x}"]
        sync: NodeProcess = start_node(tmp_path / "sync", args)
        try:
            assert sync.call("getblockchaininfo")["initialblockdownload"] is True
            wait_until(lambda: sync.call("getblockcount") == BLOCKS, 120, "the sync to reach the tip")
            assert behind.events and behind.blocks_asked == 0, behind.events
            assert sync.call("getblockchaininfo")["initialblockdownload"] is False
        finally:
            sync.stop()
