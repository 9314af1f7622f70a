"""`hashforge up` settings: a TOML file (`--config`, keys as the fields below), then `HASHFORGE_UP_*`,
then the flags given (hashforge.settings). Every part up starts binds 127.0.0.1, so what is checked
here is what would stop the run later: ranges, a scheme, two parts given the same port, and on
Litecoin networks the merged chain, the daemons to attach to and their credentials (litecoin.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from hashforge.consensus.address import address_to_script
from hashforge.consensus.params import ChainParams, UnknownNetworkError, get_params
from hashforge.rpcclient import split_rpc_url
from hashforge.settings import (
    EXPANDED,
    NETWORK,
    PORT,
    ComponentSettings,
    Unsafe,
    remote_rpc_refusal,
    rule,
    url_host,
)

from .litecoin import AttachedNode, LitecoinSetup
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
# the Dogecoin network merge-mined by default (aux = "auto") on each Litecoin network, and back
DOGECOIN_OF = {"litecoin": "dogecoin", "litecoin-testnet4": "dogecoin-testnet", "litecoin-regtest": "dogecoin-regtest"}
LITECOIN_OF = {v: k for k, v in DOGECOIN_OF.items()}
LITECOIN_NETWORKS = ", ".join(DOGECOIN_OF)
# the keys of Litecoin networks only, with their flags
LITECOIN_KEYS = {"aux": "--aux", "aux_address": "--aux-address", "aux_rpc_port": "--aux-rpc-port",
                 "node_rpc": "--node-rpc", "node_cookie": "--node-cookie", "aux_rpc": "--aux-rpc",
                 "bin_dir": "--bin-dir", "replay_blocks": "--replay-blocks"}


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
    # Litecoin networks (litecoin.py): the chain merge-mined on top ("auto": the Dogecoin network of
    # the same kind; "none": Litecoin alone), where its blocks pay (default: a wallet of up's),
    # daemons to attach to instead of starting them (credentials in the URL, or the cookie file),
    # where litecoind/dogecoind are, and litecoin-regtest blocks to replay into a new chain
    aux: str = "auto"
    aux_address: str | None = None
    aux_rpc_port: Annotated[int | None, PORT] = None  # default: the aux network's
    node_rpc: str | None = None
    node_cookie: Annotated[Path | None, EXPANDED] = None
    aux_rpc: str | None = None
    bin_dir: Annotated[Path | None, EXPANDED] = None
    replay_blocks: Annotated[Path | None, EXPANDED] = None

    @model_validator(mode="after")
    def _distinct_ports(self) -> UpSettings:
        seen: dict[int, str] = {}
        for key, port in self.named_ports():
            if port in seen:
                raise Unsafe(f"{seen[port]} and {key} are both port {port}: each part needs its own", key, seen[port])
            seen[port] = key
        return self

    @model_validator(mode="after")
    def _litecoin(self) -> UpSettings:
        """The Litecoin keys: only on Litecoin networks, and each usable (the one line names it)."""
        given = [k for k in LITECOIN_KEYS if getattr(self, k) not in (None, "auto")]
        if self.params.coin != "LTC":
            if given:
                raise Unsafe(f"{LITECOIN_KEYS[given[0]]} is for Litecoin networks ({LITECOIN_NETWORKS}), not "
                             f"{self.network}", given[0], "network")
            return self
        aux = self.aux_params
        if aux is None:
            for key in ("aux_address", "aux_rpc_port", "aux_rpc"):
                if getattr(self, key) is not None:
                    raise Unsafe(f"{LITECOIN_KEYS[key]} needs an aux chain (aux is none)", key, "aux")
        elif self.aux_address is not None:
            try:
                address_to_script(self.aux_address, aux)
            except ValueError as e:
                raise Unsafe(f"--aux-address {self.aux_address!r} is not a {aux.name} address: {e}",
                             "aux_address", "aux") from None
        for key, url in (("node_rpc", self.node_rpc), ("aux_rpc", self.aux_rpc)):
            if url is None:
                continue
            if not url.startswith(("http://", "https://")):
                raise Unsafe(f"{LITECOIN_KEYS[key]} must be an http:// URL, not {url!r}", key)
            password = split_rpc_url(url)[2]
            refusal = remote_rpc_refusal(url_host(url), password)
            if password is not None and refusal is not None:
                raise Unsafe(refusal, key)
        if self.aux_rpc is not None and "@" not in self.aux_rpc:
            raise Unsafe("--aux-rpc needs the credentials in the URL: http://USER:PASS@HOST:PORT/", "aux_rpc")
        if self.node_cookie is not None:
            if self.node_rpc is None:
                raise Unsafe("--node-cookie goes with --node-rpc (the litecoind to attach to)", "node_cookie")
            if not self.node_cookie.is_file():
                raise Unsafe(f"--node-cookie {self.node_cookie}: no such file", "node_cookie")
        if self.node_rpc is not None and "@" not in self.node_rpc and self.node_cookie is None:
            raise Unsafe("--node-rpc needs credentials: http://USER:PASS@HOST:PORT/ or --node-cookie FILE", "node_rpc")
        if self.replay_blocks is not None:
            if self.network != "litecoin-regtest" or self.node_rpc is not None:
                raise Unsafe("--replay-blocks is for a litecoin-regtest chain that up starts (not with --node-rpc)",
                             "replay_blocks", "network", "node_rpc")
            if not self.replay_blocks.is_file():
                raise Unsafe(f"--replay-blocks {self.replay_blocks}: no such file", "replay_blocks")
        return self

    @property
    def aux_params(self) -> ChainParams | None:
        """The chain merge-mined on a Litecoin network (None: Litecoin alone, or not Litecoin);
        Unsafe for one that cannot be."""
        if self.params.coin != "LTC" or self.aux == "none":
            return None
        try:
            aux = get_params(DOGECOIN_OF[self.network] if self.aux == "auto" else self.aux)
        except UnknownNetworkError as e:
            raise Unsafe(str(e), "aux") from None
        if aux.auxpow_chain_id is None:
            raise Unsafe(f"{aux.name} is not a merge-mined (AuxPoW) network", "aux")
        if aux.name.endswith("regtest") != self.network.endswith("regtest"):
            raise Unsafe(f"{aux.name} does not go with {self.network} (regtest with regtest)", "aux", "network")
        return aux

    def litecoin_setup(self) -> LitecoinSetup:
        """What a Litecoin network runs on (the settings were checked by `_litecoin`)."""
        aux = self.aux_params
        return LitecoinSetup(
            aux, self.bin_dir,
            AttachedNode(self.node_rpc, self.node_cookie) if self.node_rpc else None,
            AttachedNode(self.aux_rpc) if self.aux_rpc else None,
            self.aux_rpc_port or (aux.rpc_port if aux else 0), self.aux_address, self.replay_blocks)

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
