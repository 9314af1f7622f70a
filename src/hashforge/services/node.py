"""The API's view of the node: Bitcoin Core-compatible JSON-RPC only (ours or bitcoind).

`NodeGateway` turns RPC answers into typed records and RPC failures into service errors; headers are
immutable, so they are cached by hash. `TipWatcher` polls the best block hash and publishes a
`BlockEvent` for every block that connects (works against any Core-compatible node: no ZMQ needed).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hashforge.logs import Repeated
from hashforge.rpcclient import AsyncRPCClient, RPCClientError, RPCTransportError

from .errors import NodeFailed, NodeUnavailable, NotFound
from .events import AlertEvent, BlockEvent, EventBus
from .metrics import ApiMetrics

log = logging.getLogger(__name__)

COIN = 100_000_000
RPC_NOT_FOUND = (-5, -8)  # RPC_INVALID_ADDRESS_OR_KEY, RPC_INVALID_PARAMETER (height out of range)


def to_sat(value: Any) -> int:
    """A JSON number of coins (as the RPC prints it, 8 decimals) to integer satoshis, exactly."""
    return int((Decimal(str(value)) * COIN).to_integral_value())


@dataclass(frozen=True)
class Header:
    hash: str
    height: int
    version: int
    prev: str | None
    merkleroot: str
    time: int
    mediantime: int
    bits: str
    nonce: int
    difficulty: float
    chainwork: int
    n_tx: int

    @classmethod
    def from_rpc(cls, h: dict[str, Any]) -> Header:
        return cls(
            hash=h["hash"], height=int(h["height"]), version=int(h["version"]), prev=h.get("previousblockhash"),
            merkleroot=h["merkleroot"], time=int(h["time"]), mediantime=int(h.get("mediantime", h["time"])),
            bits=h["bits"], nonce=int(h["nonce"]), difficulty=float(h["difficulty"]),
            chainwork=int(h["chainwork"], 16), n_tx=int(h.get("nTx", 0)),
        )


@dataclass(frozen=True)
class BlockBody:
    header: Header
    size: int
    stripped_size: int
    weight: int
    txids: tuple[str, ...]
    confirmations: int


class NodeGateway:
    """Chain reads through JSON-RPC. One instance per app; safe to share between requests."""

    HEADER_CACHE = 20_000
    BLOCK_CACHE = 32

    def __init__(self, rpc: AsyncRPCClient) -> None:
        self.rpc = rpc
        self._headers: collections.OrderedDict[str, Header] = collections.OrderedDict()
        self._blocks: collections.OrderedDict[str, BlockBody] = collections.OrderedDict()
        self._repeated = Repeated(log)  # the tip watcher asks every second: one counted line while the node is away

    async def call(self, method: str, *params: Any, not_found: str | None = None) -> Any:
        try:
            result = await self.rpc.call(method, *params)
        except RPCTransportError as e:
            self._repeated.warning("unreachable", "node unreachable: %s", e)
            raise NodeUnavailable("The node did not answer; it may be starting or stopped.") from None
        except RPCClientError as e:
            if not_found is not None and e.code in RPC_NOT_FOUND:
                raise NotFound(not_found) from None
            log.warning("node RPC %s error %s: %s", method, e.code, e.message)
            raise NodeFailed(f"The node refused {method} (code {e.code}).") from None
        self._repeated.clear("unreachable", "node reachable again")
        return result

    async def aclose(self) -> None:
        await self.rpc.aclose()

    # --- headers and blocks --------------------------------------------------------------------
    async def header(self, block_hash: str) -> Header:
        block_hash = block_hash.lower()
        cached = self._headers.get(block_hash)
        if cached is not None:
            self._headers.move_to_end(block_hash)
            return cached
        raw = await self.call("getblockheader", block_hash, True, not_found=f"No block {block_hash}.")
        header = Header.from_rpc(raw)
        self._headers[block_hash] = header
        if len(self._headers) > self.HEADER_CACHE:
            self._headers.popitem(last=False)
        return header

    async def best_hash(self) -> str:
        return str(await self.call("getbestblockhash"))

    async def tip(self) -> Header:
        return await self.header(await self.best_hash())

    async def hash_at(self, height: int) -> str:
        return str(await self.call("getblockhash", height, not_found=f"No block at height {height}."))

    async def resolve(self, ref: str) -> str:
        """A block hash from a height or a hash (64 hex digits)."""
        return await self.hash_at(int(ref)) if len(ref) != 64 else ref.lower()

    async def headers_down(self, height: int, count: int) -> list[Header]:
        """Up to `count` active-chain headers from `height` downwards (walks prev links: cache-friendly)."""
        out: list[Header] = []
        if height < 0 or count <= 0:
            return out
        header = await self.header(await self.hash_at(height))
        out.append(header)
        while len(out) < count and header.prev is not None:
            header = await self.header(header.prev)
            out.append(header)
        return out

    async def block(self, block_hash: str) -> BlockBody:
        block_hash = block_hash.lower()
        raw = await self.call("getblock", block_hash, 1, not_found=f"No block {block_hash}.")
        confirmations = int(raw.get("confirmations", 0))
        cached = self._blocks.get(block_hash)
        if cached is None:
            header = Header.from_rpc(raw)
            self._headers.setdefault(block_hash, header)
            cached = BlockBody(
                header, int(raw["size"]), int(raw.get("strippedsize", raw["size"])), int(raw["weight"]),
                tuple(raw["tx"]), confirmations,
            )
            self._blocks[block_hash] = cached
            if len(self._blocks) > self.BLOCK_CACHE:
                self._blocks.popitem(last=False)
        return BlockBody(cached.header, cached.size, cached.stripped_size, cached.weight, cached.txids, confirmations)

    # --- transactions and mempool --------------------------------------------------------------
    async def transaction(self, txid: str) -> dict[str, Any]:
        raw: dict[str, Any] = await self.call(
            "getrawtransaction", txid.lower(), True, not_found=f"No transaction {txid.lower()} (txindex or mempool)."
        )
        return raw

    async def mempool_entry(self, txid: str) -> dict[str, Any] | None:
        try:
            entry: dict[str, Any] = await self.call("getmempoolentry", txid.lower(), not_found="not in mempool")
        except NotFound:
            return None
        return entry

    async def mempool_info(self) -> dict[str, Any]:
        info: dict[str, Any] = await self.call("getmempoolinfo")
        return info

    async def mempool_entries(self) -> dict[str, dict[str, Any]]:
        entries: dict[str, dict[str, Any]] = await self.call("getrawmempool", True)
        return entries

    async def mining_info(self) -> dict[str, Any]:
        info: dict[str, Any] = await self.call("getmininginfo")
        return info

    async def network_hashps(self, window: int, height: int = -1) -> float:
        return float(await self.call("getnetworkhashps", window, height))

    async def chain_name(self) -> str:
        info = await self.call("getblockchaininfo")
        return str(info.get("chain", "unknown"))


class TipWatcher:
    """Polls the node's best block hash; publishes block events (and an alert when the node is lost)."""

    MAX_EVENTS_PER_MOVE = 50

    def __init__(
        self, node: NodeGateway, bus: EventBus, metrics: ApiMetrics, interval: float,
        on_tip: Callable[[Header], Awaitable[None]] | None = None,
    ) -> None:
        self.node = node
        self.bus = bus
        self.metrics = metrics
        self.interval = interval
        self.on_tip = on_tip
        self.last: Header | None = None
        self.node_up: bool | None = None
        self._repeated = Repeated(log)

    async def run(self) -> None:
        while True:
            try:
                await self.poll()
                self._repeated.clear("poll")
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self._repeated.failure("poll", "tip watcher poll failed", e)
            await asyncio.sleep(self.interval)

    async def poll(self) -> None:
        try:
            best = await self.node.best_hash()
            moved = self.last is None or best != self.last.hash
            new = await self._connected(best) if moved else []
        except (NodeUnavailable, NodeFailed):
            self._set_up(False)
            return
        self._set_up(True)
        for header, reorg in new:
            self.bus.publish(BlockEvent(
                height=header.height, hash=header.hash, block_time=header.time, tx_count=header.n_tx,
                difficulty=header.difficulty, reorg=reorg,
            ))
        if new:
            tip = new[-1][0]
            self.metrics.chain_height.set(tip.height)
            self.metrics.chain_difficulty.set(tip.difficulty)
            if self.on_tip is not None:
                await self.on_tip(tip)

    async def _connected(self, best: str) -> list[tuple[Header, bool]]:
        """The blocks that connected since the last poll, oldest first (none on the first poll)."""
        tip = await self.node.header(best)
        last, self.last = self.last, tip
        if last is None:
            self.metrics.chain_height.set(tip.height)
            self.metrics.chain_difficulty.set(tip.difficulty)
            return []
        chain = [tip]
        while chain[-1].height > last.height + 1 and len(chain) < self.MAX_EVENTS_PER_MOVE and chain[-1].prev:
            chain.append(await self.node.header(chain[-1].prev))
        parent = chain[-1].prev
        reorg = parent != last.hash
        if reorg:
            return [(tip, True)]
        return [(h, False) for h in reversed(chain)]

    def _set_up(self, up: bool) -> None:
        self.metrics.node_up.set(1 if up else 0)
        if self.node_up is not None and up != self.node_up:
            if up:
                alert = AlertEvent(level="info", source="node", message="The node answers again.")
            else:
                alert = AlertEvent(level="critical", source="node", message="The node stopped answering RPC.")
            self.bus.publish(alert)
        self.node_up = up
