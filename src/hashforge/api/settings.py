"""API settings: validated once at startup: `--config` TOML, then `HASHFORGE_API_*`, then the flags
given (hashforge.settings).

Unsafe combinations are refused here, not discovered later: anonymous reads on an address other
than loopback, a wildcard CORS origin, half-given node credentials, a short password for a node off
loopback (the node's own rule, hashforge.settings.remote_rpc_refusal).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from hashforge.services.keys import KEYS_FILE
from hashforge.settings import (
    PORT_OR_ANY,
    ComponentSettings,
    Unsafe,
    is_loopback,
    remote_rpc_refusal,
    url_host,
)


class ApiSettings(ComponentSettings):
    """Everything the API process needs; `hashforge api` flags map one to one onto these fields."""

    model_config = SettingsConfigDict(env_prefix="HASHFORGE_API_")

    host: str = "127.0.0.1"
    network: str | None = Field(default=None, description="The chain's network (block reward for earnings); "
                                "None: asked of the node.")
    port: Annotated[int, PORT_OR_ANY] = 8420
    datadir: Path = Path.home() / ".hashforge" / "api"

    node_rpc_url: str = "http://127.0.0.1:18443/"
    node_cookie: Path | None = None
    node_user: str | None = None
    node_password: str | None = None
    node_timeout_s: Annotated[float, Field(gt=0, le=600)] = 30.0

    anonymous_read: bool | None = Field(
        default=None,
        description="Allow reads without a key. None (default): allowed exactly when bound to loopback.",
    )
    rate_per_s: Annotated[float, Field(gt=0, le=100_000)] = 20.0
    rate_burst: Annotated[int, Field(ge=1, le=100_000)] = 60
    max_body_bytes: Annotated[int, Field(ge=1, le=16 * 1024 * 1024)] = 64 * 1024
    cors_origins: tuple[str, ...] = ()
    tip_poll_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    sse_heartbeat_s: Annotated[float, Field(gt=0, le=300)] = 15.0
    event_buffer: Annotated[int, Field(ge=16, le=100_000)] = 1024
    network_hashrate_window: Annotated[int, Field(ge=2, le=2016)] = 120
    stratum_ws: str | None = Field(default=None, description="The pool's Stratum-over-WebSocket endpoint for "
                                   "the /mine page: ws(s)://host:port, or :PORT for the host the page came from.")

    # the parts the API links to (`hashforge api --pool-api ...`; up passes them)
    pool_api: str | None = None
    pool_api_cookie: Path | None = None
    miner_api: str | None = None
    wallet_dir: Path | None = None
    wallet_passphrase_file: Path | None = None
    ops: bool = True
    ops_dir: Path | None = None  # default DATADIR/ops
    log_level: str = "warning"

    @field_validator("node_rpc_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"node RPC URL must be http(s)://host:port/, not {v!r}")
        return v

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for origin in v:
            parts = urlsplit(origin)
            if origin == "*" or parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"CORS origins are explicit http(s)://host[:port] values, not {origin!r}")
            if parts.path not in ("", "/") or parts.query or parts.fragment:
                raise ValueError(f"a CORS origin has no path, query or fragment: {origin!r}")
        return tuple(o.rstrip("/") for o in v)

    @field_validator("stratum_ws")
    @classmethod
    def _ws_url(cls, v: str | None) -> str | None:
        if v is None:
            return None
        port = v[1:] if v.startswith(":") else None
        if port is not None:
            if not port.isdigit() or not 1 <= int(port) <= 65535:
                raise ValueError(f"a WebSocket port is :1..65535, not {v!r}")
            return v
        parts = urlsplit(v)
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise ValueError(f"bad port in the WebSocket URL {v!r}") from None
        if parts.scheme not in ("ws", "wss") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"the Stratum WebSocket is ws(s)://host:port or :PORT, not {v!r}")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _safe(self) -> ApiSettings:
        if (self.node_user is None) != (self.node_password is None):
            raise Unsafe("node RPC user and password go together", "node_user", "node_password")
        refusal = remote_rpc_refusal(url_host(self.node_rpc_url), self.node_password)
        if self.node_password is not None and refusal is not None:  # (with the cookie: the node's machine)
            raise Unsafe(refusal, "node_password", "node_rpc_url")
        if self.anonymous_read and not is_loopback(self.host):
            raise Unsafe(
                f"anonymous reads are only allowed when the API binds a loopback address, not {self.host!r}; "
                "mint a read key with `hashforge api-key create --scope read`", "anonymous_read", "host",
            )
        return self

    @property
    def reads_need_key(self) -> bool:
        """Whether a read needs a key: yes unless anonymous reads are on (the default on loopback)."""
        if self.anonymous_read is None:
            return not is_loopback(self.host)
        return not self.anonymous_read

    @property
    def keys_path(self) -> Path:
        return self.datadir / KEYS_FILE
