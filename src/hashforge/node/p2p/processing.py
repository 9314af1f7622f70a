"""Message handling for one peer (Core's PeerManager, the parts not about blocks or transactions):
the version handshake, keep-alive, address gossip, feature negotiation and misbehaviour.

Event-loop only. Each peer's messages are handled one at a time, in order, by that peer's task;
block and transaction messages go to BlockSync and TxRelay.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import TYPE_CHECKING

from hashforge import __version__

from .compact import CMPCT_VERSION, MsgBlocktxn, MsgCmpctblock, MsgGetblocktxn, MsgSendcmpct
from .errors import FramingError, MessageDecodeError
from .framing import MessageHeader, check_payload
from .messages import (
    MIN_PEER_PROTO_VERSION,
    MSG_CMPCT_BLOCK,
    MSG_TX,
    MSG_WITNESS_FLAG,
    MSG_WTX,
    NODE_NETWORK,
    NODE_NETWORK_LIMITED,
    NODE_WITNESS,
    PROTOCOL_VERSION,
    SENDHEADERS_VERSION,
    SHORT_IDS_BLOCKS_VERSION,
    WTXID_RELAY_VERSION,
    Message,
    MsgAddr,
    MsgAddrv2,
    MsgBlock,
    MsgFeefilter,
    MsgGetaddr,
    MsgGetdata,
    MsgGetheaders,
    MsgHeaders,
    MsgInv,
    MsgMempool,
    MsgNotfound,
    MsgPing,
    MsgPong,
    MsgSendaddrv2,
    MsgSendheaders,
    MsgTx,
    MsgVerack,
    MsgVersion,
    MsgWtxidrelay,
    decode_payload,
)
from .netaddr import AddrRecord, NetAddr
from .peer import Peer

if TYPE_CHECKING:
    from .network import P2PNetwork

log = logging.getLogger(__name__)

USER_AGENT = f"/hashforge:{__version__}/".encode()
DISCOURAGE_THRESHOLD = 100
MAX_ADDR_RELAY_PEERS = 2


class PeerManager:
    def __init__(self, net: P2PNetwork) -> None:
        self.net = net

    # --- the per-peer task -------------------------------------------------------------------

    async def run(self, peer: Peer) -> None:
        try:
            if not peer.inbound:
                await self.send_version(peer)
            while not peer.is_closed:
                for header, payload in await peer.read_messages():
                    if peer.is_closed:
                        break
                    await self.handle_raw(peer, header, payload)
                    await peer.drain()
        except FramingError as e:
            peer.disconnect(str(e))
        except asyncio.IncompleteReadError:
            peer.disconnect("connection closed by peer")
        except ConnectionError as e:
            peer.disconnect(f"connection error: {e}")
        except TimeoutError:
            peer.disconnect("timeout (inactive, slow message or full send buffer)")
        except asyncio.CancelledError:
            peer.disconnect("shutting down")
            raise
        except Exception:  # a bug in a handler costs this peer, never the node
            log.exception("peer=%d: unexpected error", peer.id)
            peer.disconnect("internal error")
        finally:
            peer.disconnect(peer.disconnect_reason or "closed")
            await self.net.peer_closed(peer)

    async def handle_raw(self, peer: Peer, header: MessageHeader, payload: bytes) -> None:
        # Blocks we asked for are bounded by the download window, not by the message rate: in
        # initial sync a peer sends more than max_msgs_per_second of them, and dropping one
        # stalls the sync.
        requested_block = header.command == b"block" and bool(peer.in_flight)
        if not requested_block and not peer.msg_bucket.take(time.monotonic()):
            self.misbehaving(peer, 1, "message rate limit")
            return
        try:
            check_payload(header, payload)
            msg = decode_payload(header.command, payload)
        except MessageDecodeError as e:
            self.misbehaving(peer, 10, f"bad message: {e}")
            return
        if msg is None:
            return  # unknown message types are ignored
        await self.dispatch(peer, msg, payload)

    async def dispatch(self, peer: Peer, msg: Message, payload: bytes) -> None:
        if isinstance(msg, MsgVersion):
            await self.on_version(peer, msg)
            return
        if not peer.version_received:
            self.misbehaving(peer, 1, f"{msg.command.decode()} before version")
            return
        if not peer.verack_received:
            if isinstance(msg, MsgVerack):
                await self.on_verack(peer)
            elif isinstance(msg, MsgWtxidrelay):
                peer.wtxid_relay = peer.version >= WTXID_RELAY_VERSION
            elif isinstance(msg, MsgSendaddrv2):
                peer.addrv2 = True
            return  # Core ignores anything else before verack
        blocks, txs = self.net.blocks, self.net.txs
        match msg:
            case MsgPing():
                peer.send(MsgPong(msg.nonce))
            case MsgPong():
                self.on_pong(peer, msg)
            case MsgHeaders():
                await blocks.on_headers(peer, msg)
            case MsgGetheaders():
                await blocks.on_getheaders(peer, msg)
            case MsgBlock():
                await blocks.on_block(peer, msg.block, payload)
            case MsgCmpctblock():
                await blocks.on_cmpctblock(peer, msg)
            case MsgBlocktxn():
                await blocks.on_blocktxn(peer, msg)
            case MsgGetblocktxn():
                await blocks.on_getblocktxn(peer, msg)
            case MsgTx():
                await txs.on_tx(peer, msg.tx)
            case MsgInv():
                await self.on_inv(peer, msg)
            case MsgGetdata():
                await self.on_getdata(peer, msg)
            case MsgNotfound():
                blocks.on_notfound(peer, msg)
                txs.on_notfound(peer, msg)
            case MsgMempool():
                await txs.on_mempool(peer)
            case MsgAddr() | MsgAddrv2():
                self.on_addr(peer, msg.addrs)
            case MsgGetaddr():
                self.on_getaddr(peer)
            case MsgSendheaders():
                peer.send_headers = True
            case MsgSendcmpct():
                if msg.version == CMPCT_VERSION:
                    peer.cmpct_version = CMPCT_VERSION
                    peer.cmpct_hb_to = msg.announce
            case MsgFeefilter():
                if 0 <= msg.feerate <= 21_000_000 * 100_000_000:
                    peer.fee_filter = msg.feerate
            case MsgWtxidrelay() | MsgSendaddrv2():
                peer.disconnect(f"{msg.command.decode()} received after verack")
            case MsgVerack():
                self.misbehaving(peer, 1, "duplicate verack")
            case _:
                pass  # getblocks and other legacy messages: ignored

    # --- handshake ---------------------------------------------------------------------------

    async def send_version(self, peer: Peer) -> None:
        net = self.net
        _, height = await net.call(net.view.tip_info)
        nonce = random.getrandbits(64)
        net.local_nonces.add(nonce)
        peer.version_nonce = nonce
        peer.send(
            MsgVersion(
                version=PROTOCOL_VERSION,
                services=net.local_services,
                timestamp=int(time.time()),
                addr_recv=AddrRecord(0, 0, peer.addr, peer.port),
                addr_from=AddrRecord(0, net.local_services, NetAddr(), 0),
                nonce=nonce,
                user_agent=USER_AGENT,
                start_height=height,
                relay=True,
            )
        )
        peer.version_sent = True

    async def on_version(self, peer: Peer, msg: MsgVersion) -> None:
        if peer.version_received:
            self.misbehaving(peer, 1, "duplicate version")
            return
        if msg.nonce and msg.nonce in self.net.local_nonces and peer.inbound:
            peer.disconnect("connected to self")
            return
        if msg.version < MIN_PEER_PROTO_VERSION:
            peer.disconnect(f"obsolete protocol version {msg.version}")
            return
        if not peer.inbound and not peer.manual:
            wanted = NODE_WITNESS
            if not msg.services & (NODE_NETWORK | NODE_NETWORK_LIMITED) or msg.services & wanted != wanted:
                peer.disconnect(f"peer lacks the services we need ({msg.services:#x})")
                return
        peer.version_received = True
        peer.version = min(msg.version, PROTOCOL_VERSION)
        peer.services = msg.services
        peer.user_agent = msg.user_agent.decode("utf-8", errors="replace")
        peer.start_height = msg.start_height
        peer.relay_txs = msg.relay
        peer.time_offset = msg.timestamp - int(time.time())
        peer.addr_local = str(msg.addr_recv.addr) + f":{msg.addr_recv.port}" if msg.addr_recv.port else ""
        if peer.inbound:
            await self.send_version(peer)
        if peer.version >= WTXID_RELAY_VERSION:
            peer.send(MsgWtxidrelay())
        peer.send(MsgSendaddrv2())
        peer.send(MsgVerack())

    async def on_verack(self, peer: Peer) -> None:
        peer.verack_received = True
        net = self.net
        log.info(
            "new %s peer=%d %s version=%d %s height=%d", peer.conn_type, peer.id, peer.address, peer.version,
            peer.user_agent, peer.start_height,
        )
        if peer.version >= SENDHEADERS_VERSION:
            peer.send(MsgSendheaders())
        if peer.version >= SHORT_IDS_BLOCKS_VERSION and peer.services & NODE_WITNESS:
            peer.send(MsgSendcmpct(False, CMPCT_VERSION))
        peer.send(MsgFeefilter(net.min_fee_filter))
        self.send_ping(peer)
        if not peer.inbound:
            peer.send(MsgGetaddr())
            net.addrbook.good(peer.addr, peer.port, peer.services)
        peer.next_inv_send = time.monotonic() + random.random()
        await net.blocks.on_connected(peer)

    # --- keep-alive --------------------------------------------------------------------------

    def send_ping(self, peer: Peer) -> None:
        peer.ping_nonce = random.getrandbits(64) or 1
        peer.ping_sent = time.monotonic()
        peer.send(MsgPing(peer.ping_nonce))

    def on_pong(self, peer: Peer, msg: MsgPong) -> None:
        if peer.ping_nonce and msg.nonce == peer.ping_nonce:
            rtt = time.monotonic() - peer.ping_sent
            peer.ping_time = rtt
            peer.min_ping = rtt if peer.min_ping is None else min(peer.min_ping, rtt)
            peer.ping_nonce = 0

    def check_timeouts(self, peer: Peer, now: float) -> None:
        """Called about once a second for every peer."""
        s = peer.settings
        if not peer.handshake_done:
            if now - peer.opened > s.handshake_timeout:
                peer.disconnect("version handshake timeout")
            return
        if peer.ping_nonce and now - peer.ping_sent > s.ping_timeout:
            peer.disconnect("ping timeout")
        elif not peer.ping_nonce and now - peer.ping_sent > s.ping_interval:
            self.send_ping(peer)

    # --- inventory dispatch -------------------------------------------------------------------

    async def on_inv(self, peer: Peer, msg: MsgInv) -> None:
        block_hashes = []
        tx_invs = []
        for inv in msg.inventory:
            t = inv.type & ~MSG_WITNESS_FLAG
            if t == 2:
                block_hashes.append(inv.hash)
            elif t in (MSG_TX, MSG_WTX):
                tx_invs.append(inv)
        if block_hashes:
            await self.net.blocks.on_block_inv(peer, block_hashes)
        if tx_invs:
            await self.net.txs.on_inv(peer, tx_invs)

    async def on_getdata(self, peer: Peer, msg: MsgGetdata) -> None:
        blocks = [i for i in msg.inventory if i.type & ~MSG_WITNESS_FLAG in (2, MSG_CMPCT_BLOCK)]
        txs = [i for i in msg.inventory if i.type & ~MSG_WITNESS_FLAG in (MSG_TX, MSG_WTX)]
        if txs:
            await self.net.txs.serve(peer, txs)
        if blocks:
            await self.net.blocks.serve(peer, blocks)

    # --- addresses ---------------------------------------------------------------------------

    def on_getaddr(self, peer: Peer) -> None:
        if not peer.inbound or peer.getaddr_answered:
            return  # Core answers inbound peers only, once (fingerprinting)
        peer.getaddr_answered = True
        records = self.net.addrbook.sample(1000)
        self.send_addrs(peer, records)

    def send_addrs(self, peer: Peer, records: list[AddrRecord]) -> None:
        if peer.addrv2:
            if records:
                peer.send(MsgAddrv2(tuple(records)))
        else:
            v1 = tuple(r for r in records if r.v1_compatible)
            if v1:
                peer.send(MsgAddr(v1))
        for r in records:
            peer.addr_known.add(r.serialize_v2()[4:])

    def on_addr(self, peer: Peer, addrs: tuple[AddrRecord, ...]) -> None:
        net = self.net
        now = time.monotonic()
        accepted = []
        for r in addrs:
            if not peer.addr_bucket.take(now):
                peer.stats.addr_rate_limited += 1
                continue
            peer.stats.addr_processed += 1
            peer.addr_known.add(r.serialize_v2()[4:])
            if r.addr.is_routable or net.settings.dial_local:
                accepted.append(r)
        if accepted:
            net.addrbook.add(accepted, source=peer.address)
        # Relay small, fresh announcements (a node announcing itself) to a couple of peers.
        fresh = [r for r in accepted if abs(r.time - time.time()) < 600]
        if len(addrs) <= 10 and fresh:
            others = [p for p in net.peers.values() if p is not peer and p.handshake_done]
            for other in random.sample(others, min(MAX_ADDR_RELAY_PEERS, len(others))):
                other.addr_to_send.extend(r for r in fresh if r.serialize_v2()[4:] not in other.addr_known)

    def flush_addrs(self, peer: Peer) -> None:
        if peer.addr_to_send:
            records, peer.addr_to_send = peer.addr_to_send[:1000], []
            self.send_addrs(peer, records)

    # --- misbehaviour ------------------------------------------------------------------------

    def misbehaving(self, peer: Peer, howmuch: int, reason: str) -> None:
        peer.misbehavior += howmuch
        log.info("peer=%d %s misbehaving (+%d = %d): %s", peer.id, peer.address, howmuch, peer.misbehavior, reason)
        if peer.misbehavior < DISCOURAGE_THRESHOLD or peer.is_closed:
            return
        if peer.manual:
            peer.disconnect(f"misbehaving manual peer ({reason}); not discouraged")
        elif peer.addr.is_local:
            peer.disconnect(f"misbehaving local peer ({reason}); not discouraged")
        else:
            self.net.banman.discourage(peer.addr)
            peer.disconnect(f"misbehaving ({reason}); discouraged")
