"""A Bitcoin Core-compatible JSON-RPC server over HTTP/1.1 (asyncio, hand-written for Core's quirks).

What real clients rely on: JSON-RPC 1.0 and 2.0, batches, requests without an `id`, positional or
named params, Basic auth (user/password or the `.cookie` file), keep-alive or one connection per
call, and header lines ending in a bare LF. HTTP status codes follow Core: 401 without valid
credentials; for 1.0 requests 404/500 on errors, for 2.0 and batches always 200.

Limits against a local attacker (Core's -rpcthreads, -rpcworkqueue, -rpcservertimeout):
- credentials are checked on the headers, before the body is read; a refused request's body is
  read and thrown away (bounded memory) so that its sender still reads the 401;
- a request's headers and body must all arrive within `timeout` seconds of the connection
  starting to wait for it, however slowly they trickle in (a reply not read within `timeout`
  drops the connection too);
- at most `threads` requests run at once, the rest wait; at most `threads + work_queue`
  connections are open: one more is answered 503 and closed;
- a reply that ends the connection (400, 413, 503) is followed by a short bounded linger that
  drops what the client still sends, so it reads the reply instead of a reset;
- each wrong password costs 0.25 s, one after another across all connections (a lock), so
  parallel guessing is no faster than serial guessing. A missing Authorization header is answered
  at once, as in Core: it guesses nothing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import inspect
import json
import logging
import re
import secrets
import types
import typing
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from hashforge import jsonlimits
from hashforge.logs import Repeated

from .errors import RPCError, RPCErrorCode

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 32 * 1024 * 1024  # a 4 MB block as hex in submitblock fits easily
COOKIE_USER = "__cookie__"
AUTH_FAILURE_DELAY = 0.25  # as Core: slows password guessing
DISCARD_CHUNK = 64 * 1024
LINGER_SECONDS = 1.0
REFUSAL_LINGER_SECONDS = 0.5
LINGER_BYTES = 1024 * 1024

Handler = Callable[..., Any]


@dataclass(frozen=True)
class RPCLimits:
    """Core's -rpcthreads, -rpcworkqueue and -rpcservertimeout, with Core's defaults."""

    threads: int = 16  # requests executed at once
    work_queue: int = 64  # requests (connections) waiting beyond those
    timeout: float = 30.0  # seconds for a whole request (headers and body) to arrive

    def __post_init__(self) -> None:
        if self.threads < 1 or self.work_queue < 0 or not self.timeout > 0:
            raise ValueError("rpc threads must be at least 1, work queue 0 or more, timeout positive")

    @property
    def max_connections(self) -> int:
        return self.threads + self.work_queue


@dataclass
class Credentials:
    """Accepted user:password pairs (rpcuser/rpcpassword and the cookie)."""

    pairs: list[tuple[str, str]]

    def check(self, header: str | None) -> bool:
        if not header or not header.lower().startswith("basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        ok = False
        for u, p in self.pairs:
            # compare every pair in constant time so timing reveals nothing
            ok |= hmac.compare_digest(u.encode(), user.encode()) & hmac.compare_digest(p.encode(), password.encode())
        return ok


def write_cookie(datadir: Path) -> tuple[Path, str]:
    """Creates `.cookie` (mode 0600) like Core; returns its path and the password."""
    password = secrets.token_hex(32)
    path = datadir / ".cookie"
    tmp = datadir / ".cookie.tmp"
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_text(f"{COOKIE_USER}:{password}")
    tmp.replace(path)
    return path, password


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _accepts(annotation: Any, value: Any) -> bool:
    """Does a JSON value fit a handler parameter's annotation (int, str, bool, float, list, dict, unions)?"""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(a, value) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if origin is not None:
        annotation = origin
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if annotation is list:
        return isinstance(value, list)
    if annotation is dict:
        return isinstance(value, dict)
    return True


_EXPECTED = {bool: "bool", int: "number", float: "number", str: "string", list: "array", dict: "object"}


