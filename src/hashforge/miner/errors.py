"""The miner's exception tree."""

from __future__ import annotations


class MinerError(Exception):
    """Base class for errors raised by hashforge.miner."""


class ConfigError(MinerError, ValueError):
    """The configuration (TOML file or flags) is invalid."""


class DeviceError(MinerError):
    """A device could not be created or failed while mining."""


class UnknownDriverError(DeviceError, ValueError):
    """`--device` names a driver that is not registered (e.g. a GPU driver not installed)."""


class SourceError(MinerError):
    """A work source (pool or node) failed; the source reconnects."""


class PoolProtocolError(SourceError):
    """The pool sent something that is not valid Stratum (bad JSON, huge line, bad hex...)."""


class PoolDisconnected(SourceError):
    """The connection to the pool closed or could not be opened."""


class PoolRedirect(SourceError):
    """client.reconnect: the pool asked us to reconnect (maybe elsewhere) after `wait` seconds."""

    def __init__(self, host: str, port: int, wait: float) -> None:
        super().__init__(f"pool asked to reconnect to {host}:{port} in {wait:g} s")
        self.host = host
        self.port = port
        self.wait = wait
