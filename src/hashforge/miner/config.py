"""Miner configuration: a TOML file, then `HASHFORGE_MINER_*` variables, then command-line flags
(hashforge.settings), typed and checked by `MinerSettings`.

```toml
algo = "sha256d"            # or "scrypt"
threads = 8                 # CPU threads (default: one per core)
devices = ["cpu"]           # cpu, and GPU drivers when installed (opencl:0, cuda:0)
strategy = "failover"       # failover | round-robin | load-balance
rotate_interval = 600       # seconds per pool with round-robin
max_load = 100              # duty cycle cap, percent
temp_target = 80            # throttle above this (C)
temp_cutoff = 95            # stop a device at this (C)
intensity = 4194304         # GPU hashes per launch (default: auto-tuned to 50-100 ms)
lookup_gap = 2              # GPU scrypt: lookup gap (memory / recomputation trade; default 1)
api_listen = "127.0.0.1:4028"
api_allow = ["W:127.0.0.1"] # cgminer syntax: W: privileged, R: (or bare) read-only

[[pools]]
url = "stratum+tcp://pool.example.com:3333"
user = "bc1q...worker1"
pass = "x"
quota = 1                   # load-balance share

[solo]                      # instead of pools: mine on a node with getblocktemplate
node_rpc = "http://127.0.0.1:8332"
address = "bc1p..."
cookie = "~/.bitcoin/.cookie"   # or rpc_user / rpc_password
```
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

from pydantic import field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from hashforge.kernels import ALGORITHMS
from hashforge.settings import (
    AT_LEAST_ONE,
    NOT_NEGATIVE,
    POSITIVE,
    SettingsError,
    Unsafe,
    fields_of,
    is_loopback,
    load,
    remote_rpc_refusal,
    rule,
    url_host,
)

from .errors import ConfigError
from .pools import Strategy


@dataclass(frozen=True)
class PoolConfig:
    url: str
    user: str = ""
    password: str = "x"
    quota: int = 1
    priority: int | None = None

    @property
    def is_gbt(self) -> bool:
        return urlsplit(self.url).scheme.lower() in ("http", "https")


@dataclass(frozen=True)
class SoloConfig:
    node_rpc: str
    address: str
    rpc_user: str | None = None
    rpc_password: str | None = None
    cookie: Path | None = None


@dataclass(frozen=True)
class MinerConfig:
    algo: str = "sha256d"
    threads: Annotated[int | None, AT_LEAST_ONE] = None
    devices: tuple[str, ...] = ("cpu",)
    backend: str = "auto"
    pools: tuple[PoolConfig, ...] = ()
    solo: SoloConfig | None = None
    strategy: Strategy = Strategy.FAILOVER
    rotate_interval: Annotated[float, POSITIVE] = 600.0
    reject_limit: Annotated[int, AT_LEAST_ONE] = 10
    reject_cooldown: Annotated[float, NOT_NEGATIVE] = 300.0
    max_load: Annotated[float, rule(lambda v: 0 < v <= 100, "must be in 1..100 percent")] = 100.0
    temp_target: float | None = None
    temp_cutoff: float | None = None
    intensity: Annotated[int | None, AT_LEAST_ONE] = None
    lookup_gap: Annotated[int, rule(lambda v: 1 <= v <= 1024, "must be in 1..1024")] = 1
    api_listen: str | None = "127.0.0.1:4028"
    api_allow: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()  # cgminer's --api-groups: G:cmd:cmd[:*], used as G:ADDR in api_allow
    api_description: str = ""
    quiet: bool = False
    json_log: bool = False
    log_interval: Annotated[float, POSITIVE] = 5.0
    version_rolling: bool = True
    suggest_difficulty: Annotated[float | None, POSITIVE] = None
    extranonce_subscribe: bool = True
    ntime_window: Annotated[int, NOT_NEGATIVE] = 600
    tls_verify: bool = True
    benchmark: bool = False
    benchmark_seconds: Annotated[float | None, POSITIVE] = None
    backoff: tuple[float, float] = (1.0, 60.0)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def validate(self) -> MinerConfig:
        if self.algo not in ALGORITHMS:
            raise ConfigError(f"unknown algorithm {self.algo!r} (choose from {', '.join(ALGORITHMS)})")
        if self.threads is not None and self.threads < 1:
            raise ConfigError("threads must be at least 1")
        if self.intensity is not None and (type(self.intensity) is not int or self.intensity < 1):
            raise ConfigError("intensity must be a whole number of at least 1 (GPU hashes per launch)")
        if type(self.lookup_gap) is not int or not 1 <= self.lookup_gap <= 1024:
            raise ConfigError("lookup-gap must be in 1..1024")
        if not 0 < self.max_load <= 100:
            raise ConfigError("max-load must be in 1..100 percent")
        if self.temp_target is not None and self.temp_cutoff is not None and self.temp_cutoff <= self.temp_target:
            raise ConfigError("temp-cutoff must be above temp-target")
        if not self.benchmark and not self.pools and self.solo is None:
            raise ConfigError("nothing to mine: give -o/--url (Stratum pool or http:// node), --solo, or --benchmark")
        if any(p.is_gbt for p in self.pools) and self.solo is None:
            raise ConfigError("an http:// url means solo mining on a node: give --address for the coinbase")
        if self.solo is not None and self.solo.rpc_password is not None:
            refusal = remote_rpc_refusal(url_host(self.solo.node_rpc), self.solo.rpc_password)
            if refusal is not None:
                raise ConfigError(refusal)
        return self


def parse_node_url(url: str) -> tuple[str, str | None, str | None]:
    """http://user:pass@host:port -> (http://host:port/, user, pass)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"not a node RPC url: {url!r} (use http://[user:pass@]host:port)")
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    clean = f"{parts.scheme}://{netloc}{parts.path or '/'}"
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return clean, user, password


