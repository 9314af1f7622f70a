"""Network RPCs (Bitcoin Core's names and shapes): getpeerinfo, getconnectioncount, addnode,
disconnectnode, getaddednodeinfo, getnettotals, getnodeaddresses, setban, listbanned, clearban,
setnetworkactive, ping. All run on the event loop, where the P2P state lives.

The node is `local` here: Core names addnode's and getaddednodeinfo's peer parameter `node`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..p2p.banman import parse_subnet
from .errors import RPCError, RPCErrorCode

if TYPE_CHECKING:
    from ..p2p import P2PNetwork
    from ..service import Node


def _net(local: Node) -> P2PNetwork:
    if local.p2p is None:
        raise RPCError(RPCErrorCode.CLIENT_P2P_DISABLED, "Error: Peer-to-peer functionality missing or disabled")
    return local.p2p


async def getpeerinfo(local: Node) -> list[dict[str, Any]]:
    """getpeerinfo: data about each connected network peer."""
    n = _net(local)
    return [n.peer_info(p) for p in sorted(n.peers.values(), key=lambda p: p.id) if not p.is_closed]


async def getconnectioncount(local: Node) -> int:
    """getconnectioncount: the number of connections to other nodes."""
    return _net(local).connection_counts()[0]


async def addnode(local: Node, node: str, command: str, v2transport: bool = False) -> None:
    """addnode "node" "add|remove|onetry": add or remove a peer from the added-node list, or try it once."""
    n = _net(local)
    if command not in ("add", "remove", "onetry"):
        raise RPCError(RPCErrorCode.MISC_ERROR, 'addnode "node" "command": command must be add, remove or onetry')
    if command == "onetry":
        try:
            await n.connman.onetry(node)
        except ValueError as e:
            raise RPCError(RPCErrorCode.INVALID_PARAMETER, str(e)) from None
        return
    if command == "add":
        if node in n.connman.added:
            raise RPCError(RPCErrorCode.CLIENT_NODE_ALREADY_ADDED, "Error: Node already added")
        try:
            n.connman.add_node(node)
        except ValueError as e:
            raise RPCError(RPCErrorCode.INVALID_PARAMETER, str(e)) from None
        return
    if not n.connman.remove_node(node):
        raise RPCError(RPCErrorCode.CLIENT_NODE_NOT_ADDED, "Error: Node could not be removed. It has not been added previously.")


async def disconnectnode(local: Node, address: str = "", nodeid: int | None = None) -> None:
    """disconnectnode ( "address" nodeid ): close the connection to a peer, by address or by id."""
    n = _net(local)
    if address and nodeid is not None:
        raise RPCError(RPCErrorCode.INVALID_PARAMS, "Only one of address and nodeid should be provided.")
    found = False
    for p in list(n.peers.values()):
        if p.is_closed:
            continue
        if (nodeid is not None and p.id == nodeid) or (address and address in (p.address, str(p.addr))):
            p.disconnect("disconnectnode RPC")
            found = True
    if not found:
        raise RPCError(RPCErrorCode.CLIENT_NODE_NOT_CONNECTED, "Node not found in connected nodes")


async def getaddednodeinfo(local: Node, node: str | None = None) -> list[dict[str, Any]]:
    """getaddednodeinfo ( "node" ): the added nodes and whether they are connected."""
    n = _net(local)
    entries = list(n.connman.added.values())
    if node is not None:
        entries = [e for e in entries if e.text == node]
        if not entries:
            raise RPCError(RPCErrorCode.CLIENT_NODE_NOT_ADDED, "Error: Node has not been added.")
    out = []
    for e in entries:
        peer = n.connman.added_connected(e)
        out.append(
            {
                "addednode": e.text,
                "connected": peer is not None,
                "addresses": [{"address": peer.address, "connected": "outbound"}] if peer is not None else [],
            }
        )
    return out


async def getnettotals(local: Node) -> dict[str, Any]:
    """getnettotals: bytes sent and received over all connections."""
    sent, recv = _net(local).totals()
    return {
        "totalbytesrecv": recv,
        "totalbytessent": sent,
        "timemillis": int(time.time() * 1000),
        "uploadtarget": {
            "timeframe": 86400,
            "target": 0,
            "target_reached": False,
            "serve_historical_blocks": True,
            "bytes_left_in_cycle": 0,
            "time_left_in_cycle": 0,
        },
    }


async def getnodeaddresses(local: Node, count: int = 1, network: str | None = None) -> list[dict[str, Any]]:
    """getnodeaddresses ( count "network" ): known addresses from the address book (0: all)."""
    if count < 0:
        raise RPCError(RPCErrorCode.INVALID_PARAMETER, "Address count out of range")
    book = _net(local).addrbook
    records = book.sample(len(book) if count == 0 else count)
    out = [
        {"time": r.time, "services": r.services, "address": r.addr.host, "port": r.port, "network": r.addr.network_name}
        for r in records
    ]
    return [o for o in out if network is None or o["network"] == network]


async def setban(local: Node, subnet: str, command: str, bantime: int = 0, absolute: bool = False) -> None:
    """setban "subnet" "add|remove" ( bantime absolute ): ban or unban an IP or subnet."""
    n = _net(local)
    if command not in ("add", "remove"):
        raise RPCError(RPCErrorCode.MISC_ERROR, 'setban "subnet" "command": command must be add or remove')
    try:
        net_ = parse_subnet(subnet)
    except ValueError:
        raise RPCError(RPCErrorCode.CLIENT_INVALID_IP_OR_SUBNET, "Error: Invalid IP/Subnet") from None
    if command == "add":
        if net_ in n.banman.bans:
            raise RPCError(RPCErrorCode.CLIENT_NODE_ALREADY_ADDED, "Error: IP/Subnet already banned")
        n.banman.ban(net_, bantime if bantime > 0 else n.settings.ban_time, absolute and bantime > 0)
        for p in list(n.peers.values()):
            if n.banman.is_banned(p.addr):
                p.disconnect("banned (setban)")
    elif not n.banman.unban(net_):
        raise RPCError(RPCErrorCode.CLIENT_INVALID_IP_OR_SUBNET, "Error: Unban failed. Requested address/subnet was not previously manually banned.")


async def listbanned(local: Node) -> list[dict[str, Any]]:
    """listbanned: the banned IPs and subnets."""
    now = int(time.time())
    return [
        {
            "address": str(e.subnet),
            "ban_created": e.created,
            "banned_until": e.until,
            "ban_duration": e.until - e.created,
            "time_remaining": max(0, e.until - now),
        }
        for e in _net(local).banman.list()
    ]


async def clearban(local: Node) -> None:
    """clearban: remove every ban."""
    _net(local).banman.clear()


async def setnetworkactive(local: Node, state: bool) -> bool:
    """setnetworkactive state: turn all P2P activity off or on."""
    n = _net(local)
    n.connman.network_active = state
    if not state:
        for p in list(n.peers.values()):
            p.disconnect("network deactivated (setnetworkactive)")
    return state


async def ping(local: Node) -> None:
    """ping: ask every peer for a pong (the result shows in getpeerinfo's pingtime)."""
    n = _net(local)
    for p in n.peers.values():
        if p.handshake_done and not p.ping_nonce:
            n.peerman.send_ping(p)


RPCS: dict[str, Callable[..., Any]] = {
    "getpeerinfo": getpeerinfo,
    "getconnectioncount": getconnectioncount,
    "addnode": addnode,
    "disconnectnode": disconnectnode,
    "getaddednodeinfo": getaddednodeinfo,
    "getnettotals": getnettotals,
    "getnodeaddresses": getnodeaddresses,
    "setban": setban,
    "listbanned": listbanned,
    "clearban": clearban,
    "setnetworkactive": setnetworkactive,
    "ping": ping,
}
