"""`hashforge up` settings: a TOML file (`--config`, keys as the fields below), then `HASHFORGE_UP_*`,
then the flags given (hashforge.settings). Every part up starts binds 127.0.0.1, so what is checked
here is what would stop the run later: ranges, a scheme, and two parts given the same port."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from hashforge.consensus.params import ChainParams, get_params
from hashforge.settings import EXPANDED, NETWORK, PORT, ComponentSettings, Unsafe, rule

from .operation import (
    DEFAULT_API_PORT,
    DEFAULT_MINER_API_PORT,
    DEFAULT_POOL_API_PORT,
    DEFAULT_STRATUM_PORT,
    DEFAULT_WS_PORT,
    Ports,
)

SCHEMES = ("solo", "pplns", "pps", "prop")
YEAR_S = 365 * 86400


class UpSettings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="HASHFORGE_UP_")

    network: Annotated[str, NETWORK] = "devnet"
    datadir: Annotated[Path | None, EXPANDED] = None  # default ~/.hashforge/up/NETWORK
    threads: Annotated[int | None, rule(lambda v: v >= 1, "must be at least 1", show=False)] = None
    miner: bool = True
    rpc_port: Annotated[int | None, PORT] = None  # default: the network's
    stratum_port: Annotated[int, PORT] = DEFAULT_STRATUM_PORT
    api_port: Annotated[int, PORT] = DEFAULT_API_PORT
    pool_api_port: Annotated[int, PORT] = DEFAULT_POOL_API_PORT
    miner_api_port: Annotated[int, PORT] = DEFAULT_MINER_API_PORT
    ws_port: Annotated[int, PORT] = DEFAULT_WS_PORT
    scheme: Annotated[str, rule(lambda v: v in SCHEMES, "must be solo, pplns, pps or prop")] = "solo"
    restart_max: Annotated[int, rule(lambda v: v >= 1, "must be at least 1", show=False)] = 3
    restart_window: Annotated[float, rule(lambda v: 0 < v <= YEAR_S, "must be more than 0 and at most a year "
                                          "(seconds)", show=False)] = 600.0
    log_max_mb: Annotated[float, rule(lambda v: 0.01 <= v <= 1024 * 1024, "must be between 0.01 and 1048576",
                                      show=False)] = 10.0
    log_backups: Annotated[int, rule(lambda v: 0 <= v <= 1000, "must be 0..1000", show=False)] = 3

    @model_validator(mode="after")
    def _distinct_ports(self) -> UpSettings:
        seen: dict[int, str] = {}
        for key, port in self.named_ports():
            if port in seen:
                raise Unsafe(f"{seen[port]} and {key} are both port {port}: each part needs its own", key, seen[port])
            seen[port] = key
        return self

    def named_ports(self) -> list[tuple[str, int]]:
        ports = [("rpc_port", self.rpc_port or self.params.rpc_port), ("stratum_port", self.stratum_port),
                 ("api_port", self.api_port), ("pool_api_port", self.pool_api_port), ("ws_port", self.ws_port)]
        return ports + ([("miner_api_port", self.miner_api_port)] if self.miner else [])

    @property
    def params(self) -> ChainParams:
        return get_params(self.network)

    @property
    def ports(self) -> Ports:
        return Ports(self.rpc_port or self.params.rpc_port, self.stratum_port, self.api_port, self.pool_api_port,
                     self.miner_api_port, self.ws_port)
