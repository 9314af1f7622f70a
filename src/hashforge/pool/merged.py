"""Merged mining: the pool mines a parent chain (Litecoin) and commits to blocks of auxiliary
chains (Dogecoin, chain ID 0x62) in the parent coinbase, so one Stratum job serves every chain.

Per aux chain the pool asks its node for work with `createauxblock ADDRESS` (the block hash and
target; Dogecoin's `target` is hex of the target's little-endian bytes, i.e. byte-reversed). The
aux hashes sit in an aux merkle tree of 2^h slots, each chain at the slot Namecoin/Dogecoin's
`getExpectedIndex(nonce, chain_id, h)` gives (the smallest h where no two chains collide; empty
slots hold zero hashes), and the parent coinbase scriptSig carries

    fabe6d6d | tree root (byte-reversed) | tree size (LE32) | nonce (LE32)

(`merged_mining_script`), right after the BIP34 height. A share whose parent header hashes
under an aux chain's target is submitted there as an AuxPoW (`submitauxblock HASH AUXPOW`),
whether or not it also is a parent block; a parent block goes to the parent node as usual.

Each aux block the node answered is handed to `on_found` as a BlockFound of that chain (finder,
reward, difficulty, the share's PoW hash), once the share itself is durable; the pool's books of
that coin (accounting/lifecycle.py, one Accountant per chain) credit it. Each share is recorded
with the aux chains it served (`current`): its job committed to the block that chain's node works
on now. An aux node that stops answering createauxblock drops its chain from the jobs until it
answers again (no block of it could be submitted meanwhile), so shares made while it is away earn
nothing in its coin. Miners name their payout
address per aux coin with `auxaddress.py`'s password convention.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hashforge.consensus.address import address_to_script
from hashforge.consensus.auxpow import (
    MAX_CHAIN_BRANCH,
    AuxPow,
    AuxPowError,
    expected_chain_index,
    merged_mining_script,
)
from hashforge.consensus.block import BlockHeader, merkle_branch, merkle_root
from hashforge.consensus.params import ChainParams, PowAlgorithm, UnknownNetworkError, get_params
from hashforge.consensus.pow import DIFF1_TARGET
from hashforge.consensus.tx import Transaction
from hashforge.logs import Repeated
from hashforge.rpcclient import AsyncRPCClient, RPCClientError, RPCTransportError, split_rpc_url

from .errors import BackendError, ConfigError
from .hashrate import share_scale
from .records import BlockFound, ShareRecord

log = logging.getLogger(__name__)

ZERO32 = b"\x00" * 32


@dataclass(frozen=True)
class AuxChainConfig:
    """One auxiliary chain: its network, its node's RPC and the address its coinbase pays."""

    network: str
    node_url: str
    address: str
    node_user: str | None = None
    node_password: str | None = None
    node_cookie: Path | None = None  # USER:PASSWORD in a file, Core's cookie format (read again on 401)

    @classmethod
    def parse(cls, spec: str) -> AuxChainConfig:
        """NETWORK,RPC_URL,ADDRESS[,COOKIE_FILE]: credentials in the URL (http://USER:PASS@HOST:PORT/)
        or, kept off the command line, in COOKIE_FILE holding USER:PASSWORD."""
        parts = [p.strip() for p in spec.split(",")]
        if len(parts) not in (3, 4) or not all(parts):
            raise ConfigError(f"an aux chain is NETWORK,RPC_URL,ADDRESS[,COOKIE_FILE], not {spec!r}")
        network, url, address = parts[:3]
        cookie = Path(parts[3]) if len(parts) == 4 else None
        if cookie is not None and not cookie.is_file():
            raise ConfigError(f"{cookie}: no such file")
        try:
            params = get_params(network)
        except UnknownNetworkError as e:
            raise ConfigError(str(e)) from None
        if params.auxpow_chain_id is None:
            raise ConfigError(f"{params.name} is not a merge-mined (AuxPoW) network")
        try:
            address_to_script(address, params)
        except ValueError as e:
            raise ConfigError(f"{address!r} is not a {params.name} address: {e}") from None
        base, user, password = split_rpc_url(url)
        return cls(params.name, base, address, user, password, cookie)


