"""Issue 17 item 8 on the miner: 5,000 nested brackets to the cgminer API over real TCP get
STATUS=E "Invalid JSON"; the same from a pool on the miner's Stratum connection is a protocol error
(log one line, reconnect, mine on), never a RecursionError that kills the pool's task."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from hashforge.miner.api import MinerAPI

from .helpers import Running, make_miner, run, stratum, until
from .stratum_server import StratumTestServer

NEST = "[" * 5000 + "]" * 5000


def _assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    for r in caplog.records:
        assert r.exc_info is None, (r.name, r.getMessage())
        assert "RecursionError" not in r.getMessage(), r.getMessage()


async def _ask(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return raw


def test_cgminer_api_answers_deep_json_with_invalid_json(caplog: pytest.LogCaptureFixture) -> None:
    async def go() -> None:
        server = await StratumTestServer(difficulty=1e-4).start()
        miner = make_miner([stratum(0, server.url)])
        api = MinerAPI(miner, "127.0.0.1:0", ())
        port = await api.start()
        try:
            for request in ('{"command":"summary","parameter":' + NEST + "}", "{" + '"a":{' * 5000 + "}" * 5001):
                raw = await _ask(port, request.encode())
                assert raw.endswith(b"\x00")
                st = json.loads(raw[:-1])["STATUS"][0]
                assert st["STATUS"] == "E" and st["Msg"] == "Invalid JSON", st
            raw = await _ask(port, b'{"command":"version"}')
            assert json.loads(raw[:-1])["STATUS"][0]["STATUS"] == "S"  # still serving
        finally:
            await api.stop()
            await server.stop()

    with caplog.at_level(logging.DEBUG):
        run(go())
    _assert_no_traceback(caplog)


def test_deep_json_from_the_pool_is_a_protocol_error(caplog: pytest.LogCaptureFixture) -> None:
    async def go() -> None:
        server = await StratumTestServer(difficulty=1e-4).start()
        miner = make_miner([stratum(0, server.url)])
        async with Running(miner):
            await until(lambda: len(server.accepted()) >= 1, what="a share")
            await server.broadcast(b'{"id":null,"method":"mining.notify","params":' + NEST.encode() + b"}\n")
            await until(lambda: server.connections >= 2, what="reconnect")
            n = len(server.accepted())
            await until(lambda: len(server.accepted()) > n, what="mining again")
        await server.stop()

    with caplog.at_level(logging.DEBUG):
        run(go())
    _assert_no_traceback(caplog)
    assert any("pool 0" in r.getMessage() and "nested deeper" in r.getMessage() for r in caplog.records)
