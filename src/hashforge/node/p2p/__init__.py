"""Bitcoin P2P networking for the hashforge node: wire messages (messages.py, compact.py,
netaddr.py, framing.py), connections (peer.py, connman.py), message handling (processing.py,
blocksync.py, txrelay.py), the address book, bans, orphans, and the facade `P2PNetwork`."""

from __future__ import annotations

from .network import P2PNetwork
from .settings import P2PSettings

__all__ = ["P2PNetwork", "P2PSettings"]
