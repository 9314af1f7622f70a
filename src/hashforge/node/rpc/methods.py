"""All RPC method tables, one module per domain, registered on a dispatcher for a running node."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import blockchain, control, mining, network, rawtx
from .server import RPCDispatcher

if TYPE_CHECKING:
    from ..service import Node


def register_all(dispatcher: RPCDispatcher, node: Node) -> None:
    tables: dict[str, Any] = {}
    tables.update(blockchain.methods(node))
    tables.update(mining.methods(node))
    tables.update(rawtx.methods(node))
    tables.update(network.methods(node))
    tables.update(control.methods(node, tables))
    dispatcher.register_all(tables)
