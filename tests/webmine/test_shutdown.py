"""Pool shutdown: the WebSocket port stops accepting at the same moment as the Stratum TCP port
(PoolService.stop), while open browser sessions still get the shutdown's client.reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from hashforge.pool.config import Scheme
from hashforge.pool.service import PoolService
from tests.helpers.nodeproc import NodeProcess
from tests.pool.test_end_to_end import BURN, addr, config

from .wsclient import WsClient


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    n = NodeProcess(tmp_path_factory.mktemp("node") / "regtest", "regtest").start()
    n.call("generatetoaddress", 5, BURN)
    yield n
    n.stop()


def test_ws_port_refuses_connections_as_soon_as_stop_begins(node: NodeProcess, tmp_path: Path) -> None:
    async def main() -> None:
        cfg = config(node, tmp_path, Scheme.SOLO, None, 11)
        cfg = replace(cfg, connector=replace(cfg.connector, ws_port=0, ws_host="127.0.0.1"))
        svc = PoolService(cfg, maintenance_interval=3600)
        await svc.start()
        stopping: asyncio.Task[None] | None = None
        try:
            assert svc.websocket is not None
            ws_port, tcp_port = svc.websocket.bound_port, svc.stratum_port
            c = await WsClient.connect(ws_port)
            await c.login(addr(0x5151) + ".browser")
            stopping = asyncio.create_task(svc.stop(reconnect=("127.0.0.1", 3333)))
            while any(s.is_serving() for s in svc.connector.servers):  # the TCP port has stopped accepting
                await asyncio.sleep(0)
            assert not stopping.done()  # still shutting down (notice sent, shares being flushed)
            for port in (tcp_port, ws_port):
                with pytest.raises(ConnectionRefusedError):
                    _, w = await asyncio.open_connection("127.0.0.1", port)
                    w.close()
            while True:  # the open session was not cut off at that point: it hears where to go
                msg = await c.read()
                if msg.get("method") == "client.reconnect":
                    assert msg["params"] == ["127.0.0.1", 3333, 0]
                    break
            await asyncio.wait_for(stopping, 20)
        finally:
            if stopping is None:
                await svc.stop()

    asyncio.run(asyncio.wait_for(main(), 60))
