"""A restarted node's new cookie reaches every request in flight, not only the first one to see the 401.

Two calls leave with the old cookie at the same time; the node answers both 401. The first re-reads
the cookie and retries; the second finds the cookie already re-read (nothing changed on disk since)
and must still retry with the new credentials rather than report "authorization failed".
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

from hashforge.rpcclient import AsyncRPCClient


async def _serve(password: list[str], seen: list[str]) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line)
                lower = {k.lower(): v for k, v in headers.items()}
                body = await reader.readexactly(int(lower.get("content-length", "0")))
                user_pass = base64.b64decode(lower["authorization"].split()[1]).decode()
                seen.append(user_pass)
                if user_pass != f"__cookie__:{password[0]}":
                    await asyncio.sleep(0.2)  # both requests are in flight before either 401 arrives
                    writer.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
                else:
                    req = json.loads(body)
                    reply = json.dumps({"result": 7, "error": None, "id": req["id"]}).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                                 + str(len(reply)).encode() + b"\r\n\r\n" + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_concurrent_calls_all_follow_the_new_cookie(tmp_path: Path) -> None:
    cookie = tmp_path / ".cookie"
    cookie.write_text("__cookie__:old")
    password = ["old"]
    seen: list[str] = []

    async def main() -> list[int]:
        server = await _serve(password, seen)
        port = server.sockets[0].getsockname()[1]
        client = AsyncRPCClient(f"http://127.0.0.1:{port}/", cookie=cookie, timeout=10)
        try:
            assert await client.call("getblockcount") == 7
            # the node restarts: a new password, a new cookie on disk
            password[0] = "new"
            cookie.write_text("__cookie__:new")
            return list(await asyncio.gather(client.call("getblockcount"), client.call("getblockcount")))
        finally:
            await client.aclose()
            server.close()
            await server.wait_closed()

    assert asyncio.run(main()) == [7, 7]
    # both left with the old cookie, both came back with the new one
    assert seen.count("__cookie__:old") == 3 and seen.count("__cookie__:new") == 2
