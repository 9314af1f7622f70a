"""The WebSocket<->Stratum bridge over real WebSockets to a real pool (connector, stratifier,
recorder on SQLite): the happy path, and bad input handled exactly as on the TCP port."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from hashforge.pool.config import PoolConfig
from hashforge.pool.websocket import WebSocketBridge, loopback_origins, origin_allowed
from hashforge.stratum import StratumErrorCode
from tests.pool.harness import (
    MINER_ADDR,
    Client,
    Harness,
    grind,
    pool_config,
    running_pool,
    submit_params,
)

from .wsclient import WsClient

USER = MINER_ADDR + ".rig1"


def run(coro: object) -> None:
    asyncio.run(asyncio.wait_for(coro, 60))  # type: ignore[arg-type]


@asynccontextmanager
async def bridged(tmp: Path, cfg: PoolConfig | None = None,
                  origins: tuple[str, ...] = ()) -> AsyncIterator[tuple[Harness, WebSocketBridge]]:
    async with running_pool(tmp, cfg) as h:
        bridge = WebSocketBridge(h.connector, "127.0.0.1", 0, origins)
        await bridge.start()
        try:
            yield h, bridge
        finally:
            await bridge.stop()


def disconnects(h: Harness) -> dict[str, float]:
    out: dict[str, float] = {}
    for metric in h.stratifier.metrics.disconnects.collect():
        for s in metric.samples:
            if s.name.endswith("_total"):
                out[s.labels["reason"]] = s.value
    return out


def test_subscribe_authorize_submit_accepted(tmp_path: Path) -> None:
    async def main() -> None:
        async with bridged(tmp_path) as (h, bridge):
            c = await WsClient.connect(bridge.bound_port)
            await c.login()
            assert c.job is not None and len(c.en1) == 4 and c.en2_size == 8
            en2 = (7).to_bytes(c.en2_size, "big")
            ntime, nonce = grind(c.job, c.en1, en2, c.difficulty)
            r = await c.call("mining.submit", submit_params(USER, c.job, en2, ntime, nonce))
            assert r["result"] is True and r["error"] is None, r
            # a share under the target that is not good enough is rejected
            ntime, bad = grind(c.job, c.en1, en2, c.difficulty, want_low=True)
            r = await c.call("mining.submit", submit_params(USER, c.job, en2, ntime, bad))
            assert r["result"] is not True and r["error"][0] == StratumErrorCode.LOW_DIFFICULTY_SHARE
            assert h.share_count() == 1
            # an ordinary pool session, with the browser's real peer address
            [proto] = h.connector.protocols
            assert proto.session is not None and proto.session.peer.startswith("127.0.0.1:")
            assert proto.session.payout_worker is not None and proto.session.payout_worker.name == "rig1"
            assert proto.session.accepted == 1 and proto.session.rejected == 1
            # a TCP miner and the WebSocket miner get distinct extranonces from the same pool
            t = await Client.connect(h.port)
            await t.login()
            assert t.en1 != c.en1
            t.close()
            await c.close()
            await asyncio.sleep(0.1)
            assert not h.connector.protocols  # the session ended with the WebSocket

    run(main())


async def _malformed_sequence(send: Any, read: Any, reconnect: Any) -> list[dict[str, Any]]:
    """The same bad input, sent by a TCP or a WebSocket client; the replies it got."""
    replies = []
    await send(b"this is not json")
    replies.append(await read())
    await send(b"[1,2]")
    replies.append(await read())
    await send(b'{"method": 5}')
    replies.append(await read())
    await reconnect()
    await send(b'{"id":1,"method":"mining.subscribe","params":["' + b"a" * 17000 + b'"]}')
    replies.append(await read())
    return replies


def test_malformed_frames_rejected_like_tcp(tmp_path: Path) -> None:
    async def main() -> None:
        cfg = pool_config(tmp_path, max_protocol_errors=3)
        # TCP first, then the same sequence over the bridge on a fresh pool: same replies, same reasons
        results = []
        for kind in ("tcp", "ws"):
            sub = tmp_path / kind
            sub.mkdir()
            async with bridged(sub, pool_config(sub, max_protocol_errors=3)) as (h, bridge):
                state: dict[str, Any] = {}

                async def reconnect(kind: str = kind, h: Harness = h, bridge: WebSocketBridge = bridge,
                                    state: dict[str, Any] = state) -> None:
                    old = state.get("c")
                    if kind == "tcp":
                        if old is not None:
                            assert await old.reader.read() == b""  # the pool hung up
                        state["c"] = await Client.connect(h.port)
                    else:
                        if old is not None:
                            assert await old.closed() == 1008
                        state["c"] = await WsClient.connect(bridge.bound_port)

                async def send(data: bytes, kind: str = kind, state: dict[str, Any] = state) -> None:
                    if kind == "tcp":
                        await state["c"].send_raw(data + b"\n")
                    else:
                        await state["c"].send(data.decode())

                async def read(state: dict[str, Any] = state) -> dict[str, Any]:
                    msg: dict[str, Any] = await state["c"].read()
                    return msg

                await reconnect()
                replies = await _malformed_sequence(send, read, reconnect)
                await reconnect()  # waits for the over-long line's disconnect
                await asyncio.sleep(0.1)
                results.append((replies, disconnects(h), h.share_count()))
        (tcp_replies, tcp_disc, _), (ws_replies, ws_disc, ws_shares) = results
        assert [r["error"][0] for r in ws_replies] == [StratumErrorCode.OTHER] * 4
        assert "exceeds 16384 bytes" in ws_replies[3]["error"][1]
        assert ws_replies == tcp_replies
        assert ws_disc == tcp_disc == {"too many malformed lines": 1.0, "line too long": 1.0}
        assert ws_shares == 0
        assert cfg.connector.max_line_bytes == 16384

    run(main())


def test_binary_and_huge_frames(tmp_path: Path) -> None:
    async def main() -> None:
        async with bridged(tmp_path, pool_config(tmp_path, max_protocol_errors=2)) as (h, bridge):
            c = await WsClient.connect(bridge.bound_port)
            await c.send(b'{"id":1,"method":"mining.subscribe","params":[]}')  # binary frame
            msg = await c.read()
            assert msg["error"][0] == StratumErrorCode.OTHER and "binary" in msg["error"][1]
            r = await c.call("mining.subscribe", [])  # the connection stays after one
            assert r["error"] is None
            await c.send(b"\x00\x01")
            assert "binary" in (await c.read())["error"][1]
            assert await c.closed() == 1008  # second malformed frame: max_protocol_errors
            # a frame far over the limit is cut off by the WebSocket layer (1009), same reason
            c = await WsClient.connect(bridge.bound_port)
            await c.send("x" * 200_000)
            assert await c.closed() == 1009
            await asyncio.sleep(0.1)
            assert disconnects(h) == {"too many malformed lines": 1.0, "line too long": 1.0}
            # a message with a trailing newline is fine (one line per frame)
            c = await WsClient.connect(bridge.bound_port)
            await c.send('{"id":5,"method":"mining.subscribe","params":[]}\n')
            assert (await c.read())["id"] == 5
            await c.close()

    run(main())


def test_share_flood_rate_limited_then_disconnected(tmp_path: Path) -> None:
    async def main() -> None:
        cfg = pool_config(tmp_path, submit_rate=5.0, submit_burst=5.0, max_rate_violations=20)
        async with bridged(tmp_path, cfg) as (h, bridge):
            c = await WsClient.connect(bridge.bound_port)
            await c.login()
            assert c.job is not None
            frame = json.dumps({"id": 9, "method": "mining.submit",
                                "params": [USER, c.job.job_id, "00" * 8, "00000000", "00000000"]})
            for _ in range(200):
                try:
                    await c.send(frame)
                except Exception:
                    break
            errors = []
            try:
                while True:
                    msg = await c.read()
                    if msg.get("id") == 9:
                        errors.append(msg["error"][1])
            except ConnectionError:
                pass
            assert "rate limited" in errors
            assert len(errors) < 200  # disconnected before the flood was served
            assert h.share_count() == 0
            assert disconnects(h) == {"share flood": 1.0}
            c2 = await WsClient.connect(bridge.bound_port)  # the bridge is still fine
            await c2.login()
            await c2.close()

    run(main())


def test_per_ip_limit_counts_both_ports(tmp_path: Path) -> None:
    async def main() -> None:
        async with bridged(tmp_path, pool_config(tmp_path, max_connections_per_ip=2)) as (h, bridge):
            t = await Client.connect(h.port)
            w = await WsClient.connect(bridge.bound_port)
            await w.call("mining.subscribe", [])
            extra = await WsClient.connect(bridge.bound_port)
            assert await extra.closed() is None  # refused at accept: dropped without a close frame
            assert disconnects(h).get("connection limit") == 1.0
            t.close()
            await w.close()

    run(main())


def test_origin_checked(tmp_path: Path) -> None:
    async def main() -> None:
        async with bridged(tmp_path) as (h, bridge):
            port = bridge.bound_port
            with pytest.raises(InvalidStatus) as e:
                await WsClient.connect(port, origin="https://evil.example")
            assert e.value.response.status_code == 403
            with pytest.raises(InvalidStatus):  # another loopback port: not the default
                await WsClient.connect(port, origin="http://127.0.0.1:8420")
            ok = await WsClient.connect(port, origin=f"http://localhost:{port}")  # loopback, this port
            assert (await ok.call("mining.subscribe", []))["error"] is None
            await ok.close()
            assert disconnects(h) == {"origin not allowed": 2.0}
        sub = tmp_path / "explicit"
        sub.mkdir()
        async with bridged(sub, pool_config(sub), origins=("https://pool.example",)) as (h, bridge):
            port = bridge.bound_port
            with pytest.raises(InvalidStatus):
                await WsClient.connect(port, origin="http://127.0.0.1:8420")
            ok = await WsClient.connect(port, origin="https://pool.example")
            await ok.close()

    run(main())


def test_dns_rebinding_page_is_refused(tmp_path: Path) -> None:
    """Issue 17 item 6: a page on rebind.evil.example whose name now resolves to 127.0.0.1 sends
    that name in both Host and Origin; it used to pass because the two matched."""
    async def main() -> None:
        dashboard = "http://127.0.0.1:8420"
        for sub, origins in (("default", ()), ("dashboard", (dashboard, "http://localhost:8420"))):
            (tmp_path / sub).mkdir()
            async with bridged(tmp_path / sub, pool_config(tmp_path / sub), origins=origins) as (h, bridge):
                port = bridge.bound_port
                for origin in (f"http://rebind.evil.example:{port}", "http://rebind.evil.example"):
                    with pytest.raises(InvalidStatus) as e:
                        await WsClient.connect(port, origin=origin, host="rebind.evil.example")
                    assert e.value.response.status_code == 403
                allowed = dashboard if origins else f"http://127.0.0.1:{port}"
                ok = await WsClient.connect(port, origin=allowed)  # 101: the dashboard's /mine page
                assert (await ok.call("mining.subscribe", []))["error"] is None
                await ok.close()
                assert disconnects(h) == {"origin not allowed": 2.0}

    run(main())


@pytest.mark.parametrize(("origin", "allowed", "ok"), [
    (None, (), True),  # not a browser
    (None, ("https://a.example",), True),
    ("http://127.0.0.1:8420", ("http://127.0.0.1:8420",), True),
    ("http://127.0.0.1:8420/", ("http://127.0.0.1:8420",), True),
    ("HTTP://LOCALHOST:8420", ("http://localhost:8420",), True),
    ("http://localhost:8420", ("http://127.0.0.1:8420",), False),
    ("null", ("http://127.0.0.1:8420",), False),
    ("https://a.example", (), False),  # nothing allowed (the bridge fills in its loopback default)
    ("https://b.example", ("https://a.example",), False),
    ("https://b.example", ("*",), True),
])
def test_origin_rules(origin: str | None, allowed: tuple[str, ...], ok: bool) -> None:
    assert origin_allowed(origin, allowed) is ok


def test_default_origins_are_loopback_on_the_port() -> None:
    assert set(loopback_origins(8422)) == {f"{s}://{h}:8422" for s in ("http", "https")
                                          for h in ("127.0.0.1", "localhost", "[::1]")}
