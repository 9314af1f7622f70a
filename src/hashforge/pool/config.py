"""Pool configuration: one frozen dataclass per role, loaded from a TOML file, then
`HASHFORGE_POOL_*` variables (`HASHFORGE_POOL_VARDIFF__MIN_DIFFICULTY` for a table's key), then
CLI flags (hashforge.settings), typed and checked by `PoolSettings`.

Every timeout and limit the pool applies is here, with its default and the reason for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, model_validator
from pydantic_settings import SettingsConfigDict

from hashforge.settings import (
    AT_LEAST_ONE,
    NOT_NEGATIVE,
    PORT_OR_ANY,
    POSITIVE,
    SettingsError,
    Unsafe,
    collect,
    fields_of,
    remote_rpc_refusal,
    rule,
    url_host,
)

from .errors import ConfigError
from .merged import AuxChainConfig, check_aux_chains


class Scheme(StrEnum):
    SOLO = "solo"  # the coinbase pays the finder directly; the pool keeps no balance
    PPLNS = "pplns"  # pay per last N shares (N = factor x network difficulty)
    PPS = "pps"  # pay per share: expected value, from the pool's own balance
    PROP = "prop"  # proportional to the shares of the round since the previous block


@dataclass(frozen=True)
class VardiffConfig:
    """Per-connection variable difficulty (see vardiff.py for the algorithm).

    start_difficulty  a new connection's difficulty, lowered to the network difficulty when that
                      is below it (a miner starts on work it can finish), never below the floor
    target_interval   seconds between shares the pool aims for, per connection
    retarget_window   seconds of shares looked at before a retarget (earlier once
                      `retarget_shares` shares have arrived, so fast miners ramp quickly)
    variance          relative deviation of the measured rate tolerated before retargeting
    min_difficulty    the operator's floor: vardiff, mining.suggest_difficulty, the password's
                      d= and the start never go below it, so it bounds what one share costs the
                      miner against what recording it costs the pool. None: the network's
                      default (DEFAULT_MIN_DIFFICULTY); in TOML also a table per network,
                      `min_difficulty = {regtest = 1e-6, mainnet = 0.01}`
    max_difficulty    ceiling; on real networks the network difficulty is a second, moving
                      ceiling (no block is ever withheld). On test networks (TEST_NETWORKS) vardiff
                      may go above it: hashes between the two targets are not submitted, and
                      blocks arrive at the share rate instead of one per hash
    idle_decay_after  with no share for this many seconds the difficulty is halved (and again
                      each such period) so a miner that slowed down gets work it can finish
    max_step          largest factor of one retarget, up or down
    suggest_interval  a connection's mining.suggest_difficulty is honoured at most once per this
                      many seconds (re-suggesting a low difficulty cannot undo vardiff)
    flood_raise_after a connection whose shares are valid but arrive faster than the submit
                      budget has its difficulty raised by `max_step`, at most once per this many
                      seconds, instead of being treated as a flood (ConnectorConfig.submit_rate)
    """

    start_difficulty: Annotated[float, POSITIVE] = 1.0
    target_interval: Annotated[float, POSITIVE] = 10.0
    retarget_window: Annotated[float, POSITIVE] = 60.0
    retarget_shares: Annotated[int, AT_LEAST_ONE] = 24
    variance: Annotated[float, NOT_NEGATIVE] = 0.3
    min_difficulty: float | None = None
    max_difficulty: Annotated[float, POSITIVE] = float(1 << 48)
    idle_decay_after: Annotated[float, POSITIVE] = 120.0
    max_step: Annotated[float, rule(lambda v: v > 1, "must be more than 1")] = 64.0
    suggest_interval: Annotated[float, NOT_NEGATIVE] = 60.0
    flood_raise_after: Annotated[float, NOT_NEGATIVE] = 0.5


# Networks whose blocks are worth nothing (hashforge's own and every regtest): there the share
# difficulty may exceed the network difficulty. Every other network is real: never withhold.
TEST_NETWORKS = frozenset({"regtest", "devnet", "scryptnet"})

# The operator's minimum share difficulty per network when the configuration names none. Our test
# networks serve CPU and browser miners (1e-5: ~43,000 SHA-256d hashes a share, 1,000 times what
# the 1e-8 of a "free shares" attack costs); scrypt shares count 2^16 hashes per difficulty, so
# scryptnet's 1e-3 is ~65 scrypt hashes, each ~1,000 times a SHA-256d. Real networks: 1e-3
# (~4.3 million hashes), still a share every ~90 s for a 50 kH/s lottery miner.
DEFAULT_MIN_DIFFICULTY: dict[str, float] = {"regtest": 1e-5, "devnet": 1e-5, "scryptnet": 1e-3}
REAL_NETWORK_MIN_DIFFICULTY = 1e-3


def is_test_network(network: str) -> bool:
    return network in TEST_NETWORKS or network.endswith("regtest")


@dataclass(frozen=True)
class ConnectorConfig:
    """Sockets and limits.

    handshake_timeout  a connection must subscribe and authorize a worker within this many
                       seconds (else it is closed: idle sockets cannot hold the per-IP limit)
    max_workers_per_connection  distinct mining.authorize names one connection may hold (a
                       proxy's rigs fit; more are refused with error 24)
    idle_timeout       a subscribed connection that sends nothing at all for this long is closed
                       (default 24 h: slow CPU miners are never dropped while alive; dead peers
                       are found by TCP keepalive, which is always on, long before)
    max_line_bytes     longer lines are a protocol violation: error reply, then disconnect
    max_connections_per_ip  further connections from that address are refused at accept
    submit_rate, submit_burst  token bucket for mining.submit per connection (flood policy:
                       over the budget a submit is answered with error 20 "rate limited" and not
                       validated; `max_rate_violations` such answers in a row disconnect). A
                       connection whose last share was valid is not limited: its difficulty rises
                       instead (VardiffConfig.flood_raise_after)
    max_invalid_shares consecutive invalid shares after which the connection is closed
    max_protocol_errors malformed lines (non-JSON, wrong shape) tolerated before disconnecting
    ws_port, ws_host   Stratum over WebSocket for browser miners (websocket.py; same limits);
                       ws_host defaults to `host`
    ws_origins         browser origins allowed to connect; () = loopback pages on the ws port
    """

    host: str = "127.0.0.1"
    port: Annotated[int, PORT_OR_ANY] = 3333
    tls_port: Annotated[int | None, PORT_OR_ANY] = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    handshake_timeout: Annotated[float, POSITIVE] = 60.0
    max_workers_per_connection: Annotated[int, AT_LEAST_ONE] = 256
    idle_timeout: Annotated[float, POSITIVE] = 24 * 3600.0
    max_line_bytes: Annotated[int, rule(lambda v: v >= 256, "must be 256 or more")] = 16 * 1024
    max_connections_per_ip: Annotated[int, AT_LEAST_ONE] = 256
    max_connections: Annotated[int, AT_LEAST_ONE] = 50_000
    submit_rate: Annotated[float, POSITIVE] = 200.0
    submit_burst: Annotated[float, rule(lambda v: v >= 1, "must be 1 or more")] = 2000.0
    max_rate_violations: Annotated[int, AT_LEAST_ONE] = 100
    max_invalid_shares: Annotated[int, AT_LEAST_ONE] = 500
    max_protocol_errors: Annotated[int, NOT_NEGATIVE] = 10
    ws_port: Annotated[int | None, PORT_OR_ANY] = None
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
    previous_tip_grace on test networks only: for this many seconds after a new tip, a share of a
                       job it dropped is still accepted (as a share, never a block). There each
                       share may be a block and a new tip, and a fast miner's shares in flight
                       would otherwise all come back stale; on real networks they are stale
    """

    instance_id: int = 0
    extranonce2_size: int = 8
    version_mask: int = 0x1FFFE000
    refresh_interval: Annotated[float, POSITIVE] = 30.0
    tip_poll_interval: Annotated[float, POSITIVE] = 0.25
    ntime_future: Annotated[int, NOT_NEGATIVE] = 7200
    jobs_kept: Annotated[int, AT_LEAST_ONE] = 16
    coinbase_tag: bytes = b"/hashforge/"
    validate_with_node: bool = False
    previous_tip_grace: Annotated[float, NOT_NEGATIVE] = 2.0


@dataclass(frozen=True)
class AccountingConfig:
    """Scheme and money (integer satoshis).

    fee_percent        the pool's cut of every reward (PPS: of the expected value)
    pplns_factor       PPLNS window = factor x network difficulty, in share-difficulty units
    payout_threshold   balances at or above this are paid in the next batch
    payout_interval    seconds between payout runs
    orphan_depth       a found block not in the active chain while the chain is this many
                       blocks past its height is orphaned (its credits are reversed)
    maturity           confirmations before a found block's credits are payable (None: the
                       network's coinbase maturity); `aux_maturity` the same for aux chains' blocks
                       (None: each aux network's own, e.g. Dogecoin 240, its regtest 60)
    """

    scheme: Scheme = Scheme.PPLNS
    pool_address: str | None = None
    fee_percent: float = 1.0
    pplns_factor: Annotated[float, POSITIVE] = 2.0
    payout_threshold: Annotated[int, AT_LEAST_ONE] = 100_000
    payout_interval: Annotated[float, POSITIVE] = 600.0
    orphan_depth: Annotated[int, AT_LEAST_ONE] = 3
    maturity: Annotated[int | None, AT_LEAST_ONE] = None  # None: the network's coinbase maturity (100)
    aux_maturity: Annotated[int | None, AT_LEAST_ONE] = None  # None: each aux network's coinbase maturity


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
    max_batch: Annotated[int, AT_LEAST_ONE] = 2000
    retries: Annotated[int, NOT_NEGATIVE] = 3
    retry_delay: Annotated[float, NOT_NEGATIVE] = 0.2


def _aux_specs(value: Any) -> Any:
    """NETWORK,RPC_URL,ADDRESS[,COOKIE_FILE] per aux chain (as --aux-chain) -> AuxChainConfig."""
    if not isinstance(value, (list, tuple)):
        raise ValueError("aux_chains is a list of NETWORK,RPC_URL,ADDRESS[,COOKIE_FILE] strings")
    try:
        return tuple(AuxChainConfig.parse(v) if isinstance(v, str) else v for v in value)
    except ConfigError as e:
        raise ValueError(str(e)) from None


def _network_dirs(value: Any) -> Any:
    """NETWORK=DIR per aux chain (as --aux-wallet-dir) -> (network, DIR) pairs."""
    if not isinstance(value, (list, tuple)):
        raise ValueError("aux_wallet_dirs is a list of NETWORK=DIR strings")
    pairs = []
    for item in value:
        if not isinstance(item, str):
            pairs.append(item)
            continue
        network, sep, folder = item.partition("=")
        if not sep or not network.strip() or not folder.strip():
            raise ValueError(f"an aux wallet is NETWORK=DIR, not {item!r}")
        pairs.append((network.strip(), Path(folder.strip()).expanduser()))
    return tuple(pairs)


@dataclass(frozen=True)
class PoolConfig:
    network: str = "regtest"
    datadir: Path = Path(".")
    node_url: str = "http://127.0.0.1:18443/"
    node_user: str | None = None
    node_password: str | None = None
    node_cookie: Path | None = None
    api_host: str = "127.0.0.1"
    api_port: Annotated[int | None, PORT_OR_ANY] = None
    connector: ConnectorConfig = field(default_factory=ConnectorConfig)
    stratifier: StratifierConfig = field(default_factory=StratifierConfig)
    vardiff: VardiffConfig = field(default_factory=VardiffConfig)
    accounting: AccountingConfig = field(default_factory=AccountingConfig)
    recorder: RecorderConfig = field(default_factory=RecorderConfig)
    # merged mining (merged.py): the aux chains, as --aux-chain, and the hashforge wallet paying
    # each one's balances (network, folder), as --aux-wallet-dir NETWORK=DIR
    aux_chains: Annotated[tuple[AuxChainConfig, ...], BeforeValidator(_aux_specs)] = ()
    aux_wallet_dirs: Annotated[tuple[tuple[str, Path], ...], BeforeValidator(_network_dirs)] = ()

    @property
    def database_url(self) -> str:
        return self.recorder.database_url or f"sqlite:///{self.datadir / 'pool.sqlite3'}"

    @property
    def test_network(self) -> bool:
        """True where blocks are worthless, so share difficulty may exceed the network's."""
        return is_test_network(self.network)

    @property
    def min_share_difficulty(self) -> float:
        """The operator's floor: the configured one, else the network's default."""
        configured = self.vardiff.min_difficulty
        if configured is not None:
            return configured
        return DEFAULT_MIN_DIFFICULTY.get(self.network, REAL_NETWORK_MIN_DIFFICULTY)

    def validate(self) -> PoolConfig:
        """This configuration, or ConfigError (one line) when it cannot run."""
        try:
            check(self)
        except Unsafe as e:
            raise ConfigError(str(e)) from None
        return self


def check(cfg: PoolConfig) -> None:
    """The rules over several keys; Unsafe names the keys at fault."""
    a = cfg.accounting
    if a.scheme is not Scheme.SOLO and not a.pool_address:
        raise Unsafe(f"--pool-address is required for the {a.scheme.value} scheme", "accounting.pool_address",
                     "accounting.scheme")
    if not 0 <= a.fee_percent < 100:
        raise Unsafe("fee must be in [0, 100)", "accounting.fee_percent")
    if not 0 <= cfg.stratifier.instance_id <= 255:
        raise Unsafe("instance_id must be in 0..255", "stratifier.instance_id")
    if not 2 <= cfg.stratifier.extranonce2_size <= 16:
        raise Unsafe("extranonce2_size must be in 2..16", "stratifier.extranonce2_size")
    v = cfg.vardiff
    floor = cfg.min_share_difficulty
    # the floor bounds what one share costs the miner against what recording it costs the pool
    if not 0 < floor <= v.start_difficulty <= v.max_difficulty:
        raise Unsafe(f"vardiff needs 0 < min ({floor:g}) <= start ({v.start_difficulty:g}) "
                     f"<= max ({v.max_difficulty:g})", "vardiff.start_difficulty", "vardiff.min_difficulty",
                     "vardiff.max_difficulty")
    if v.suggest_interval < 0 or v.flood_raise_after < 0:
        raise Unsafe("suggest_interval and flood_raise_after must be >= 0", "vardiff.suggest_interval",
                     "vardiff.flood_raise_after")
    if cfg.connector.max_workers_per_connection < 1:
        raise Unsafe("max_workers_per_connection must be >= 1", "connector.max_workers_per_connection")
    refusal = remote_rpc_refusal(url_host(cfg.node_url), cfg.node_password)
    if cfg.node_password is not None and refusal is not None:
        raise Unsafe(refusal, "node_password", "node_url")
    try:
        check_aux_chains(cfg.aux_chains, cfg.network)
    except ConfigError as e:
        raise Unsafe(str(e), "aux_chains", "network") from None
    for chain in cfg.aux_chains:
        refusal = remote_rpc_refusal(url_host(chain.node_url), chain.node_password)
        if chain.node_password is not None and refusal is not None:
            raise Unsafe(f"{chain.network}: {refusal}", "aux_chains")
    for network, _folder in cfg.aux_wallet_dirs:
        if network not in {chain.network for chain in cfg.aux_chains}:
            raise Unsafe(f"{network!r} is not the network of an aux chain (--aux-chain)", "aux_wallet_dirs",
                         "aux_chains")
    c = cfg.connector
    if c.tls_port is not None and (c.tls_cert is None or c.tls_key is None):
        raise Unsafe("a TLS port needs tls_cert and tls_key", "connector.tls_port", "connector.tls_cert",
                     "connector.tls_key")


class PoolSettings(fields_of(PoolConfig)):  # type: ignore[misc]  # a base made from PoolConfig's fields
    """PoolConfig as settings: the top-level keys, and one table per role whose keys are the
    dataclass's fields (checked by their annotations)."""

    model_config = SettingsConfigDict(env_prefix="HASHFORGE_POOL_")

    @model_validator(mode="before")
    @classmethod
    def _floor_of_this_network(cls, data: Any) -> Any:
        """`min_difficulty = {regtest = 1e-6, mainnet = 0.01}`: this pool's network's, else its default."""
        vardiff = data.get("vardiff") if isinstance(data, dict) else None
        if isinstance(vardiff, dict) and isinstance(vardiff.get("min_difficulty"), dict):
            network = str(data.get("network", PoolConfig.network))
            data = {**data, "vardiff": {**vardiff, "min_difficulty": vardiff["min_difficulty"].get(network)}}
        return data

    @model_validator(mode="after")
    def _safe(self) -> PoolSettings:
        check(self.config(checked=False))
        return self

    def config(self, checked: bool = True) -> PoolConfig:
        cfg = PoolConfig(**{f.name: getattr(self, f.name) for f in fields(PoolConfig)})
        return cfg.validate() if checked else cfg


class PoolBooksSettings(PoolSettings):
    """PoolSettings for the commands that open the pool's database without running a pool (`pool
    balances`, `contracts`, ...): every key typed and checked as the pool checks it, but not the
    rules for running one (a pool address for the scheme, ...)."""

    @model_validator(mode="after")
    def _safe(self) -> PoolBooksSettings:  # replaces PoolSettings._safe
        return self


def load_books_settings(path: Path | None, flags: dict[str, tuple[Any, str]]) -> tuple[PoolConfig, str | None]:
    """The pool's configuration as `load_settings` reads it, for a command that only opens its
    database, and the network when a source named one (else the command asks the database);
    ConfigError."""
    try:
        layers = collect(PoolBooksSettings, path, flags)
        cfg = layers.build(PoolBooksSettings).config(checked=False)
    except SettingsError as e:
        raise ConfigError(str(e)) from None
    return cfg, cfg.network if layers.get("network") is not None else None


def load_settings(path: Path | None, flags: dict[str, tuple[Any, str]]) -> PoolConfig:
    """The file, the environment, then `flags` ("section.key" -> (value, "--flag")); ConfigError."""
    try:
        return collect(PoolSettings, path, flags).build(PoolSettings).config()
    except SettingsError as e:
        raise ConfigError(str(e)) from None


def load_config(path: Path | None, **overrides: Any) -> PoolConfig:
    """A TOML file (top-level keys plus [connector], [stratifier], [vardiff], [accounting],
    [recorder] tables), the environment, then `overrides` (flat or "section.key"); None overrides
    are ignored."""
    flags = {key: (value, "--" + key.rpartition(".")[2].replace("_", "-"))
             for key, value in overrides.items() if value is not None}
    return load_settings(path, flags)