class RPCDispatcher:
    """Maps method names to handlers and applies Core's parameter rules."""

    def __init__(self, executor: Executor | None = None) -> None:
        self.methods: dict[str, Handler] = {}
        self.executor = executor

    def register(self, name: str, handler: Handler) -> None:
        self.methods[name] = handler

    def register_all(self, table: dict[str, Handler]) -> None:
        for name, handler in table.items():
            self.register(name, handler)

    def _bind(self, handler: Handler, params: Any) -> tuple[list[Any], dict[str, Any]]:
        sig = inspect.signature(handler)
        hints = typing.get_type_hints(handler)
        plist = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if params is None:
            params = []
        if isinstance(params, list):
            if len(params) > len(plist):
                raise RPCError(RPCErrorCode.MISC_ERROR, f"too many parameters: {len(params)} given, at most {len(plist)}")
            bound = dict(zip((p.name for p in plist), params, strict=False))
        elif isinstance(params, dict):
            names = {p.name for p in plist}
            unknown = [k for k in params if k not in names]
            if unknown:
                raise RPCError(RPCErrorCode.MISC_ERROR, f"Unknown named parameter {unknown[0]}")
            bound = dict(params)
        else:
            raise RPCError(RPCErrorCode.INVALID_REQUEST, "Params must be an array or object")
        kwargs: dict[str, Any] = {}
        for p in plist:
            if p.name not in bound or (bound[p.name] is None and p.default is not p.empty):
                if p.default is p.empty:
                    raise RPCError(RPCErrorCode.MISC_ERROR, f"Missing required parameter {p.name!r}")
                continue
            value = bound[p.name]
            ann = hints.get(p.name, p.empty)
            if not _accepts(ann, value):
                expected = _EXPECTED.get(typing.get_origin(ann) or ann, "valid")
                raise RPCError(
                    RPCErrorCode.TYPE_ERROR,
                    f"JSON value of type {_type_name(value)} for field {p.name} is not of expected type {expected}",
                )
            if ann is int and isinstance(value, float):
                value = int(value)
            kwargs[p.name] = value
        return [], kwargs

    async def call(self, method: Any, params: Any) -> Any:
        if not isinstance(method, str):
            raise RPCError(RPCErrorCode.INVALID_REQUEST, "Method must be a string")
        handler = self.methods.get(method)
        if handler is None:
            raise RPCError(RPCErrorCode.METHOD_NOT_FOUND, "Method not found")
        args, kwargs = self._bind(handler, params)
        if inspect.iscoroutinefunction(handler):
            return await handler(*args, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: handler(*args, **kwargs))

    async def handle_one(self, req: Any) -> tuple[dict[str, Any] | None, int]:
        """Returns (response object or None for a 2.0 notification, HTTP status for a single request)."""
        if not isinstance(req, dict):
            err = RPCError(RPCErrorCode.INVALID_REQUEST, "Invalid Request object")
            return {"result": None, "error": err.to_json(), "id": None}, 400
        is_v2 = req.get("jsonrpc") == "2.0"
        req_id = req.get("id")
        notification = is_v2 and "id" not in req
        try:
            result = await self.call(req.get("method"), req.get("params"))
            error = None
        except RPCError as e:
            result, error = None, e.to_json()
        except Exception as e:  # a handler bug must not take the server down
            log.exception("RPC method %r failed", req.get("method"))
            result, error = None, RPCError(RPCErrorCode.INTERNAL_ERROR, f"internal error: {e}").to_json()
        if notification:
            return None, 204
        if is_v2:
            resp: dict[str, Any] = {"jsonrpc": "2.0", "id": req_id}
            if error is None:
                resp["result"] = result
            else:
                resp["error"] = error
            return resp, 200
        status = 200
        if error is not None:
            status = 404 if error["code"] == RPCErrorCode.METHOD_NOT_FOUND else 500
            if error["code"] == RPCErrorCode.INVALID_REQUEST:
                status = 400
        return {"result": result, "error": error, "id": req_id}, status


