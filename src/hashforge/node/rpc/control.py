"""Control and utility RPCs: uptime, stop, help, getnetworkinfo, validateaddress, getaddressinfo."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hashforge import __version__
from hashforge.consensus.address import AddressError, address_to_script, validate_address

from .errors import RPCError, RPCErrorCode
from .format import amount, script_descriptor, script_type

if TYPE_CHECKING:
    from ..service import Node

PROTOCOL_VERSION = 70016


def _version_number() -> int:
    major, minor, patch = (int(x) for x in __version__.split(".")[:3])
    return major * 10000 + minor * 100 + patch


async def stop(node: Node) -> str:
    node.request_stop()
    return "hashforge node stopping"


async def uptime(node: Node) -> int:
    return int(time.time() - node.started_at)


async def help(node: Node, command: str | None = None) -> str:
    assert node.rpc is not None
    all_methods = node.rpc.dispatcher.methods
    if command is None:
        return "\n".join(sorted(all_methods))
    handler = all_methods.get(command)
    if handler is None:
        return f"help: unknown command: {command}"
    return (handler.__doc__ or command).strip()


async def getnetworkinfo(node: Node) -> dict[str, Any]:
    total, inbound, outbound = node.p2p.connection_counts() if node.p2p is not None else (0, 0, 0)
    return {
        "version": _version_number(),
        "subversion": f"/hashforge:{__version__}/",
        "protocolversion": PROTOCOL_VERSION,
        "localservices": "0000000000000409",
        "localservicesnames": ["NETWORK", "WITNESS", "NETWORK_LIMITED"],
        "localrelay": True,
        "timeoffset": 0,
        "networkactive": node.p2p.connman.network_active if node.p2p is not None else True,
        "connections": total,
        "connections_in": inbound,
        "connections_out": outbound,
        "networks": [],
        "relayfee": amount(node.mempool.min_relay_fee.sat_per_kvb),
        "incrementalfee": amount(node.mempool.incremental_relay_fee.sat_per_kvb),
        "localaddresses": [],
        "warnings": [],
    }


def validateaddress(node: Node, address: str) -> dict[str, Any]:
    return dict(validate_address(address, node.params))


def getaddressinfo(node: Node, address: str) -> dict[str, Any]:
    try:
        script = address_to_script(address, node.params)
    except AddressError as e:
        raise RPCError(RPCErrorCode.INVALID_ADDRESS_OR_KEY, f"Invalid address: {e}") from None
    info = dict(validate_address(address, node.params))
    info.pop("isvalid", None)
    info.update(
        {
            "desc": script_descriptor(script, node.params),
            "ismine": False,
            "solvable": False,
            "iswatchonly": False,
            "ischange": False,
            "labels": [],
            "script_type": script_type(script),
        }
    )
    return info


RPCS: dict[str, Callable[..., Any]] = {
    "stop": stop,
    "uptime": uptime,
    "help": help,
    "getnetworkinfo": getnetworkinfo,
    "validateaddress": validateaddress,
    "getaddressinfo": getaddressinfo,
}