def _strategy(value: str) -> Strategy:
    aliases = {"priority": "failover", "rotate": "round-robin", "round_robin": "round-robin",
               "load_balance": "load-balance", "balance": "load-balance"}
    try:
        return Strategy(aliases.get(value.lower(), value.lower()))
    except ValueError:
        raise ConfigError(f"unknown strategy {value!r} (failover, round-robin, load-balance)") from None


def _listed(value: Any) -> Any:
    """`"a,b"` or `["a", "b"]`: a flag or key that takes a list also takes one comma-separated string."""
    return tuple(v for v in value.split(",") if v) if isinstance(value, str) else value


class MinerSettings(fields_of(MinerConfig, exclude=frozenset({"extra"}))):  # type: ignore[misc]
    """MinerConfig's keys as the TOML file writes them (see the top of this module), typed and checked."""

    model_config = SettingsConfigDict(env_prefix="HASHFORGE_MINER_")

    @model_validator(mode="before")
    @classmethod
    def _device_is_devices(cls, data: Any) -> Any:
        if isinstance(data, dict) and "device" in data:
            data = {("devices" if k == "device" else k): v for k, v in data.items()}
        return data

    @field_validator("devices", "api_allow", "api_groups", mode="before")
    @classmethod
    def _comma_lists(cls, v: Any) -> Any:
        return _listed(v)

    @field_validator("strategy", mode="before")
    @classmethod
    def _strategy_aliases(cls, v: Any) -> Any:
        try:
            return _strategy(v) if isinstance(v, str) else v
        except ConfigError as e:
            raise ValueError(str(e)) from None

    @field_validator("algo")
    @classmethod
    def _known_algo(cls, v: str) -> str:
        if v not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {v!r} (choose from {', '.join(ALGORITHMS)})")
        return v

    @field_validator("pools", mode="before")
    @classmethod
    def _pool_tables(cls, v: Any) -> Any:
        if not isinstance(v, (list, tuple)):
            raise ValueError("pools must be an array of tables ([[pools]])")
        out = []
        for p in v:
            if isinstance(p, str):
                p = {"url": p}
            if isinstance(p, dict):
                if "url" not in p:
                    raise ValueError("each [[pools]] entry needs a url")
                p = {("password" if k == "pass" else k): value for k, value in p.items()}
            out.append(p)
        return out

    @field_validator("solo", mode="before")
    @classmethod
    def _solo_table(cls, s: Any) -> Any:
        if not isinstance(s, dict):
            return s
        if "address" not in s or "node_rpc" not in s:
            raise ValueError("[solo] needs node_rpc and address")
        url, user, password = parse_node_url(str(s["node_rpc"]))
        cookie = s.get("cookie")
        return {**s, "node_rpc": url, "rpc_user": s.get("rpc_user", user),
                "rpc_password": s.get("rpc_password", password),
                "cookie": Path(cookie).expanduser() if cookie else None}

    @model_validator(mode="after")
    def _safe(self) -> MinerSettings:
        from .api import READ, parse_allow, parse_groups

        try:
            allowed = parse_allow(self.api_allow, tuple(parse_groups(self.api_groups)))
        except ValueError as e:
            raise Unsafe(str(e), "api_allow", "api_groups") from None
        host = (self.api_listen or "").rpartition(":")[0].strip("[]") or "127.0.0.1"
        # the cgminer API has no password: control from outside this machine stays on private networks
        public = [str(a.network) for a in allowed if a.group != READ and not a.network.is_private]
        if self.api_listen is not None and not is_loopback(host) and public:
            raise Unsafe(f"the miner API on {host}, off loopback, would let {', '.join(public)} control the "
                         "miner with no password; allow privileged access (W: or a group) from private "
                         "networks only", "api_allow", "api_listen")
        return self

    def config(self) -> MinerConfig:
        return MinerConfig(**{name: getattr(self, name) for name in type(self).model_fields})


