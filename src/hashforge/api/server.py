"""Serving the app with uvicorn on a socket we bind ourselves (so a busy port is a clean OSError),
ending the live event streams on shutdown (uvicorn waits for open connections otherwise)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

from hashforge.services.keys import KeyStore
from hashforge.services.registry import Components

from .settings import ApiSettings


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, components: Components) -> None:
        super().__init__(config)
        self._components = components

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """SIGINT/SIGTERM stop the server gracefully, and that is all (uvicorn would re-raise the
        signal afterwards, turning a clean shutdown into death by signal)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: Any) -> None:
        self._components.bus.close()
        super().handle_exit(sig, frame)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: a free one); raises OSError naming the cause."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


class ApiServer:
    """The API on one socket. `await serve()` runs until `stop()` (or SIGINT/SIGTERM in the main thread)."""

    def __init__(
        self, settings: ApiSettings, components: Components, keys: KeyStore | None = None,
        log_level: str = "warning",
    ) -> None:
        from .app import create_app

        self.settings = settings
        self.components = components
        self.sock = bind_socket(settings.host, settings.port)
        self.app = create_app(settings, components, keys)
        config = uvicorn.Config(
            self.app, log_level=log_level, lifespan="on", timeout_graceful_shutdown=3, server_header=False,
            proxy_headers=False, access_log=log_level in ("info", "debug"),
        )
        self._server = _Server(config, components)
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        host = self.settings.host
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.port}"

    @property
    def started(self) -> bool:
        return self._server.started

    async def serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            await self._server.serve(sockets=[self.sock])
        finally:
            self.sock.close()

    def stop(self) -> None:
        """Asks the server to stop (thread-safe)."""
        self._server.should_exit = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.components.bus.close)
