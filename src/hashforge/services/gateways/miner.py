"""A miner over the cgminer API (TCP, default 127.0.0.1:4028): one JSON command per connection,
a reply with a STATUS array and the named section, ended by a NUL byte (cgminer's api.c; our
`hashforge mine` speaks it, as do cgminer, bfgminer and most ASIC firmware).

Privileged commands (switchpool, enablepool, disablepool) need the miner to allow them to
this API's address: `--api-allow W:127.0.0.1` (every command), or, as `hashforge up` does, only these
(`--api-groups P:switchpool:enablepool:disablepool:* --api-allow P:127.0.0.1`); otherwise the miner
answers "Access denied" and the call is a 502 problem that says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from hashforge import jsonlimits

from ..errors import ComponentFailed, ComponentUnavailable, Conflict, NotFound

log = logging.getLogger(__name__)

MAX_REPLY = 4 * 1024 * 1024
# cgminer message codes we tell apart (api.c MSG_*)
ACCESS_DENIED = 45
INVALID_POOL_ID = 26
MISSING_POOL_ID = 25
CANNOT_DISABLE_LAST = 51


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` or `[V6]:PORT` -> (host, port); ValueError otherwise."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"the miner API address must be HOST:PORT, not {text!r}")
    return host, int(port)


@dataclass(frozen=True)
class MinerReply:
    status: str  # S, I, W, E
    code: int
    message: str
    body: list[dict[str, Any]]


class MinerGateway:
    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    async def _exchange(self, request: bytes) -> bytes:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
        except (OSError, TimeoutError):
            raise ComponentUnavailable(f"The miner's API at {self.address} did not answer; is the miner running?") from None
        try:
            writer.write(request)
            await writer.drain()
            data = b""
            while len(data) < MAX_REPLY:
                chunk = await asyncio.wait_for(reader.read(65536), self.timeout)
                if not chunk:
                    break
                data += chunk
                if data.endswith(b"\x00"):
                    break
            return data
        except (OSError, TimeoutError):
            raise ComponentUnavailable(f"The miner's API at {self.address} stopped answering.") from None
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def command(self, command: str, parameter: str = "", section: str | None = None) -> MinerReply:
        """Runs one cgminer command; errors (STATUS E) become service errors, I/W/S replies are returned."""
        raw = await self._exchange(json.dumps({"command": command, "parameter": parameter}).encode())
        try:
            reply = jsonlimits.loads(raw.rstrip(b"\x00").decode("utf-8", "replace"))
            st = reply["STATUS"][0]
            status, code, msg = str(st["STATUS"]), int(st.get("Code", 0)), str(st.get("Msg", ""))
            body = reply.get(section, []) if section else []
            if not isinstance(body, list) or not all(isinstance(r, dict) for r in body):
                raise TypeError
        except (ValueError, KeyError, IndexError, TypeError):
            raise ComponentFailed(f"The miner answered {command!r} with something that is not cgminer JSON.") from None
        if status == "E":
            one_line = " ".join(msg.split())[:300]
            if code == ACCESS_DENIED:
                raise ComponentFailed(f"The miner refused: {one_line} (allow this API's address that command: "
                                      "--api-allow W:ADDR, or a group of it with --api-groups).")
            if code in (INVALID_POOL_ID, MISSING_POOL_ID):
                raise NotFound(f"The miner says: {one_line}.")
            if code == CANNOT_DISABLE_LAST:
                raise Conflict(f"The miner says: {one_line}.")
            if section is not None and body == []:
                return MinerReply(status, code, one_line, [])  # e.g. "No pools", "No CPUs": an empty list
            raise ComponentFailed(f"The miner refused {command!r}: {one_line}.")
        return MinerReply(status, code, msg, body)

    async def summary(self) -> dict[str, Any]:
        rows = (await self.command("summary", section="SUMMARY")).body
        if not rows:
            raise ComponentFailed("The miner's summary was empty.")
        return rows[0]

    async def devices(self) -> list[dict[str, Any]]:
        return (await self.command("devs", section="DEVS")).body

    async def pools(self) -> list[dict[str, Any]]:
        return (await self.command("pools", section="POOLS")).body

    async def version(self) -> dict[str, Any]:
        rows = (await self.command("version", section="VERSION")).body
        return rows[0] if rows else {}

    async def pool_action(self, action: str, pool_id: int) -> MinerReply:
        assert action in ("switchpool", "enablepool", "disablepool")
        return await self.command(action, str(pool_id))
