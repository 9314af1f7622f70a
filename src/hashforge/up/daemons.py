"""The coin daemons `hashforge up` runs for Litecoin and Dogecoin (hashforge's own node is Bitcoin
only): finding `litecoind`/`dogecoind`, their command lines and datadirs, and their JSON-RPC.

They run wallet-less, bound to 127.0.0.1, as supervised parts like the others. Litecoin Core is
reached with its cookie (re-read by our RPC client after a restart); Dogecoin Core gets a fixed
user and a generated password in its own `dogecoin.conf` (0600), because the pool's `--aux-chain`
takes credentials in the URL only and they must survive the daemon's restarts.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from hashforge.consensus.params import ChainParams
from hashforge.rpcclient import RPCClient

from .supervisor import Part

DOCS = "docs/litecoin-dogecoin.md"
DAEMON_START_TIMEOUT_S = 300.0  # a mainnet node loads its block index before it answers RPC
DAEMON_STOP_TIMEOUT_S = 120.0  # and flushes its UTXO cache on the way out
DOGECOIN_RPC_USER = "hashforge"

# Where each daemon keeps a network's files under its -datadir (its cookie among them)
_SUBDIRS = {
    "litecoin": "", "litecoin-testnet4": "testnet4", "litecoin-regtest": "regtest",
    "dogecoin": "", "dogecoin-testnet": "testnet3", "dogecoin-regtest": "regtest",
}
_PROGRAMS = {"LTC": "litecoind", "DOGE": "dogecoind"}
_PRODUCTS = {"LTC": "Litecoin Core 0.21", "DOGE": "Dogecoin Core 1.14"}


class DaemonMissing(RuntimeError):
    """The daemon a network needs is not installed where up looks."""


def source_checkout_bin() -> Path:
    """`../shared/bin` beside a source checkout of hashforge (where the interop tests find the daemons too)."""
    return Path(__file__).resolve().parents[3].parent / "shared" / "bin"


def find_daemon(params: ChainParams, bin_dir: Path | None = None) -> str:
    """The path of the daemon for `params`' coin: in `bin_dir` when one is named (there only), else
    in ../shared/bin beside the checkout, else on PATH. DaemonMissing (one line: how to get it) otherwise."""
    program = _PROGRAMS[params.coin]
    if bin_dir is not None:
        found = _executable(bin_dir / program)
        where = str(bin_dir)
    else:
        found = _executable(source_checkout_bin() / program) or shutil.which(program)
        where = "../shared/bin or PATH"
    if found:
        return found
    raise DaemonMissing(f"{program} not found in {where}: {params.name} needs {_PRODUCTS[params.coin]}; install it "
                        f"(see {DOCS}), name its folder with --bin-dir, or attach to a running one with "
                        f"{'--node-rpc' if params.coin == 'LTC' else '--aux-rpc'}")


def _executable(path: Path) -> str | None:
    return str(path) if path.is_file() and os.access(path, os.X_OK) else None


def network_flag(params: ChainParams) -> list[str]:
    if params.name.endswith("regtest"):
        return ["-regtest"]
    return [] if params.name in ("litecoin", "dogecoin") else ["-testnet"]


def is_regtest(params: ChainParams) -> bool:
    return params.name.endswith("regtest")


@dataclass
class Daemon:
    """One litecoind/dogecoind that up starts in `datadir`, RPC on 127.0.0.1:`rpc_port`, no P2P
    listener (it still dials the network's peers; on regtest it has none and needs none)."""

    params: ChainParams
    program: str
    datadir: Path
    rpc_port: int
    password: str | None = None  # Dogecoin: written to dogecoin.conf (Litecoin: its cookie)
    extra: list[str] = field(default_factory=list)

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}/"

    @property
    def cookie(self) -> Path:
        sub = _SUBDIRS[self.params.name]
        return self.datadir / sub / ".cookie" if sub else self.datadir / ".cookie"

    def rpc(self, timeout: float = 30) -> RPCClient:
        if self.password is not None:
            return RPCClient(self.rpc_url, DOGECOIN_RPC_USER, self.password, timeout=timeout)
        return RPCClient(self.rpc_url, cookie=self.cookie, timeout=timeout)

    def argv(self) -> list[str]:
        return [self.program, *network_flag(self.params), f"-datadir={self.datadir}", "-printtoconsole=1",
                "-server=1", "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1", f"-rpcport={self.rpc_port}",
                "-listen=0", *self.extra]

    def write_conf(self) -> None:
        """The datadir, and for Dogecoin its RPC credentials in dogecoin.conf (0600, rewritten each start)."""
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self.password is None:
            return
        conf = self.datadir / "dogecoin.conf"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("# written by hashforge up on each start\n"
                    f"rpcuser={DOGECOIN_RPC_USER}\nrpcpassword={self.password}\n")

    def part(self, name: str, log: Path) -> Part:
        def ready() -> bool:
            client = self.rpc()
            try:
                client.call("getblockcount")  # -28 (warming up) until the index is loaded
            finally:
                client.close()
            return True

        self.write_conf()
        return Part(name, self.argv(), log, ready, ready_timeout=DAEMON_START_TIMEOUT_S,
                    stop_timeout=DAEMON_STOP_TIMEOUT_S)