def check_parent(parent: ChainParams) -> None:
    """ConfigError unless `parent` can carry AuxPoW chains (a scrypt chain that is not one itself)."""
    if parent.pow_algorithm is not PowAlgorithm.SCRYPT or parent.auxpow_chain_id is not None:
        raise ConfigError(f"merged mining needs a scrypt parent chain (litecoin, litecoin-testnet4, "
                          f"litecoin-regtest), not {parent.name}")


def check_aux_chains(chains: tuple[AuxChainConfig, ...], parent_network: str) -> None:
    """ConfigError (one line) unless `chains` can be merge-mined on `parent_network`: a scrypt
    parent, one node per chain ID."""
    if chains:
        try:
            check_parent(get_params(parent_network))
        except UnknownNetworkError as e:
            raise ConfigError(str(e)) from None
    ids = [get_params(c.network).auxpow_chain_id for c in chains]
    if len(set(ids)) != len(ids):
        raise ConfigError("two aux chains with the same chain ID (one node per aux chain)")


def parse_aux_chains(specs: list[str] | tuple[str, ...], parent_network: str) -> tuple[AuxChainConfig, ...]:
    """--aux-chain values for a pool on `parent_network`; ConfigError (one line) on bad input."""
    chains = tuple(AuxChainConfig.parse(spec) for spec in specs)
    check_aux_chains(chains, parent_network)
    return chains


@dataclass(frozen=True)
class AuxWork:
    """One aux chain's block to commit to (hash in internal byte order; target as an integer)."""

    network: str
    chain_id: int
    block_hash: bytes
    target: int
    height: int
    reward: int = 0  # the aux block's coinbase value (createauxblock's `coinbasevalue`), satoshis

    @classmethod
    def from_createauxblock(cls, network: str, chain_id: int, reply: Any) -> AuxWork:
        try:
            return cls(network, int(reply.get("chainid", chain_id)), bytes.fromhex(reply["hash"])[::-1],
                       int.from_bytes(bytes.fromhex(reply["target"]), "little"), int(reply["height"]),
                       int(reply.get("coinbasevalue", 0)))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise BackendError(f"bad createauxblock reply from {network}: {e!r}") from None

    @property
    def hash_hex(self) -> str:
        return self.block_hash[::-1].hex()

    @property
    def difficulty(self) -> float:
        return DIFF1_TARGET / self.target if self.target else float("inf")


@dataclass(frozen=True)
class AuxBundle:
    """The aux chains of one job: their slots in the aux merkle tree and the coinbase commitment."""

    works: tuple[AuxWork, ...]
    tree_height: int
    nonce: int
    slots: tuple[int, ...]
    branches: tuple[tuple[bytes, ...], ...]
    commitment: bytes

    @classmethod
    def build(cls, works: tuple[AuxWork, ...], nonce: int = 0) -> AuxBundle:
        height = 0
        while True:
            slots = [expected_chain_index(nonce, w.chain_id, height) for w in works]
            if len(set(slots)) == len(slots):
                break
            height += 1
            if height > MAX_CHAIN_BRANCH:
                raise BackendError("aux chains collide in every aux merkle tree size (same chain ID twice?)")
        leaves = [ZERO32] * (1 << height)
        for w, slot in zip(works, slots, strict=True):
            leaves[slot] = w.block_hash
        root, _ = merkle_root(leaves)
        branches = tuple(tuple(merkle_branch(leaves, slot)) for slot in slots)
        return cls(works, height, nonce, tuple(slots), branches,
                   merged_mining_script(root, 1 << height, nonce))

    def met_by(self, pow_hash: bytes) -> list[int]:
        """The aux chains (indexes into `works`) whose target a parent header hashing to `pow_hash`
        meets, whatever the parent's own target."""
        value = int.from_bytes(pow_hash, "little")
        return [i for i, w in enumerate(self.works) if value <= w.target]

    def auxpow(self, i: int, coinbase: bytes, coinbase_branch: tuple[bytes, ...], header: bytes) -> AuxPow:
        """The AuxPoW proving `header` (80 bytes) for aux chain `i`; `coinbase` is the parent
        coinbase without witness, `coinbase_branch` its merkle branch (the Stratum job's)."""
        parent = BlockHeader.from_bytes(header)
        return AuxPow(
            coinbase_tx=Transaction.from_bytes(coinbase),
            parent_hash=parent.hash,
            coinbase_branch=tuple(coinbase_branch),
            coinbase_index=0,
            chain_branch=self.branches[i],
            chain_index=self.slots[i],
            parent_header=parent,
        )


