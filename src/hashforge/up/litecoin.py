"""`hashforge up` on Litecoin, Dogecoin merge-mined on top: hashforge's node is Bitcoin only, so the
backends are Litecoin Core and Dogecoin Core, started (or attached to) as supervised parts; the
pool mines Litecoin as the parent with `--aux-chain` for Dogecoin, the scrypt miner points at it,
and the API reads litecoind.

Regtest needs some help before the pool can mine (../shared/bin/README.md lists the quirks):
- Dogecoin accepts AuxPoW blocks from height 20 only (`createauxblock` is "not yet available"
  below it): up mines the legacy blocks 1..19 with `generatetoaddress` to the operator's address.
  Dogecoin Core's `getblocktemplate` needs a peer, but `createauxblock`/`submitauxblock` (all the
  pool uses) do not on regtest, so no second dogecoind is run.
- Litecoin's MWEB activates at block 432 and a wallet-less `litecoind` cannot build block 432
  without a peg-in (`bad-txns-vin-empty`): a fresh chain either replays raw blocks that contain one
  (`--replay-blocks`, e.g. ../shared/bin/ltc_regtest_mweb_chain.hex; MWEB is then active and every
  template carries the HogEx and the MWEB block), or runs with MWEB never activating
  (`-vbparams=mweb:-2:0:0:0`). The choice is kept in up.json: a chain is restarted the way it was made.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hashforge.consensus.params import ChainParams
from hashforge.rpcclient import RPCClient, split_rpc_url

from .daemons import DOGECOIN_RPC_USER, Daemon, find_daemon, is_regtest
from .operation import Operation, Ports, UpError, WatchedChain, secret_file
from .supervisor import Part

AUXPOW_START_REGTEST = 20  # Dogecoin regtest refuses AuxPoW blocks below it, and legacy ones from it
MWEB_OFF = "-vbparams=mweb:-2:0:0:0"  # the deployment never activates


@dataclass(frozen=True)
class AttachedNode:
    """A running node up uses instead of starting one: its RPC URL (credentials in it) or cookie."""

    url: str
    cookie: Path | None = None

    def rpc(self, timeout: float = 30) -> RPCClient:
        base, user, password = split_rpc_url(self.url)
        if user is not None and password is not None:
            return RPCClient(base, user, password, timeout=timeout)
        if self.cookie is None:
            raise UpError(f"no credentials for {base}: put USER:PASS in the URL or give the cookie file")
        return RPCClient(base, cookie=self.cookie, timeout=timeout)


@dataclass(frozen=True)
class LitecoinSetup:
    """What `up --network litecoin...` was asked for beyond the common flags."""

    aux: ChainParams | None  # the merge-mined chain (Dogecoin), or None for Litecoin alone
    bin_dir: Path | None = None
    node: AttachedNode | None = None  # attach to this litecoind instead of starting one
    aux_node: AttachedNode | None = None  # attach to this dogecoind
    aux_rpc_port: int = 0
    aux_address: str | None = None  # else up's own wallet for the aux coin
    replay_blocks: Path | None = None


class LitecoinOperation(Operation):
    """Litecoin Core (+ Dogecoin Core) as the backends; the pool, miner, wallet and API as on Bitcoin.
    Finding the daemons happens here (DaemonMissing), before anything is written."""

    def __init__(self, params: ChainParams, datadir: Path, ports: Ports, threads: int | None, miner: bool,
                 scheme: str, setup: LitecoinSetup) -> None:
        super().__init__(params, datadir, ports, threads, miner, scheme)
        self.setup = setup
        self.aux_address = ""
        self.litecoind: Daemon | None = None
        self.dogecoind: Daemon | None = None
        if setup.node is None:
            self.litecoind = Daemon(params, find_daemon(params, setup.bin_dir), datadir / "litecoind", ports.rpc,
                                    extra=["-nodebuglogfile"])  # its console output is the part's log
        if setup.aux is not None and setup.aux_node is None:
            self.dogecoind = Daemon(setup.aux, find_daemon(setup.aux, setup.bin_dir), datadir / "dogecoind",
                                    setup.aux_rpc_port)

    @property
    def aux(self) -> ChainParams | None:
        return self.setup.aux

    # --- how the parts reach the nodes ----------------------------------------------------------

    @property
    def rpc_url(self) -> str:
        return self.setup.node.url if self.setup.node else f"http://127.0.0.1:{self.ports.rpc}/"

    @property
    def cookie(self) -> Path:
        if self.litecoind is not None:
            return self.litecoind.cookie
        assert self.setup.node is not None
        return self.setup.node.cookie or Path()

    def rpc(self, timeout: float = 30) -> RPCClient:
        if self.litecoind is not None:
            return self.litecoind.rpc(timeout)
        assert self.setup.node is not None
        return self.setup.node.rpc(timeout)

    def aux_rpc(self, timeout: float = 30) -> RPCClient:
        if self.dogecoind is not None:
            return self.dogecoind.rpc(timeout)
        assert self.setup.aux_node is not None
        return self.setup.aux_node.rpc(timeout)

    def aux_rpc_url(self) -> str:
        """The aux node's URL with its credentials (the pool's `--aux-chain` takes them in the URL)."""
        if self.dogecoind is not None:
            return f"http://{DOGECOIN_RPC_USER}:{self.dogecoind.password}@127.0.0.1:{self.dogecoind.rpc_port}/"
        assert self.setup.aux_node is not None
        return self.setup.aux_node.url

    def node_flags(self) -> list[str]:
        flags = ["--node-rpc", self.rpc_url]
        if self.litecoind is not None or (self.setup.node and self.setup.node.cookie):
            flags += ["--node-cookie", str(self.cookie)]
        return flags

    def api_part(self) -> Part:
        part = super().api_part()
        if self.setup.node is not None:
            base, user, password = split_rpc_url(self.setup.node.url)
            if user is not None and password is not None:  # the API takes a user, and the password from
                i = part.argv.index("--node-rpc")          # its environment (not on its command line)
                part.argv[i + 1:i + 2] = [base, "--node-user", user]
                part.env["HASHFORGE_API_NODE_PASSWORD"] = password
        return part

    def aux_flags(self) -> list[str]:
        if self.aux is None:
            return []
        return ["--aux-chain", f"{self.aux.name},{self.aux_rpc_url()},{self.aux_address}"]

    def port_checks(self) -> list[tuple[int, str, str]]:
        # an attached litecoind's port is in use by design
        checks = [c for c in super().port_checks() if self.litecoind is not None or c[2] != "--rpc-port"]
        if self.dogecoind is not None:
            checks.append((self.dogecoind.rpc_port, "dogecoind RPC", "--aux-rpc-port"))
        return checks

    def ready_lines(self) -> list[str]:
        lines = [f"  litecoind   {split_rpc_url(self.rpc_url)[0]}" + (" (started by up)" if self.litecoind else " (attached)")]
        if self.aux is not None:
            where = f"http://127.0.0.1:{self.dogecoind.rpc_port}/ (started by up)" if self.dogecoind else \
                f"{split_rpc_url(self.aux_rpc_url())[0]} (attached)"
            lines.append(f"  dogecoind   {where}, merge-mined")
        return lines

    def watched_chains(self) -> list[WatchedChain]:
        chains = super().watched_chains()
        if self.aux is not None:
            chains.append(WatchedChain(self.aux, self.aux_rpc, self.aux_address))
        return chains

    # --- start ----------------------------------------------------------------------------------

    def backend_parts(self) -> list[Part]:
        """litecoind and dogecoind as supervised parts (none for an attached node). Runs after the
        datadir is locked: it writes the chain state and dogecoind's credentials."""
        parts = []
        if self.litecoind is not None:
            if self._mweb_mode() == "off":
                self.litecoind.extra.append(MWEB_OFF)
            parts.append(self.litecoind.part("litecoind", self.logs / "litecoind.log"))
        if self.dogecoind is not None:
            self.dogecoind.password = secret_file(self.datadir / "dogecoind.rpc-password")
            parts.append(self.dogecoind.part("dogecoind", self.logs / "dogecoind.log"))
        return parts

    def _state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else {}

    def _save_state(self, **changes: Any) -> None:
        self.state_file.write_text(json.dumps({**self._state(), **changes}))

    def _mweb_mode(self) -> str:
        """How this regtest chain treats MWEB: 'replay' (activated by replayed blocks), 'off'
        (never activates), or 'network' (not regtest: as the network has it)."""
        if not is_regtest(self.params):
            return "network"
        fresh = not (self.datadir / "litecoind" / "regtest" / "blocks").exists()
        mode = self._state().get("mweb")
        if mode is None:
            mode = "replay" if self.setup.replay_blocks else ("off" if fresh else "on")
            self._save_state(mweb=mode)
        if self.setup.replay_blocks and mode == "off":
            raise UpError(f"the Litecoin chain in {self.datadir} was made with MWEB off: --replay-blocks needs "
                          "a new --datadir")
        return mode

    def ensure_wallet(self) -> str:
        """The Litecoin address (up's wallet, as on Bitcoin) and the aux chain's: --aux-address, or
        a second wallet of up's for that coin in DATADIR/wallet-NETWORK."""
        address = super().ensure_wallet()
        if self.aux is not None:
            self.aux_address = self.setup.aux_address or self._state().get("aux_address") or self._aux_wallet_address()
            self._save_state(aux_address=self.aux_address)
        return address

    def _aux_wallet_address(self) -> str:
        from hashforge.wallet import Wallet
        from hashforge.wallet.errors import WalletError
        from hashforge.wallet.wallet import DB_FILE

        assert self.aux is not None
        wallet_dir = self.datadir / f"wallet-{self.aux.name}"
        passphrase = secret_file(self.passphrase_file)
        client = self.aux_rpc()
        try:
            if (wallet_dir / DB_FILE).exists():
                wallet = Wallet.open(wallet_dir, self.aux, rpc=client)
                wallet.unlock(passphrase)
            else:
                wallet, _mnemonic = Wallet.create(wallet_dir, self.aux, passphrase, rpc=client)
            with contextlib.closing(wallet):
                return wallet.new_address()
        # a wallet that cannot encode this network's addresses fails an assertion when it fills its
        # address book (Dogecoin has no segwit addresses); the operator can still give one
        except (WalletError, AssertionError, ValueError) as e:
            detail = f" ({e})" if str(e) else ""
            raise UpError(f"hashforge's wallet cannot make {self.aux.name} addresses{detail}: "
                          f"give the {self.aux.coin} payout address with --aux-address") from None
        finally:
            client.close()

    def prepare_chains(self, progress: Callable[[str], None]) -> None:
        if self.litecoind is not None and self.setup.replay_blocks is not None:
            self._replay(self.setup.replay_blocks, progress)
        if self.aux is not None and is_regtest(self.aux):
            client = self.aux_rpc(120)
            try:
                height = int(client.call("getblockcount"))
                if height < AUXPOW_START_REGTEST - 1:
                    progress(f"mining {self.aux.name} blocks {height + 1}..{AUXPOW_START_REGTEST - 1} "
                             f"(AuxPoW starts at {AUXPOW_START_REGTEST})")
                    client.call("generatetoaddress", AUXPOW_START_REGTEST - 1 - height, self.aux_address)
            finally:
                client.close()

    def _replay(self, path: Path, progress: Callable[[str], None]) -> None:
        """Submits the blocks of `path` (raw hex, block N on line N) above the chain's height."""
        blocks = path.read_text().split()
        client = self.rpc(120)
        try:
            height = int(client.call("getblockcount"))
            if height >= len(blocks):
                return
            progress(f"replaying blocks {height + 1}..{len(blocks)} of {path.name} into litecoind")
            for n, raw in enumerate(blocks[height:], start=height + 1):
                result = client.call("submitblock", raw)
                if result is not None:
                    raise UpError(f"litecoind refused block {n} of {path}: {result}")
        finally:
            client.close()
