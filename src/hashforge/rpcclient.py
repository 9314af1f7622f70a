"""A JSON-RPC client for Bitcoin Core-compatible nodes (ours or bitcoind): sync and async, cookie or user auth."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import httpx


class RPCClientError(Exception):
    """The node answered with a JSON-RPC error object."""

    def __init__(self, code: int, message: str, method: str) -> None:
        super().__init__(f"{method}: {message} (code {code})")
        self.code = code
        self.message = message
        self.method = method


class RPCTransportError(ConnectionError):
    """The node could not be reached or answered something that is not JSON-RPC."""


def read_cookie(path: Path) -> tuple[str, str]:
    user, _, password = path.read_text().strip().partition(":")
    return user, password


def _auth(user: str | None, password: str | None, cookie: Path | None) -> tuple[str, str]:
    if user is not None and password is not None:
        return user, password
    if cookie is not None:
        return read_cookie(cookie)
    raise ValueError("RPC credentials needed: user and password, or a cookie file")


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
        self._http = httpx.Client(auth=_auth(user, password, cookie), timeout=timeout)
        self._ids = itertools.count(1)

    def call(self, method: str, *params: Any) -> Any:
        payload = {"jsonrpc": "1.0", "id": next(self._ids), "method": method, "params": list(params)}
        try:
            response = self._http.post(self.url, json=payload)
        except httpx.HTTPError as e:
            raise RPCTransportError(f"{method}: {e}") from e
        return _result(method, response)

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
        self._http = httpx.AsyncClient(auth=_auth(user, password, cookie), timeout=timeout)
        self._ids = itertools.count(1)

    async def call(self, method: str, *params: Any, timeout: float | None = None) -> Any:
        payload = {"jsonrpc": "1.0", "id": next(self._ids), "method": method, "params": list(params)}
        try:
            kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
            response = await self._http.post(self.url, json=payload, **kwargs)
        except httpx.HTTPError as e:
            raise RPCTransportError(f"{method}: {e}") from e
        return _result(method, response)

    async def aclose(self) -> None:
        await self._http.aclose()
