"""The generator owns the node RPC: templates (longpoll, tip polling, periodic refresh),
submitblock, validateaddress. Works with any Bitcoin Core-compatible backend.

New work reaches miners within `tip_poll_interval` (0.25 s) of a new tip even when the
backend's longpoll is slow or missing; a refresh every `refresh_interval` (30 s) picks up new
transactions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from hashforge.consensus.address import address_to_script
from hashforge.consensus.params import ChainParams
from hashforge.logs import Repeated
from hashforge.rpcclient import AsyncRPCClient, RPCClientError, RPCTransportError, submit_block

from .coins import gbt_request
from .config import StratifierConfig
from .errors import BackendError
from .template import Template

log = logging.getLogger(__name__)


class Generator:
    def __init__(self, rpc: AsyncRPCClient, cfg: StratifierConfig, params: ChainParams,
                 longpoll_rpc: AsyncRPCClient | None = None) -> None:
        self.rpc = rpc
        self.longpoll_rpc = longpoll_rpc
        self.cfg = cfg
        self.params = params
        self.gbt_request = gbt_request(params)
        self.on_template: Callable[[Template], object] | None = None
        self.decorate: Callable[[Template], Template] | None = None  # e.g. merged mining's aux chains
        self._best: str | None = None
        self._longpollid: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._refresh_lock = asyncio.Lock()
        self.submitted: list[tuple[str, Any]] = []
        self._repeated = Repeated(log)  # one counted line while the node is away, not one per poll

    async def template(self) -> Template:
        try:
            gbt = await self.rpc.call("getblocktemplate", self.gbt_request)
        except (RPCClientError, RPCTransportError) as e:
            raise BackendError(f"getblocktemplate: {e}") from e
        return Template.from_gbt(gbt)

    async def refresh(self) -> Template | None:
        async with self._refresh_lock:
            try:
                t = await self.template()
            except BackendError as e:
                self._repeated.warning("template", "%s", e)
                return None
            self._repeated.clear("template", "getblocktemplate: the node answers again")
            if self.decorate is not None:
                t = self.decorate(t)
            self._best = t.prev_hash[::-1].hex()
            self._longpollid = t.longpollid
            if self.on_template is not None:
                self.on_template(t)
            return t

    async def submit_block(self, block_hex: str) -> Any:
        """The node's answer; waits for a node that is down or restarting (a found block is never
        given up for a transport or auth failure). RPCClientError: the node's own rejection."""
        try:
            result = await submit_block(self.rpc, block_hex)
        except asyncio.CancelledError:  # the pool stops while the node is away: say so, loudly
            log.warning("a found block was not submitted (the pool is stopping and the node did not answer); "
                        "kept in unsent-blocks/ for the next start; header %s", block_hex[:160])
            raise
        self.submitted.append((block_hex[:160], result))
        log.info("submitblock: %s", "accepted" if result is None else result)
        # the tip moved: new work at once rather than at the next poll
        asyncio.get_running_loop().create_task(self.refresh())
        return result

    async def validate_address(self, address: str) -> bytes | None:
        """The scriptPubKey for `address` on this network, None if invalid (checked locally;
        `validate_address_remote` asks the node, as ckpool does)."""
        try:
            return address_to_script(address, self.params)
        except ValueError:
            return None

    async def validate_address_remote(self, address: str) -> bytes | None:
        info = await self.rpc.call("validateaddress", address)
        if not info or not info.get("isvalid"):
            return None
        return bytes.fromhex(info["scriptPubKey"])

    async def start(self) -> None:
        if await self.refresh() is None:
            raise BackendError("the node gave no block template")
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._poll_tip()), loop.create_task(self._periodic())]
        if self.longpoll_rpc is not None:
            self._tasks.append(loop.create_task(self._longpoll()))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _poll_tip(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.tip_poll_interval)
            try:
                best = await self.rpc.call("getbestblockhash")
            except (RPCClientError, RPCTransportError) as e:
                self._repeated.warning("tip", "node unreachable: %s", e)
                await asyncio.sleep(1.0)
                continue
            self._repeated.clear("tip", "node reachable again")
            if best != self._best:
                await self.refresh()

    async def _periodic(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.refresh_interval)
            await self.refresh()

    async def _longpoll(self) -> None:
        assert self.longpoll_rpc is not None
        while True:
            try:
                gbt = await self.longpoll_rpc.call(
                    "getblocktemplate", {**self.gbt_request, "longpollid": self._longpollid or ""}, timeout=600.0)
                t = Template.from_gbt(gbt)
            except (RPCClientError, RPCTransportError, BackendError) as e:
                log.debug("longpoll: %s", e)
                await asyncio.sleep(1.0)
                continue
            if t.prev_hash[::-1].hex() != self._best:
                await self.refresh()
