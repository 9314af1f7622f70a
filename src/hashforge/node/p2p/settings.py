"""P2P settings: the user-facing ones come from NodeConfig fields (CLI flags), the tuning knobs
from `NodeConfig.extra` keys named `p2p_<field>` (a TOML `[node.extra]` table), e.g. short
timeouts for tests."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

DEFAULT_MAX_CONNECTIONS = 125
MAX_OUTBOUND_FULL_RELAY = 8
MAX_ADDNODE_CONNECTIONS = 8


@dataclass
class P2PSettings:
    listen: bool = True
    port: int = 0  # 0: the network's default port
    bind: list[str] = field(default_factory=list)  # default: all interfaces
    connect: list[str] = field(default_factory=list)  # only these peers ("0": none)
    addnode: list[str] = field(default_factory=list)
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    # --- tuning (Core's defaults) ------------------------------------------------------------
    handshake_timeout: float = 60.0  # version/verack must be done by then
    ping_interval: float = 120.0
    ping_timeout: float = 20 * 60.0
    inactivity_timeout: float = 20 * 60.0  # nothing received for this long
    message_timeout: float = 60.0  # a message whose header has arrived must be complete by then
    send_timeout: float = 20 * 60.0  # a peer that reads nothing for this long is dropped
    stall_timeout: float = 2.0  # block window blocked by one peer's in-flight block
    stall_timeout_max: float = 64.0
    block_download_timeout: float = 600.0  # base; plus 300 s per other downloading peer
    headers_timeout: float = 120.0  # a peer asked for headers must answer within this
    inbound_inv_interval: float = 5.0  # average of the Poisson trickle for transaction announcements
    outbound_inv_interval: float = 2.0
    addnode_retry: float = 60.0  # seconds between attempts to (re)connect an added node
    connect_timeout: float = 5.0
    dial_local: bool = False  # dial non-routable addresses from the address book automatically
    max_msgs_per_second: float = 2000.0  # token bucket per peer; beyond: misbehaviour
    addr_rate: float = 0.1  # addresses per second accepted from a peer (bucket of 1000)
    ban_time: int = 24 * 60 * 60
    block_download_window: int = 1024
    max_blocks_in_flight: int = 16
    max_orphans: int = 100

    @classmethod
    def from_node_config(cls, cfg: Any) -> P2PSettings:
        s = cls()
        for name in ("listen", "bind", "connect", "addnode", "max_connections"):
            value = getattr(cfg, name, None)
            if value is not None:
                setattr(s, name, list(value) if isinstance(value, (list, tuple)) else value)
        port = getattr(cfg, "p2p_port", None)
        if port is not None:
            s.port = port
        known = {f.name: f for f in fields(cls)}
        for key, value in (getattr(cfg, "extra", None) or {}).items():
            if key.startswith("p2p_") and key[4:] in known:
                setattr(s, key[4:], type(getattr(s, key[4:]))(value))
        return s

    @property
    def max_inbound(self) -> int:
        return max(0, self.max_connections - MAX_OUTBOUND_FULL_RELAY)

    @property
    def max_outbound(self) -> int:
        return min(MAX_OUTBOUND_FULL_RELAY, self.max_connections)

    @property
    def connect_only(self) -> bool:
        return bool(self.connect)
