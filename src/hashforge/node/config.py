"""Node settings: embedded defaults, overridden by a TOML config file, then by command-line flags."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from hashforge.consensus.params import ChainParams, get_params

from .policy import (
    DEFAULT_BLOCK_MIN_TX_FEE,
    DEFAULT_INCREMENTAL_RELAY_FEE,
    DEFAULT_MIN_RELAY_TX_FEE,
)


def default_datadir(network: str) -> Path:
    return Path.home() / ".hashforge" / network


@dataclass
class NodeConfig:
    network: str = "regtest"
    datadir: Path | None = None
    rpc_host: str = "127.0.0.1"
    rpc_port: int | None = None  # default: the network's RPC port
    rpc_user: str | None = None
    rpc_password: str | None = None
    # Core's -rpcthreads, -rpcworkqueue, -rpcservertimeout (node/rpc/server.py says what each bounds)
    rpc_threads: int = 16
    rpc_work_queue: int = 64
    rpc_server_timeout: float = 30.0
    script_threads: int = 2
    script_workers: str = "thread"  # or "process": signature checks in worker processes
    # sat/kvB, as Core's -minrelaytxfee, -incrementalrelayfee and -blockmintxfee (Core 30+ defaults)
    min_relay_fee: int = DEFAULT_MIN_RELAY_TX_FEE
    incremental_relay_fee: int = DEFAULT_INCREMENTAL_RELAY_FEE
    block_min_tx_fee: int = DEFAULT_BLOCK_MIN_TX_FEE
    max_mempool_mb: int = 300
    dbcache_mib: int | None = None  # chainstate cache, as Core's -dbcache (default: sized for the machine)
    reindex: bool = False  # rebuild block index and chainstate from the block files at startup
    assume_valid: str | None = None  # block hash whose ancestors' scripts go unchecked; "0": none; None: Core's default
    # P2P (node/p2p): tuning knobs go in `extra` as p2p_<name>, see p2p/settings.py
    listen: bool = True
    p2p_port: int | None = None  # default: the network's P2P port
    bind: list[str] = field(default_factory=list)
    connect: list[str] = field(default_factory=list)
    addnode: list[str] = field(default_factory=list)
    max_connections: int = 125
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
    def from_toml(cls, path: Path, **overrides: Any) -> NodeConfig:
        """Reads a config file (keys as the field names, e.g. `rpc_port = 18443`); flags win over it."""
        data = tomllib.loads(path.read_text())
        data = data.get("node", data)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown setting(s) in {path}: {', '.join(unknown)}")
        if "datadir" in data:
            data["datadir"] = Path(data["datadir"]).expanduser()
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**data)
