"""A Stratum client over a real WebSocket (one JSON message per text frame), for the bridge tests."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from hashforge.stratum import Job
from tests.pool.harness import MINER_ADDR


class WsClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.notes: list[dict[str, Any]] = []
        self._id = 0
        self.en1 = b""
        self.en2_size = 8
        self.difficulty = 1.0
        self.job: Job | None = None

    @classmethod
    async def connect(cls, port: int, origin: str | None = None, max_size: int | None = 1 << 20,
                      host: str | None = None) -> WsClient:
        """`host`: the name in the URL (so in the Host header), still reaching 127.0.0.1 (DNS rebinding)."""
        sock = socket.create_connection(("127.0.0.1", port), timeout=5) if host else None
        ws = await connect(f"ws://{host or '127.0.0.1'}:{port}/", origin=origin, max_size=max_size,  # type: ignore[arg-type]
                           compression=None, open_timeout=5, sock=sock)
        return cls(ws)

    async def send(self, frame: str | bytes) -> None:
        await self.ws.send(frame)

    async def read(self, timeout: float = 5.0) -> dict[str, Any]:
        try:
            frame = await asyncio.wait_for(self.ws.recv(), timeout)
        except ConnectionClosed:
            raise ConnectionError("closed") from None
        assert isinstance(frame, str), "the bridge sends text frames only"
        msg: dict[str, Any] = json.loads(frame)
        if msg.get("method") == "mining.notify":
            self.job = Job.from_notify(msg["params"])
        elif msg.get("method") == "mining.set_difficulty":
            self.difficulty = float(msg["params"][0])
        return msg

    async def call(self, method: str, params: list[Any], timeout: float = 5.0) -> dict[str, Any]:
        self._id += 1
        mid = self._id
        await self.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = await self.read(timeout)
            if msg.get("id") == mid and "method" not in msg:
                return msg
            self.notes.append(msg)

    async def login(self, user: str = MINER_ADDR + ".rig1") -> None:
        r = await self.call("mining.subscribe", ["wstest/1.0"])
        self.en1 = bytes.fromhex(r["result"][1])
        self.en2_size = r["result"][2]
        r = await self.call("mining.authorize", [user, "x"])
        assert r["result"] is True, r
        while self.job is None:
            await self.read()

    async def closed(self, timeout: float = 5.0) -> int | None:
        """Waits for the server to close; the close code it sent."""
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), timeout)
        except ConnectionClosed as e:
            return e.rcvd.code if e.rcvd is not None else None

    async def close(self) -> None:
        await self.ws.close()