class RPCServer:
    def __init__(
        self,
        dispatcher: RPCDispatcher,
        credentials: Credentials,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: RPCLimits | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.credentials = credentials
        self.host = host
        self.port = port
        self.limits = limits or RPCLimits()
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()
        self._running = asyncio.Semaphore(self.limits.threads)
        self._auth_failures = asyncio.Lock()  # held for AUTH_FAILURE_DELAY per wrong password
        self.rejected_connections = 0
        self._refusing = 0  # refused connections lingering until their 503 is read
        self._repeated = Repeated(log)  # an attack is one counted line a minute, not a line per request

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_HEADER_BYTES)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for t in list(self._conns):
                t.cancel()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._conns) >= self.limits.max_connections:
            await self._reject(reader, writer)
            return
        self._conns.add(task)
        try:
            while True:
                keep_alive = await self._serve_one(reader, writer)
                if not keep_alive:
                    break
        except (asyncio.LimitOverrunError, ValueError):
            # oversized or garbled headers: say so, and let the rest arrive so the reply is not lost to a reset
            with contextlib.suppress(TimeoutError, ConnectionError):
                await self._respond(writer, 400, b"", False)
                await self._linger(reader, writer)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._conns.discard(task)
            writer.close()

    async def _reject(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Over the connection cap: 503 (Core: "Work queue depth exceeded"), then close.

        A short linger lets the 503 reach a client that already sent its request (closing on unread
        data would reset it); past `max_connections` refusals lingering at once, they just close.
        """
        self.rejected_connections += 1
        self._repeated.warning(
            "cap", "RPC: connection refused, %d open is the limit (raise --rpcworkqueue or --rpcthreads)",
            self.limits.max_connections,
        )
        body = b"Work queue depth exceeded"
        writer.write(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
        )
        if self._refusing >= self.limits.max_connections:
            writer.close()
            return
        self._refusing += 1
        try:
            await self._linger(reader, writer, REFUSAL_LINGER_SECONDS)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._refusing -= 1
            writer.close()

    async def _read_head(self, reader: asyncio.StreamReader) -> tuple[str, dict[str, str]] | None:
        request_line = await reader.readline()
        if not request_line:
            return None
        headers: dict[str, str] = {}
        total = len(request_line)
        while True:
            line = await reader.readline()
            total += len(line)
            if total > MAX_HEADER_BYTES:
                raise ValueError("headers too large")
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return request_line.decode("latin-1").strip(), headers

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        # one deadline for the whole request: a header line every few seconds does not extend it
        deadline = asyncio.get_running_loop().time() + self.limits.timeout
        async with asyncio.timeout_at(deadline):
            head = await self._read_head(reader)
        if head is None:
            return False
        request_line, headers = head
        parts = request_line.split()
        version = parts[2].upper() if len(parts) >= 3 else "HTTP/1.0"
        conn_hdr = headers.get("connection", "").lower()
        keep_alive = conn_hdr != "close" if version == "HTTP/1.1" else conn_hdr == "keep-alive"

        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            await self._respond(writer, 400, b"", False)
            await self._linger(reader, writer)
            return False
        if length < 0 or length > MAX_BODY_BYTES:
            await self._respond(writer, 413, b"", False)
            await self._linger(reader, writer)
            return False

        if len(parts) < 2 or parts[0].upper() != "POST":
            await self._respond(writer, 405, b"JSONRPC server handles only POST requests", keep_alive)
            return await self._discard(reader, length, deadline) and keep_alive
        authorization = headers.get("authorization")
        if not self.credentials.check(authorization):
            if authorization is not None:
                peer = writer.get_extra_info("peername")
                self._repeated.warning("auth", "RPC: incorrect password attempt from %s", peer[0] if peer else "?")
                async with self._auth_failures:
                    await asyncio.sleep(AUTH_FAILURE_DELAY)
            await self._respond(
                writer, 401, b"", keep_alive, extra={"WWW-Authenticate": 'Basic realm="jsonrpc"'}
            )
            return await self._discard(reader, length, deadline) and keep_alive

        async with asyncio.timeout_at(deadline):
            body = await reader.readexactly(length) if length else b""
        async with self._running:
            status, payload = await self._dispatch(body)
        await self._respond(writer, status, payload, keep_alive, content_type="application/json")
        return keep_alive

    @staticmethod
    async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seconds: float = LINGER_SECONDS) -> None:
        """Half-closes, then drops what the peer still sends (bounded) before the socket closes."""
        if writer.can_write_eof():
            writer.write_eof()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                for _ in range(LINGER_BYTES // DISCARD_CHUNK):
                    if not await reader.read(DISCARD_CHUNK):
                        break

    @staticmethod
    async def _discard(reader: asyncio.StreamReader, length: int, deadline: float) -> bool:
        """Reads and drops a refused request's body (so its sender can read the reply); False: it did not come."""
        try:
            async with asyncio.timeout_at(deadline):
                while length > 0:
                    chunk = await reader.read(min(length, DISCARD_CHUNK))
                    if not chunk:
                        return False
                    length -= len(chunk)
        except TimeoutError:
            return False
        return True

    async def _dispatch(self, body: bytes) -> tuple[int, bytes]:
        try:
            req = jsonlimits.loads(body)
        except (ValueError, UnicodeDecodeError):
            err = RPCError(RPCErrorCode.PARSE_ERROR, "Parse error")
            return 500, _dump({"result": None, "error": err.to_json(), "id": None})
        if isinstance(req, list):
            if not req:
                err = RPCError(RPCErrorCode.INVALID_REQUEST, "Invalid Request object")
                return 200, _dump({"result": None, "error": err.to_json(), "id": None})
            replies = [await self.dispatcher.handle_one(r) for r in req]
            return 200, _dump([r for r, _ in replies if r is not None])
        resp, status = await self.dispatcher.handle_one(req)
        return status, b"" if resp is None else _dump(resp)

    async def _respond(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        keep_alive: bool,
        content_type: str = "text/html",
        extra: dict[str, str] | None = None,
    ) -> None:
        reason = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
                  405: "Method Not Allowed", 413: "Payload Too Large", 500: "Internal Server Error",
                  503: "Service Unavailable"}.get(status, "")
        lines = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}", f"Content-Length: {len(body) + (1 if body and content_type == 'application/json' else 0)}"]
        lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
        for k, v in (extra or {}).items():
            lines.append(f"{k}: {v}")
        payload = body + (b"\n" if body and content_type == "application/json" else b"")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        # a client that does not read its reply is dropped like one that does not send its request
        async with asyncio.timeout(self.limits.timeout):
            await writer.drain()


def _amounts_as_tokens(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return f"{_AMOUNT_MARK}{obj:f}{_AMOUNT_MARK}"
    if isinstance(obj, dict):
        return {k: _amounts_as_tokens(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_amounts_as_tokens(v) for v in obj]
    return obj


_AMOUNT_MARK = "\x00amount\x00"
_AMOUNT_RE = re.compile(r'"\\u0000amount\\u0000(-?[0-9.]+)\\u0000amount\\u0000"')


def _dump(obj: Any) -> bytes:
    """JSON with Decimal amounts written as exact numbers (Core prints BTC values with 8 decimals)."""
    text = json.dumps(_amounts_as_tokens(obj), separators=(",", ":"))
    return _AMOUNT_RE.sub(r"\1", text).encode()


AsyncHandler = Callable[..., Awaitable[Any]]