@dataclass
class AuxFound:
    """An AuxPoW submitted to an aux chain and that node's answer (True: accepted)."""

    network: str
    height: int
    block_hash: str
    accepted: bool
    result: Any


@dataclass
class _AuxChain:
    cfg: AuxChainConfig
    params: ChainParams
    rpc: AsyncRPCClient
    work: AuxWork | None = None
    submitted: set[bytes] = field(default_factory=set)


FoundCallback = Callable[[BlockFound, "asyncio.Future[bool] | None"], Awaitable[None]]


class MergedMining:
    """Keeps aux work current (polling each aux node) and submits AuxPoWs for shares that meet an
    aux chain's target. `on_change` is called when the bundle changes (new aux work: new jobs);
    `on_found` with each aux block a node answered (and the share's durability)."""

    def __init__(self, chains: list[AuxChainConfig], poll_interval: float = 0.5) -> None:
        self.chains = [
            _AuxChain(c, get_params(c.network),
                      AsyncRPCClient(c.node_url, c.node_user, c.node_password, c.node_cookie, timeout=60))
            for c in chains
        ]
        self.poll_interval = poll_interval
        self.bundle: AuxBundle | None = None
        self.on_change: Callable[[], Any] | None = None
        self.on_found: FoundCallback | None = None
        self.found: list[AuxFound] = []
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._repeated = Repeated(log)

    def live(self) -> list[dict[str, Any]]:
        """Per aux chain: its coin, the height worked on and the aux blocks found (accepted or not)."""
        out = []
        for c in self.chains:
            found = [f for f in self.found if f.network == c.params.name]
            out.append({"network": c.params.name, "coin": c.params.coin,
                        "height": c.work.height if c.work is not None else None,
                        "difficulty": c.work.difficulty if c.work is not None else None,
                        "blocks_accepted": sum(f.accepted for f in found),
                        "blocks_rejected": sum(not f.accepted for f in found)})
        return out

    def chain_rpc(self, network: str) -> AsyncRPCClient:
        return next(c.rpc for c in self.chains if c.params.name == network)

    def value(self, network: str) -> tuple[float, int] | None:
        """An aux chain's difficulty (in scrypt share units) and block reward now: what a share is
        worth there (PPS); None while its node gives no work."""
        chain = next((c for c in self.chains if c.params.name == network), None)
        if chain is None or chain.work is None or not chain.work.reward:
            return None
        return chain.work.difficulty * share_scale(True), chain.work.reward

    def current(self, bundle: AuxBundle) -> tuple[str, ...]:
        """The aux chains a share of a job carrying `bundle` serves: those whose block in it is
        the one their node works on now (the blocks `on_share` would submit). A share earns in
        these coins only (`ShareRecord.aux_chains`)."""
        now = {c.params.name: c.work.block_hash for c in self.chains if c.work is not None}
        return tuple(w.network for w in bundle.works if now.get(w.network) == w.block_hash)

    async def poll_once(self) -> bool:
        """Asks every aux node for work; True when the bundle changed. A node that does not
        answer loses its chain's work (jobs from then on carry none of it) until it answers again."""
        changed = False
        for chain in self.chains:
            chain_id = chain.params.auxpow_chain_id or 0
            try:
                reply = await chain.rpc.call("createauxblock", chain.cfg.address)
                work = AuxWork.from_createauxblock(chain.params.name, chain_id, reply)
            except (RPCClientError, RPCTransportError, BackendError) as e:
                self._repeated.warning(chain.params.name, "%s: createauxblock: %s", chain.params.name, e)
                if chain.work is not None:  # no block of it could be submitted now: off the jobs
                    chain.work = None
                    changed = True
                continue
            self._repeated.clear(chain.params.name, f"{chain.params.name}: createauxblock answers again")
            if chain.work is None or chain.work.block_hash != work.block_hash:
                chain.work = work
                changed = True
        if changed:
            works = tuple(c.work for c in self.chains if c.work is not None)
            self.bundle = AuxBundle.build(works) if works else None
        return changed

    async def start(self) -> None:
        await self.poll_once()
        self._task = asyncio.get_running_loop().create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*([self._task] if self._task else []), *self._tasks, return_exceptions=True)
        for chain in self.chains:
            await chain.rpc.aclose()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            if await self.poll_once() and self.on_change is not None:
                result = self.on_change()
                if asyncio.iscoroutine(result):
                    await result

    def on_share(self, bundle: AuxBundle, pow_hash: bytes, coinbase: bytes,
                 coinbase_branch: tuple[bytes, ...], header: bytes, record: ShareRecord | None = None,
                 durable: asyncio.Future[bool] | None = None) -> None:
        """A share of a job carrying `bundle`: an AuxPoW to each aux chain whose target it meets.
        `record` is the share as recorded (its finder), `durable` resolves once it is stored."""
        for i in bundle.met_by(pow_hash):
            work = bundle.works[i]
            chain = next((c for c in self.chains if c.params.name == work.network), None)
            # only the aux block the node works on now, once: a job made before that chain's last
            # tip change commits to a block whose parent is no longer the tip (or one already taken)
            if chain is None or chain.work is None or chain.work.block_hash != work.block_hash \
                    or work.block_hash in chain.submitted:
                continue
            auxpow = bundle.auxpow(i, coinbase, coinbase_branch, header)
            try:  # our own commitment, checked as dogecoind will before it goes out
                auxpow.check(work.block_hash, work.chain_id, chain.params.auxpow_strict_chain_id)
            except AuxPowError as e:
                log.error("AuxPoW for %s block %s fails its own check: %s", work.network, work.hash_hex, e)
                continue
            chain.submitted = {work.block_hash}  # only the current one matters (bounded)
            task = asyncio.get_running_loop().create_task(self._submit(chain, work, auxpow, record, durable))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _submit(self, chain: _AuxChain, work: AuxWork, auxpow: AuxPow, record: ShareRecord | None,
                      durable: asyncio.Future[bool] | None) -> None:
        try:
            result = await chain.rpc.call("submitauxblock", work.hash_hex, auxpow.serialize().hex())
        except (RPCClientError, RPCTransportError) as e:
            result = f"submitauxblock failed: {e}"
        accepted = result is True  # submitauxblock answers a boolean
        self.found.append(AuxFound(work.network, work.height, work.hash_hex, accepted, result))
        log.info("aux block %s at height %d on %s: %s", work.hash_hex, work.height, work.network,
                 "accepted" if accepted else result)
        if record is not None and self.on_found is not None:
            found = BlockFound(time.time(), record.instance, work.height, work.block_hash, record.address,
                               record.worker, work.reward, work.difficulty * share_scale(True),
                               None if accepted else f"submitauxblock: {result}", pow_hash=record.hash,
                               chain=work.network)
            try:
                await self.on_found(found, durable)
            except Exception:  # the books of that coin; the block itself is on its chain
                log.exception("aux block %s on %s could not be recorded", work.hash_hex, work.network)
        if await self.poll_once() and self.on_change is not None:  # that chain has a new tip
            r = self.on_change()
            if asyncio.iscoroutine(r):
                await r
