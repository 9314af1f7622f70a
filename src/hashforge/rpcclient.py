"""A JSON-RPC client for Bitcoin Core-compatible nodes (ours or bitcoind): sync and async, cookie or user auth.

`call_batch` sends several calls in one HTTP request (a JSON-RPC batch, which Bitcoin Core and our
node both answer); each call's result or RPCClientError comes back in order, so one failed call
does not fail the rest. `requests` counts the HTTP requests a client has made.

A client given a cookie file re-reads it when the node answers 401 and retries once, as Bitcoin
Core's own tools do: a restarted node writes a new cookie, and a long-running client (pool, API,
miner) must follow it rather than fail forever. `submit_block` retries a found block until the node
answers, so a block is never lost to a node that is restarting.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

log = logging.getLogger(__name__)

RPC_IN_WARMUP = -28  # Core's "Loading block index..." / "Verifying blocks...": the node is starting

class RPCClientError(Exception):
    """The node answered with a JSON-RPC error object."""

    def __init__(self, code: int, message: str, method: str) -> None:
        super().__init__(f"{method}: {message} (code {code})")
        self.code = code
        self.message = message
        self.method = method


class RPCTransportError(ConnectionError):
    """The node could not be reached or answered something that is not JSON-RPC."""


def split_rpc_url(url: str) -> tuple[str, str | None, str | None]:
    """http://USER:PASS@HOST:PORT/ -> (http://HOST:PORT/, USER, PASS); HOST:PORT alone means http."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    host = parts.hostname or "127.0.0.1"
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme or "http", netloc, parts.path or "/", "", "")), user, password


