"""Pool configuration: one frozen dataclass per role, loaded from a TOML file and CLI flags.

Every timeout and limit the pool applies is here, with its default and the reason for it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from .errors import ConfigError


class Scheme(StrEnum):
    SOLO = "solo"  # the coinbase pays the finder directly; the pool keeps no balance
    PPLNS = "pplns"  # pay per last N shares (N = factor x network difficulty)
    PPS = "pps"  # pay per share: expected value, from the pool's own balance
    PROP = "prop"  # proportional to the shares of the round since the previous block


@dataclass(frozen=True)
class VardiffConfig:
    """Per-connection variable difficulty (see vardiff.py for the algorithm).

    target_interval   seconds between shares the pool aims for, per connection
    retarget_window   seconds of shares looked at before a retarget (earlier once
                      `retarget_shares` shares have arrived, so fast miners ramp quickly)
    variance          relative deviation of the measured rate tolerated before retargeting
    min_difficulty    floor (fractional allowed, down to 1e-8 as public-pool does)
    max_difficulty    ceiling; the network difficulty is a second, moving ceiling
    idle_decay_after  with no share for this many seconds the difficulty is halved (and again
                      each such period) so a miner that slowed down gets work it can finish
    max_step          largest factor of one retarget, up or down
    """

    start_difficulty: float = 1.0
    target_interval: float = 10.0
    retarget_window: float = 60.0
    retarget_shares: int = 24
    variance: float = 0.3
    min_difficulty: float = 1e-8
    max_difficulty: float = float(1 << 48)
    idle_decay_after: float = 120.0
    max_step: float = 64.0


@dataclass(frozen=True)
class ConnectorConfig:
    """Sockets and limits.

    handshake_timeout  a connection must send mining.subscribe within this many seconds
    idle_timeout       a subscribed connection that sends nothing at all for this long is closed
                       (default 24 h: slow CPU miners are never dropped while alive; dead peers
                       are found by TCP keepalive, which is always on, long before)
    max_line_bytes     longer lines are a protocol violation: error reply, then disconnect
    max_connections_per_ip  further connections from that address are refused at accept
    submit_rate, submit_burst  token bucket for mining.submit per connection (flood policy:
                       over the budget a submit is answered with error 20 "rate limited" and not
                       validated; `max_rate_violations` such answers in a row disconnect)
    max_invalid_shares consecutive invalid shares after which the connection is closed
    max_protocol_errors malformed lines (non-JSON, wrong shape) tolerated before disconnecting
    ws_port, ws_host   Stratum over WebSocket for browser miners (websocket.py; same limits);
                       ws_host defaults to `host`
    ws_origins         browser origins allowed to connect; () = pages from the pool's host name
    """

    host: str = "127.0.0.1"
    port: int = 3333
    tls_port: int | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    handshake_timeout: float = 60.0
    idle_timeout: float = 24 * 3600.0
    max_line_bytes: int = 16 * 1024
    max_connections_per_ip: int = 256
    max_connections: int = 50_000
    submit_rate: float = 200.0
    submit_burst: float = 2000.0
    max_rate_violations: int = 100
    max_invalid_shares: int = 500
    max_protocol_errors: int = 10
    ws_port: int | None = None
    ws_host: str | None = None
    ws_origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class StratifierConfig:
    """Jobs and shares.

    instance_id        first byte of every extranonce1 this process hands out (0-255): several
                       pool processes with different ids never give two miners the same work
    extranonce2_size   bytes the miner rolls (8)
    version_mask       BIP310 bits the pool lets miners roll (BIP320's 0x1fffe000)
    refresh_interval   seconds between template refreshes with new transactions
    tip_poll_interval  seconds between getbestblockhash polls (besides longpoll)
    ntime_future       a share's ntime may be at most this far past the pool's clock
    jobs_kept          jobs of the current tip kept valid (older ids answer "stale")
    coinbase_tag       bytes put in every coinbase scriptSig after the extranonce
    validate_with_node check mining.authorize addresses with the node's validateaddress (as
                       ckpool does) instead of locally against the network's parameters
    """

    instance_id: int = 0
    extranonce2_size: int = 8
    version_mask: int = 0x1FFFE000
    refresh_interval: float = 30.0
    tip_poll_interval: float = 0.25
    ntime_future: int = 7200
    jobs_kept: int = 16
    coinbase_tag: bytes = b"/hashforge/"
    validate_with_node: bool = False


@dataclass(frozen=True)
class AccountingConfig:
    """Scheme and money (integer satoshis).

    fee_percent        the pool's cut of every reward (PPS: of the expected value)
    pplns_factor       PPLNS window = factor x network difficulty, in share-difficulty units
    payout_threshold   balances at or above this are paid in the next batch
    payout_interval    seconds between payout runs
    orphan_depth       a found block not in the active chain while the chain is this many
                       blocks past its height is orphaned (its credits are reversed)
    """

    scheme: Scheme = Scheme.PPLNS
    pool_address: str | None = None
    fee_percent: float = 1.0
    pplns_factor: float = 2.0
    payout_threshold: int = 100_000
    payout_interval: float = 600.0
    orphan_depth: int = 3
    maturity: int | None = None  # None: the network's coinbase maturity (100)


@dataclass(frozen=True)
class RecorderConfig:
    """Durable share pipeline (group commit).

    A share is acknowledged to the miner only after the transaction holding it committed
    (SQLite WAL with synchronous=FULL, or PostgreSQL). While a commit is in flight, new shares
    queue; the next commit takes up to `max_batch` of them, so an acknowledgement waits at most
    one commit plus the commit in progress. If the database fails `retries` times, shares go
    to an fsync'ed spill file (acknowledged after its fsync) that is replayed on the next start.
    """

    database_url: str | None = None  # None: sqlite:///DATADIR/pool.sqlite3
    max_batch: int = 2000
    retries: int = 3
    retry_delay: float = 0.2


@dataclass(frozen=True)
class PoolConfig:
    network: str = "regtest"
    datadir: Path = Path(".")
    node_url: str = "http://127.0.0.1:18443/"
    node_user: str | None = None
    node_password: str | None = None
    node_cookie: Path | None = None
    api_host: str = "127.0.0.1"
    api_port: int | None = None
    connector: ConnectorConfig = field(default_factory=ConnectorConfig)
    stratifier: StratifierConfig = field(default_factory=StratifierConfig)
    vardiff: VardiffConfig = field(default_factory=VardiffConfig)
    accounting: AccountingConfig = field(default_factory=AccountingConfig)
    recorder: RecorderConfig = field(default_factory=RecorderConfig)

    @property
    def database_url(self) -> str:
        return self.recorder.database_url or f"sqlite:///{self.datadir / 'pool.sqlite3'}"

    def validate(self) -> PoolConfig:
        a = self.accounting
        if a.scheme is not Scheme.SOLO and not a.pool_address:
            raise ConfigError(f"--pool-address is required for the {a.scheme.value} scheme")
        if not 0 <= a.fee_percent < 100:
            raise ConfigError("fee must be in [0, 100)")
        if not 0 <= self.stratifier.instance_id <= 255:
            raise ConfigError("instance_id must be in 0..255")
        if not 2 <= self.stratifier.extranonce2_size <= 16:
            raise ConfigError("extranonce2_size must be in 2..16")
        v = self.vardiff
        if not 0 < v.min_difficulty <= v.start_difficulty <= v.max_difficulty:
            raise ConfigError("vardiff needs 0 < min <= start <= max")
        c = self.connector
        if c.tls_port is not None and (c.tls_cert is None or c.tls_key is None):
            raise ConfigError("a TLS port needs tls_cert and tls_key")
        return self


_SECTIONS: dict[str, type[Any]] = {
    "connector": ConnectorConfig,
    "stratifier": StratifierConfig,
    "vardiff": VardiffConfig,
    "accounting": AccountingConfig,
    "recorder": RecorderConfig,
}


def _coerce(cls: type[Any], values: dict[str, Any]) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(f"unknown setting {key!r} in [{cls.__name__}]")
        default = getattr(cls(), name) if name in known else None
        if isinstance(default, Path) or name in ("tls_cert", "tls_key", "node_cookie", "datadir"):
            value = Path(value)
        elif isinstance(default, Scheme):
            value = Scheme(value)
        elif isinstance(default, bytes):
            value = value.encode() if isinstance(value, str) else bytes(value)
        elif isinstance(default, tuple):
            value = tuple(value)
        elif isinstance(default, float) and isinstance(value, int):
            value = float(value)
        kwargs[name] = value
    return cls(**kwargs)


def load_config(path: Path | None, **overrides: Any) -> PoolConfig:
    """A TOML file (top-level keys plus [connector], [stratifier], [vardiff], [accounting],
    [recorder] tables), then `overrides` (flat or "section.key"); None overrides are ignored."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"cannot read config {path}: {e}") from None
    sections: dict[str, dict[str, Any]] = {name: dict(data.pop(name, {})) for name in _SECTIONS}
    for key, value in overrides.items():
        if value is None:
            continue
        section, _, name = key.rpartition(".")
        if section:
            sections[section][name] = value
        else:
            data[key] = value
    built = {name: _coerce(cls, sections[name]) for name, cls in _SECTIONS.items()}
    top = _coerce(PoolConfig, data) if data else PoolConfig()
    return replace(top, **built).validate()