# flags whose name is not the key's
FLAG_NAMES = {"devices": "--device", "version_rolling": "--no-version-rolling", "tls_verify": "--tls-insecure"}


def build_config(
    config_file: Path | None,
    *,
    urls: list[str] | None = None,
    user: str | None = None,
    password: str | None = None,
    solo: bool = False,
    node_rpc: str | None = None,
    address: str | None = None,
    rpc_cookie: Path | None = None,
    strategy: str | None = None,
    devices: list[str] | None = None,
    api_allow: list[str] | None = None,
    api_groups: list[str] | None = None,
    **flags: Any,
) -> MinerConfig:
    """The file's settings, then HASHFORGE_MINER_*, then every given flag (not None) on top."""
    simple = {k: v for k, v in flags.items() if v is not None}
    if devices:
        simple["devices"] = tuple(devices)
    if api_allow:
        simple["api_allow"] = tuple(a for item in api_allow for a in item.split(",") if a)
    if api_groups:
        simple["api_groups"] = tuple(g for item in api_groups for g in item.split(",") if g)
    if strategy:
        simple["strategy"] = strategy
    try:
        cfg = load(MinerSettings, config_file,
                   {k: (v, FLAG_NAMES.get(k, "--" + k.replace("_", "-"))) for k, v in simple.items()}).config()
    except SettingsError as e:
        raise ConfigError(str(e)) from None
    if urls:
        cfg = replace(cfg, pools=tuple(PoolConfig(u, user or "", password or "x") for u in urls))
    elif user is not None or password is not None:
        cfg = replace(cfg, pools=tuple(replace(p, user=user if user is not None else p.user,
                                               password=password if password is not None else p.password)
                                       for p in cfg.pools))
    gbt = [p for p in cfg.pools if p.is_gbt]
    if solo or node_rpc or gbt:
        base = cfg.solo
        rpc = node_rpc or (gbt[0].url if gbt else (base.node_rpc if base else None))
        if rpc is None:
            raise ConfigError("--solo needs --node-rpc URL (or -o http://user:pass@host:port)")
        url, u, pw = parse_node_url(rpc)
        if gbt and not urlsplit(gbt[0].url).username and (gbt[0].user or gbt[0].password != "x"):
            u, pw = gbt[0].user or None, gbt[0].password
        addr = address or (base.address if base else None)
        if not addr:
            raise ConfigError("solo mining needs --address (the coinbase's payout address)")
        cfg = replace(
            cfg,
            solo=SoloConfig(url, addr, u or (base.rpc_user if base else None),
                            pw or (base.rpc_password if base else None),
                            rpc_cookie or (base.cookie if base else None)),
            pools=tuple(p for p in cfg.pools if not p.is_gbt),
        )
    elif address:
        raise ConfigError("--address is for solo mining (--solo / an http:// url)")
    return cfg.validate()
