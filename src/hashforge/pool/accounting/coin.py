"""Coin logic: what the chain says about a found block. Separate from the schemes, so a coin
with other maturity rules (or a merged-mined chain) swaps this, not the accounting."""

from __future__ import annotations

from typing import Protocol

from hashforge.rpcclient import AsyncRPCClient, RPCClientError


class ChainView(Protocol):
    async def tip_height(self) -> int: ...

    async def hash_at(self, height: int) -> str | None:
        """The active chain's block hash (display hex) at `height`, None above the tip."""
        ...


class NodeChainView:
    def __init__(self, rpc: AsyncRPCClient) -> None:
        self.rpc = rpc

    async def tip_height(self) -> int:
        return int(await self.rpc.call("getblockcount"))

    async def hash_at(self, height: int) -> str | None:
        try:
            return str(await self.rpc.call("getblockhash", height))
        except RPCClientError:
            return None
