"""`OpsGateway`: the ops component as the API holds it — its directory, the chain's params, the
other components (to read the pool, miner, wallet and node), and per-area services built once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from . import DB_FILE
from .schema import check_ops

if TYPE_CHECKING:
    from hashforge.consensus.params import ChainParams
    from hashforge.services.registry import Components

T = TypeVar("T")


class OpsGateway:
    def __init__(self, ops_dir: Path, params: ChainParams, components: Components) -> None:
        self.dir = ops_dir
        check_ops(ops_dir / DB_FILE)  # at start: a file a newer hashforge wrote is refused (a ValueError)
        self.params = params
        self.components = components
        self._services: dict[str, Any] = {}
        self._closers: list[Callable[[], Awaitable[None] | None]] = []

    @property
    def db_path(self) -> Path:
        return self.dir / DB_FILE

    def service(self, name: str, build: Callable[[OpsGateway], T]) -> T:
        """The area's service object (`alerts`, `ledger`, ...), built on first use."""
        if name not in self._services:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._services[name] = build(self)
        return self._services[name]  # type: ignore[no-any-return]

    def on_close(self, closer: Callable[[], Awaitable[None] | None]) -> None:
        self._closers.append(closer)

    async def run(self) -> None:
        """Background work for the API's lifetime: the alert evaluator."""
        from .alerts import run_alerts

        await run_alerts(self)

    async def aclose(self) -> None:
        for closer in reversed(self._closers):
            result = closer()
            if asyncio.iscoroutine(result):
                await result
