"""What `hashforge up` runs: the layout of its datadir, the ports, and the parts in start order."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from hashforge.consensus.params import ChainParams, PowAlgorithm
from hashforge.pool.apiguard import COOKIE_FILE
from hashforge.rpcclient import RPCClient

from .supervisor import Part

DEFAULT_STRATUM_PORT = 3333
DEFAULT_API_PORT = 8420
DEFAULT_POOL_API_PORT = 8421
DEFAULT_MINER_API_PORT = 4028
DEFAULT_WS_PORT = 8422  # the pool's Stratum-over-WebSocket port (the dashboard's /mine page)
MINER_CONTROLS = ("switchpool", "enablepool", "disablepool")  # what the dashboard asks of the miner's API


class UpError(RuntimeError):
    """A problem the user must fix (port in use, datadir in use or unwritable)."""


def default_datadir(params: ChainParams) -> Path:
    return Path.home() / ".hashforge" / "up" / params.name


@dataclass(frozen=True)
class WatchedChain:
    """A chain whose blocks `up` reports: its network, a client for its node, the address it pays."""

    params: ChainParams
    rpc: Callable[[float], RPCClient]  # a client with this timeout, s
    address: str


@dataclass
class Ports:
    rpc: int
    stratum: int
    api: int
    pool_api: int
    miner_api: int
    ws: int = DEFAULT_WS_PORT


def check_port_free(port: int, what: str, flag: str) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise UpError(f"port {port} ({what}) is already in use; choose another with {flag}") from None


def lock_datadir(datadir: Path) -> IO[str]:
    """An exclusive lock held for the whole run: a second `up` on the same datadir is refused."""
    try:
        datadir.mkdir(parents=True, exist_ok=True)
        handle = open(datadir / "up.lock", "a+")  # noqa: SIM115 (held open for the whole run)
    except OSError as e:
        raise UpError(f"datadir {datadir} is not writable: {e.strerror or e}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        pid = handle.read().strip() or "?"
        handle.close()
        raise UpError(f"datadir {datadir} is in use by another `hashforge up` (pid {pid})") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def secret_file(path: Path) -> str:
    """A random secret kept in a 0600 file (created on first use)."""
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


def _hashforge(*args: str) -> list[str]:
    return [sys.executable, "-m", "hashforge", *args]


class Operation:
    """The parts of one mining operation in `datadir`."""

    def __init__(self, params: ChainParams, datadir: Path, ports: Ports, threads: int | None, miner: bool,
                 scheme: str = "solo") -> None:
        self.params = params
        self.datadir = datadir
        self.ports = ports
        self.threads = threads
        self.with_miner = miner
        self.scheme = scheme
        self.logs = datadir / "logs"
        self.node_dir = datadir / "node"
        self.wallet_dir = datadir / "wallet"
        self.passphrase_file = datadir / "wallet.passphrase"
        self.ops_dir = datadir / "ops"
        self.state_file = datadir / "up.json"
        self.pool_config = datadir / "pool.toml"
        self.address = ""

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.rpc}/"

    @property
    def cookie(self) -> Path:
        return self.node_dir / ".cookie"

    def rpc(self, timeout: float = 30) -> RPCClient:
        return RPCClient(self.rpc_url, cookie=self.cookie, timeout=timeout)

    # --- parts ---------------------------------------------------------------------------------

    def node_flags(self) -> list[str]:
        """How the pool and the API reach the node (`--node-rpc`, `--node-cookie`)."""
        return ["--node-rpc", self.rpc_url, "--node-cookie", str(self.cookie)]

    def port_checks(self) -> list[tuple[int, str, str]]:
        """(port, what, flag) of each port this operation binds, checked free before anything starts."""
        checks = [(self.ports.rpc, "node RPC", "--rpc-port"), (self.ports.stratum, "Stratum", "--stratum-port"),
                  (self.ports.ws, "pool WebSocket", "--ws-port"), (self.ports.api, "API and dashboard", "--api-port"),
                  (self.ports.pool_api, "pool API", "--pool-api-port")]
        if self.with_miner:
            checks.append((self.ports.miner_api, "miner API", "--miner-api-port"))
        return checks

    def backend_parts(self) -> list[Part]:
        """The node(s) the pool mines on, in start order."""
        return [self.node_part()]

    def prepare_chains(self, progress: Callable[[str], None]) -> None:
        """Brings the chains where the pool can mine on them (nothing to do on hashforge's node)."""

    def watched_chains(self) -> list[WatchedChain]:
        """The chains whose new blocks the run loop reports, with the operator's address on each."""
        return [WatchedChain(self.params, self.rpc, self.address)]

    def ready_lines(self) -> list[str]:
        """The node's lines in the `ready` summary."""
        return [f"  node RPC    {self.rpc_url} (cookie {self.cookie})"]

    def node_part(self) -> Part:
        def ready() -> bool:
            if not self.cookie.exists():
                return False
            client = self.rpc()
            try:
                client.call("getblockcount")
            finally:
                client.close()
            return True

        # One machine: no P2P listener (add peers with `hashforge node --connect` setups later).
        argv = _hashforge("node", "--network", self.params.name, "--datadir", str(self.node_dir),
                          "--rpc-port", str(self.ports.rpc), "--no-listen")
        return Part("node", argv, self.logs / "node.log", ready)

    def ensure_wallet(self) -> str:
        """Creates the wallet on first run; returns the address the mining rewards go to."""
        from hashforge.wallet import Wallet
        from hashforge.wallet.wallet import DB_FILE

        state: dict[str, Any] = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        passphrase = secret_file(self.passphrase_file)
        client = self.rpc()
        try:
            if not (self.wallet_dir / DB_FILE).exists():
                wallet, _mnemonic = Wallet.create(self.wallet_dir, self.params, passphrase, rpc=client)
            else:
                wallet = Wallet.open(self.wallet_dir, self.params, rpc=client)
                wallet.unlock(passphrase)
            with contextlib.closing(wallet):
                address = state.get("address") or wallet.new_address()
        finally:
            client.close()
        state["address"] = address
        self.state_file.write_text(json.dumps(state))
        self.address = address
        return address

    @property
    def dashboard_origins(self) -> list[str]:
        """The origins of the dashboard's pages (it binds 127.0.0.1; browsers may call it localhost)."""
        return [f"http://{host}:{self.ports.api}" for host in ("127.0.0.1", "localhost")]

    def pool_part(self) -> Part:
        def ready() -> bool:  # every listener up and the API cookie written: the API attaches with it next
            for port in (self.ports.stratum, self.ports.pool_api, self.ports.ws):
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    pass
            return (self.datadir / "pool" / COOKIE_FILE).is_file()

        argv = _hashforge(
            "pool", "--network", self.params.name, *self.node_flags(),
            "--stratum-port", str(self.ports.stratum), "--stratum-host", "127.0.0.1",
            "--api-port", str(self.ports.pool_api), "--scheme", self.scheme, "--datadir", str(self.datadir / "pool"),
            "--ws-port", str(self.ports.ws), "--ws-host", "127.0.0.1",
        )
        for origin in self.dashboard_origins:  # the dashboard's /mine page; no other page may mine here
            argv += ["--ws-origin", origin]
        argv += self.aux_flags()
        if self.pool_config.exists():  # the operator's pool settings (payout interval, vardiff, ...)
            argv += ["--config", str(self.pool_config)]
        if self.scheme != "solo":
            argv += ["--pool-address", self.address, "--wallet-dir", str(self.wallet_dir),
                     "--wallet-passphrase-file", str(self.passphrase_file)]
        return Part("pool", argv, self.logs / "pool.log", ready)

    def aux_flags(self) -> list[str]:
        """The pool's merge-mined chains (`--aux-chain`); none on hashforge's own networks."""
        return []

    def miner_part(self) -> Part:
        def ready() -> bool:
            with socket.create_connection(("127.0.0.1", self.ports.miner_api), timeout=1):
                return True

        algo = "scrypt" if self.params.pow_algorithm is PowAlgorithm.SCRYPT else "sha256d"
        argv = _hashforge(
            "mine", "-o", f"stratum+tcp://127.0.0.1:{self.ports.stratum}", "-u", f"{self.address}.up", "-p", "x",
            "--algo", algo, "--quiet", "--api-listen", f"127.0.0.1:{self.ports.miner_api}",
            # The dashboard's pool controls, and nothing more: any local process can reach this port,
            # so addpool/removepool/quit/restart stay refused (cgminer's group syntax). Through /v1
            # the controls also need a key with the control scope.
            "--api-groups", f"P:{':'.join(MINER_CONTROLS)}:*", "--api-allow", "P:127.0.0.1",
        )
        if self.threads:
            argv += ["--threads", str(self.threads)]
        return Part("miner", argv, self.logs / "miner.log", ready)

    def api_part(self) -> Part:
        def ready() -> bool:
            return httpx.get(f"http://127.0.0.1:{self.ports.api}/v1/health", timeout=1).status_code == 200

        argv = _hashforge(
            "api", "--network", self.params.name, *self.node_flags(),
            "--host", "127.0.0.1", "--port", str(self.ports.api), "--datadir", str(self.datadir / "api"),
        )
        argv += self.component_flags()
        return Part("api", argv, self.logs / "api.log", ready)

    def component_flags(self) -> list[str]:
        """The API's links to the other parts: its pool, miner, wallet, browser-mining port and ops store."""
        flags = ["--pool-api", f"http://127.0.0.1:{self.ports.pool_api}/",
                 "--pool-api-cookie", str(self.datadir / "pool" / COOKIE_FILE),
                 "--wallet-dir", str(self.wallet_dir), "--wallet-passphrase-file", str(self.passphrase_file),
                 # ":PORT": the page connects to the host it was loaded from
                 "--stratum-ws", f":{self.ports.ws}",
                 "--ops-dir", str(self.ops_dir)]
        if self.with_miner:
            flags += ["--miner-api", f"127.0.0.1:{self.ports.miner_api}"]
        return flags
