"""Serve the API for real (uvicorn on a free loopback port, in a thread) against a real node."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hashforge.api import ApiServer, ApiSettings, ComponentAPI, Components, EventBus, NodeGateway
from hashforge.rpcclient import AsyncRPCClient
from hashforge.services.keys import KeyStore
from tests.helpers.nodeproc import NodeProcess


class ServedApi:
    def __init__(self, server: ApiServer, components: Components, keys: KeyStore) -> None:
        self.server = server
        self.components = components
        self.keys = keys
        self._thread = threading.Thread(target=self._run, name="api-server", daemon=True)
        self.error: BaseException | None = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def bus(self) -> EventBus:
        return self.components.bus

    def _run(self) -> None:
        async def main() -> None:
            try:
                await self.server.serve()
            finally:
                await self.components.node.aclose()

        try:
            asyncio.run(main())
        except BaseException as e:  # surfaced by stop()
            self.error = e

    def start(self) -> ServedApi:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"API did not start: {self.error!r}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.stop()
        self._thread.join(15)
        assert not self._thread.is_alive(), "API server did not stop"
        self.keys.close()
        if self.error is not None:
            raise self.error


def serve(node: NodeProcess, datadir: Path, *extras: ComponentAPI | Callable[[EventBus], ComponentAPI],
          ops_dir: Path | None = None, ops_network: str = "regtest", **overrides: Any) -> ServedApi:
    """The API over `node`; each extra is a ComponentAPI, or a function of the bus that makes one;
    with `ops_dir`, the ops component too (on `ops_network`), as `hashforge api --ops-dir` attaches it."""
    values: dict[str, Any] = {
        "host": "127.0.0.1", "port": 0, "datadir": datadir, "node_rpc_url": node.url,
        "node_cookie": node.datadir / ".cookie", "tip_poll_s": 0.1, "rate_per_s": 10_000, "rate_burst": 10_000,
    }
    settings = ApiSettings(**{**values, **overrides})
    components = Components(
        node=NodeGateway(AsyncRPCClient(settings.node_rpc_url, cookie=settings.node_cookie, timeout=30)),
        bus=EventBus(settings.event_buffer),
    )
    for extra in extras:
        components.add(extra if isinstance(extra, ComponentAPI) else extra(components.bus))
    if ops_dir is not None:
        from hashforge.api.attach import ops_component
        from hashforge.consensus.params import get_params
        from hashforge.ops.gateway import OpsGateway

        components.add(ops_component(OpsGateway(ops_dir, get_params(ops_network), components)))
    keys = KeyStore(settings.keys_path)
    return ServedApi(ApiServer(settings, components, keys), components, keys).start()