def client_for_url(url: str, cookie: Path, timeout: float = 120) -> RPCClient:
    """A client for http(s)://[USER:PASS@]HOST:PORT/: the URL's credentials, else the cookie file.
    ValueError (a one-line reason) for a URL that is not http(s) with a host, or a missing cookie."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the node's RPC must be an http:// URL, not {url!r}")
    clean, user, password = split_rpc_url(url)
    if user is not None and password is not None:
        return RPCClient(clean, user, password, timeout=timeout)
    if not cookie.exists():
        raise ValueError(f"no RPC credentials: put user:pass in the URL or give a cookie file ({cookie} not found)")
    return RPCClient(clean, cookie=cookie, timeout=timeout)


def read_cookie(path: Path) -> tuple[str, str]:
    user, _, password = path.read_text().strip().partition(":")
    return user, password


def _auth(user: str | None, password: str | None, cookie: Path | None) -> tuple[str, str]:
    if user is not None and password is not None:
        return user, password
    if cookie is not None:
        return read_cookie(cookie)
    raise ValueError("RPC credentials needed: user and password, or a cookie file")


class _Credentials:
    """A fixed user and password, or a cookie file that is read again when the node refuses it."""

    def __init__(self, user: str | None, password: str | None, cookie: Path | None) -> None:
        self.auth = _auth(user, password, cookie)
        self.cookie = None if user is not None and password is not None else cookie

    def reread(self) -> bool:
        """Reads the cookie again; True when it changed (so a retry can succeed)."""
        if self.cookie is None:
            return False
        try:
            fresh = read_cookie(self.cookie)
        except OSError:  # the node is between runs: the next 401 tries again
            return False
        changed = fresh != self.auth
        if changed:
            log.info("%s changed (the node restarted): using the new cookie", self.cookie)
        self.auth = fresh
        return changed

    def refreshed(self, sent: tuple[str, str]) -> bool:
        """After a 401 to a request sent with `sent`: whether there are other credentials to retry with.
        A concurrent request may already have re-read the cookie, so compare with what was sent."""
        self.reread()
        return self.auth != sent


def _result(method: str, response: httpx.Response) -> Any:
    if response.status_code == 401:
        raise RPCTransportError(f"{method}: authorization failed (HTTP 401)")
    try:
        body = response.json()
    except ValueError:
        raise RPCTransportError(f"{method}: HTTP {response.status_code}, not JSON") from None
    if not isinstance(body, dict):
        raise RPCTransportError(f"{method}: unexpected reply {body!r:.200}")
    err = body.get("error")
    if err:
        raise RPCClientError(int(err.get("code", -1)), str(err.get("message", "")), method)
    return body.get("result")


Call = tuple[str, Sequence[Any]]
"""One call of a batch: method and positional params."""


def _batch_payload(ids: itertools.count[int], calls: Sequence[Call]) -> tuple[list[int], list[dict[str, Any]]]:
    numbers = [next(ids) for _ in calls]
    return numbers, [{"jsonrpc": "1.0", "id": i, "method": method, "params": list(params)}
                     for i, (method, params) in zip(numbers, calls, strict=True)]


def _batch_results(calls: Sequence[Call], numbers: list[int], response: httpx.Response) -> list[Any]:
    what = f"batch of {len(calls)} ({calls[0][0]}, ...)"
    if response.status_code == 401:
        raise RPCTransportError(f"{what}: authorization failed (HTTP 401)")
    try:
        body = response.json()
    except ValueError:
        raise RPCTransportError(f"{what}: HTTP {response.status_code}, not JSON") from None
    if isinstance(body, dict) and body.get("error"):  # the whole batch refused (e.g. a server without batches)
        err = body["error"]
        raise RPCClientError(int(err.get("code", -1)), str(err.get("message", "")), what)
    if not isinstance(body, list):
        raise RPCTransportError(f"{what}: unexpected reply {body!r:.200}")
    by_id = {item.get("id"): item for item in body if isinstance(item, dict)}  # replies may come in any order
    out: list[Any] = []
    for (method, _), i in zip(calls, numbers, strict=True):
        item = by_id.get(i)
        if item is None:
            raise RPCTransportError(f"{method}: no reply in the batch")
        err = item.get("error")
        out.append(RPCClientError(int(err.get("code", -1)), str(err.get("message", "")), method) if err
                   else item.get("result"))
    return out


class RPCClient:
    def __init__(
        self,
        url: str,
        user: str | None = None,
        password: str | None = None,
        cookie: Path | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.url = url
        self._creds = _Credentials(user, password, cookie)
        self._http = httpx.Client(auth=self._creds.auth, timeout=timeout)
        self._ids = itertools.count(1)
        self.requests = 0

    def _post(self, payload: Any) -> httpx.Response:
        self.requests += 1
        sent = self._creds.auth
        response = self._http.post(self.url, json=payload)
        if response.status_code == 401 and self._creds.refreshed(sent):
            self._http.auth = self._creds.auth
            self.requests += 1
            response = self._http.post(self.url, json=payload)
        return response

    def call(self, method: str, *params: Any) -> Any:
        payload = {"jsonrpc": "1.0", "id": next(self._ids), "method": method, "params": list(params)}
        try:
            response = self._post(payload)
        except httpx.HTTPError as e:
            raise RPCTransportError(f"{method}: {e}") from e
        return _result(method, response)

    def call_batch(self, calls: Sequence[Call]) -> list[Any]:
        """Results in the order of `calls`; a call the node refused is its RPCClientError (returned,
        not raised). Transport failures raise RPCTransportError."""
        if not calls:
            return []
        numbers, payload = _batch_payload(self._ids, calls)
        try:
            response = self._post(payload)
        except httpx.HTTPError as e:
            raise RPCTransportError(f"batch ({calls[0][0]}, ...): {e}") from e
        return _batch_results(calls, numbers, response)

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda *params: self.call(method, *params)

    def close(self) -> None:
        self._http.close()


class AsyncRPCClient:
    def __init__(
        self,
        url: str,
        user: str | None = None,
        password: str | None = None,
        cookie: Path | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.url = url
        self._creds = _Credentials(user, password, cookie)
        self._http = httpx.AsyncClient(auth=self._creds.auth, timeout=timeout)
        self._ids = itertools.count(1)
        self.requests = 0

    async def _post(self, payload: Any, timeout: float | None) -> httpx.Response:
        kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        self.requests += 1
        sent = self._creds.auth
        response = await self._http.post(self.url, json=payload, **kwargs)
        if response.status_code == 401 and self._creds.refreshed(sent):
            self._http.auth = self._creds.auth
            self.requests += 1
            response = await self._http.post(self.url, json=payload, **kwargs)
        return response

    async def call(self, method: str, *params: Any, timeout: float | None = None) -> Any:
        payload = {"jsonrpc": "1.0", "id": next(self._ids), "method": method, "params": list(params)}
        try:
            response = await self._post(payload, timeout)
        except httpx.HTTPError as e:
            raise RPCTransportError(f"{method}: {e}") from e
        return _result(method, response)

    async def call_batch(self, calls: Sequence[Call], timeout: float | None = None) -> list[Any]:
        """As RPCClient.call_batch."""
        if not calls:
            return []
        numbers, payload = _batch_payload(self._ids, calls)
        try:
            response = await self._post(payload, timeout)
        except httpx.HTTPError as e:
            raise RPCTransportError(f"batch ({calls[0][0]}, ...): {e}") from e
        return _batch_results(calls, numbers, response)

    async def aclose(self) -> None:
        await self._http.aclose()


def retryable(e: Exception) -> bool:
    """True when the node did not decide anything: unreachable, refused our credentials, or starting."""
    return isinstance(e, RPCTransportError) or (isinstance(e, RPCClientError) and e.code == RPC_IN_WARMUP)


async def submit_block(rpc: AsyncRPCClient, block_hex: str, backoff: tuple[float, float] = (0.5, 10.0),
                       sleep: Callable[[float], Any] = asyncio.sleep) -> Any:
    """`submitblock` until the node answers: its result (None: accepted; "duplicate" means the node
    already has the block, since submitblock is idempotent) or its RPCClientError. A node that is
    down, restarting or refuses a stale cookie is waited for, never taken as a rejection."""
    delay, tries = backoff[0], 0
    while True:
        try:
            return await rpc.call("submitblock", block_hex)
        except (RPCTransportError, RPCClientError) as e:
            if not retryable(e):
                raise
            tries += 1
            if tries == 1 or tries % 10 == 0:
                log.warning("%s; retrying until the node answers (try %d)", e, tries)
        await sleep(delay)
        delay = min(delay * 2, backoff[1])
