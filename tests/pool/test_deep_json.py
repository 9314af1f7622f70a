"""Issue 17 item 8 on the pool's listeners: a 10 KB line of 5,000 nested brackets, over real TCP to
the Stratum port and over a real WebSocket to the bridge, gets Stratum error 20 and the connection's
normal malformed-line policy, with no RecursionError or transport traceback in the logs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from hashforge.stratum import StratumErrorCode
from tests.pool.harness import Client, pool_config, running_pool
from tests.webmine.test_bridge import bridged, disconnects
from tests.webmine.wsclient import WsClient

DEEP = b'{"id":1,"method":"mining.subscribe","params":' + b"[" * 5000 + b"]" * 5000 + b"}"


def run(coro: object) -> None:
    asyncio.run(asyncio.wait_for(coro, 60))  # type: ignore[arg-type]


def _assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    for r in caplog.records:
        text = r.getMessage()
        assert r.exc_info is None, (r.name, text)
        assert "RecursionError" not in text and "Fatal error" not in text and "Unhandled exception" not in text, text


def _check_error(reply: dict[str, Any]) -> None:
    assert reply["result"] is None
    assert reply["error"][0] == StratumErrorCode.OTHER and "nested deeper" in reply["error"][1], reply
    assert reply["error"][2] is None


def test_deeply_nested_line_on_the_stratum_port(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        async with running_pool(tmp_path, pool_config(tmp_path, max_protocol_errors=3)) as h:
            c = await Client.connect(h.port)
            await c.send_raw(DEEP + b"\n")
            _check_error(await c.read())
            # the connection stays: one malformed line is counted, not fatal
            await c.login()
            await c.send_raw(DEEP + b"\n")
            _check_error(await c.read())
            await c.send_raw(DEEP + b"\n")
            _check_error(await c.read())
            assert await asyncio.wait_for(c.reader.read(), 5) == b""  # the third one: disconnect, as for bad JSON
            assert disconnects(h) == {"too many malformed lines": 1.0}

    with caplog.at_level(logging.DEBUG):
        run(main())
    _assert_no_traceback(caplog)


def test_deeply_nested_frame_on_the_websocket_bridge(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        async with bridged(tmp_path, pool_config(tmp_path, max_protocol_errors=2)) as (h, bridge):
            c = await WsClient.connect(bridge.bound_port)
            await c.send(DEEP.decode())
            _check_error(await c.read())
            await c.login()
            await c.send(DEEP.decode())
            _check_error(await c.read())
            assert await c.closed() == 1008  # the pool's policy closed it
            assert disconnects(h) == {"too many malformed lines": 1.0}

    with caplog.at_level(logging.DEBUG):
        run(main())
    _assert_no_traceback(caplog)
