"""Node settings: a TOML file (`--config`, keys as the field names, optionally under `[node]`), then
`HASHFORGE_NODE_*` variables, then flags (hashforge.settings), checked by `NodeSettings`; the node
runs on the plain `NodeConfig` they produce."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from hashforge.consensus.params import ChainParams, get_params
from hashforge.settings import (
    AT_LEAST_ONE,
    EXPANDED,
    NETWORK,
    NOT_NEGATIVE,
    PORT,
    PORT_OR_ANY,
    Unsafe,
    fields_of,
    load,
    remote_rpc_refusal,
    rule,
)

from .policy import (
    DEFAULT_BLOCK_MIN_TX_FEE,
    DEFAULT_INCREMENTAL_RELAY_FEE,
    DEFAULT_MIN_RELAY_TX_FEE,
)


def default_datadir(network: str) -> Path:
    return Path.home() / ".hashforge" / network


@dataclass
class NodeConfig:
    network: Annotated[str, NETWORK] = "regtest"
    datadir: Annotated[Path | None, EXPANDED] = None
    rpc_host: str = "127.0.0.1"
    rpc_port: Annotated[int | None, PORT_OR_ANY] = None  # default: the network's RPC port
    rpc_user: str | None = None
    rpc_password: str | None = None
    # Core's -rpcthreads, -rpcworkqueue, -rpcservertimeout (node/rpc/server.py says what each bounds)
    rpc_threads: Annotated[int, AT_LEAST_ONE] = 16
    rpc_work_queue: Annotated[int, NOT_NEGATIVE] = 64
    rpc_server_timeout: Annotated[float, rule(lambda v: v > 0, "must be more than 0 seconds")] = 30.0
    script_threads: Annotated[int, AT_LEAST_ONE] = 2
    # signature checks: on the chain thread ("inline"), a thread pool, or worker processes (parallel)
    script_workers: Literal["inline", "thread", "process"] = "inline"
    # sat/kvB, as Core's -minrelaytxfee, -incrementalrelayfee and -blockmintxfee (Core 30+ defaults)
    min_relay_fee: Annotated[int, NOT_NEGATIVE] = DEFAULT_MIN_RELAY_TX_FEE
    incremental_relay_fee: Annotated[int, NOT_NEGATIVE] = DEFAULT_INCREMENTAL_RELAY_FEE
    block_min_tx_fee: Annotated[int, NOT_NEGATIVE] = DEFAULT_BLOCK_MIN_TX_FEE
    max_mempool_mb: Annotated[int, AT_LEAST_ONE] = 300
    dbcache_mib: Annotated[int | None, rule(lambda v: v >= 0, "must be 0 or more MiB")] = None  # chainstate cache, as Core's -dbcache (default: sized for the machine)
    reindex: bool = False  # rebuild block index and chainstate from the block files at startup
    assume_valid: str | None = None  # block hash whose ancestors' scripts go unchecked; "0": none; None: Core's default
    minimum_chain_work: str | None = None  # hex; blocks come only from peers with this much work; None: Core's default
    # P2P (node/p2p): tuning knobs go in `extra` as p2p_<name>, see p2p/settings.py
    listen: bool = True
    p2p_port: Annotated[int | None, PORT] = None  # default: the network's P2P port
    bind: list[str] = field(default_factory=list)
    connect: list[str] = field(default_factory=list)
    addnode: list[str] = field(default_factory=list)
    max_connections: Annotated[int, NOT_NEGATIVE] = 125
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> ChainParams:
        return get_params(self.network)

    @property
    def resolved_datadir(self) -> Path:
        return self.datadir if self.datadir is not None else default_datadir(self.params.name)

    @property
    def resolved_rpc_port(self) -> int:
        return self.rpc_port if self.rpc_port is not None else self.params.rpc_port

    @classmethod
    def from_toml(cls, path: Path | None, **overrides: Any) -> NodeConfig:
        """A config file (keys as the field names, e.g. `rpc_port = 18443`), the environment, then
        `overrides` (field name -> value; None: not given). ValueError (SettingsError) when bad."""
        flags = {k: (v, "--" + k.replace("_", "-")) for k, v in overrides.items() if v is not None}
        return load(NodeSettings, path, flags, table="node").config()


class NodeSettings(fields_of(NodeConfig)):  # type: ignore[misc]  # a base made from NodeConfig's fields
    """NodeConfig's keys, typed and checked (the flags' names are in cli/node.py)."""

    model_config = SettingsConfigDict(env_prefix="HASHFORGE_NODE_")

    @model_validator(mode="after")
    def _safe(self) -> NodeSettings:
        if self.assume_valid is not None:
            from .chain import parse_assume_valid

            try:
                parse_assume_valid(self.assume_valid, self.network)
            except ValueError as e:
                raise Unsafe(str(e), "assume_valid") from None
        if self.minimum_chain_work is not None:
            from .chain import parse_minimum_chain_work

            try:
                parse_minimum_chain_work(self.minimum_chain_work, self.network)
            except ValueError as e:
                raise Unsafe(str(e), "minimum_chain_work") from None
        if (self.rpc_user is None) != (self.rpc_password is None):
            raise Unsafe("RPC user and password go together (--rpc-user, --rpc-password)", "rpc_user",
                         "rpc_password")
        refusal = remote_rpc_refusal(self.rpc_host, self.rpc_password)
        if refusal is not None:
            raise Unsafe(refusal, "rpc_host", "rpc_password")
        return self

    def config(self) -> NodeConfig:
        return NodeConfig(**{name: getattr(self, name) for name in type(self).model_fields})

