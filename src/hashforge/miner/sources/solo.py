"""Solo mining: getblocktemplate (BIP22/23, segwit rule, longpoll) -> work; blocks -> submitblock.

The template is put in Stratum form (coinb1 | extranonce1 | extranonce2 | coinb2 and a merkle
branch) so the scheduler and devices treat pool and solo work alike. The coinbase pays the whole
`coinbasevalue` to the user's address (any standard type: P2PKH, P2SH, P2WPKH, P2WSH, P2TR),
starts its scriptSig with the BIP34 height, and carries the template's
`default_witness_commitment`; the block's coinbase gets the 32-byte witness reserved value.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hashforge.consensus.address import AddressError, address_to_script
from hashforge.consensus.block import merkle_branch
from hashforge.consensus.params import ChainParams, PowAlgorithm, UnknownNetworkError, get_params
from hashforge.consensus.pow import bip34_height_script, bits_to_target
from hashforge.consensus.script import push_data
from hashforge.consensus.serialize import ser_compact_size
from hashforge.consensus.tx import Transaction, TxIn, TxOut
from hashforge.rpcclient import AsyncRPCClient, RPCClientError, RPCTransportError, submit_block
from hashforge.stratum import Job, target_to_difficulty

from ..aio import cancel_and_wait, sleep_unless_cancelled
from ..errors import ConfigError
from ..work import Share, ShareResult, Verdict, Work
from .base import PoolStatus, WorkSource

log = logging.getLogger("hashforge.miner")

EXTRANONCE1_SIZE = 4
EXTRANONCE2_SIZE = 8
COINBASE_TAG = b"/hashforge/"
WITNESS_RESERVED_VALUE = b"\x00" * 32
GBT_RULES = ["segwit"]


@dataclass(frozen=True)
class Template:
    """The parts of a getblocktemplate answer the miner uses."""

    height: int
    version: int
    prev_hash: bytes  # internal order
    bits: int
    target: int
    curtime: int
    coinbase_value: int
    txs: tuple[bytes, ...]  # raw transactions (with witness)
    txids: tuple[bytes, ...]  # internal order
    witness_commitment: bytes | None  # the output script, if the template has one
    longpollid: str | None

    @classmethod
    def from_rpc(cls, t: dict[str, Any]) -> Template:
        txs = t.get("transactions", [])
        commitment = t.get("default_witness_commitment")
        return cls(
            height=int(t["height"]),
            version=int(t["version"]),
            prev_hash=bytes.fromhex(t["previousblockhash"])[::-1],
            bits=int(t["bits"], 16),
            target=int(t["target"], 16) if "target" in t else bits_to_target(int(t["bits"], 16)),
            curtime=int(t["curtime"]),
            coinbase_value=int(t["coinbasevalue"]),
            txs=tuple(bytes.fromhex(x["data"]) for x in txs),
            txids=tuple(bytes.fromhex(x["txid"])[::-1] for x in txs),
            witness_commitment=bytes.fromhex(commitment) if commitment else None,
            longpollid=t.get("longpollid"),
        )


def coinbase_parts(t: Template, payout_script: bytes, tag: bytes = COINBASE_TAG) -> tuple[bytes, bytes]:
    """(coinb1, coinb2) of the coinbase (without witness) around a 12-byte extranonce push."""
    en_len = EXTRANONCE1_SIZE + EXTRANONCE2_SIZE
    height = bip34_height_script(t.height)
    script_sig_len = len(height) + 1 + en_len + len(push_data(tag))
    outputs = [TxOut(t.coinbase_value, payout_script)]
    if t.witness_commitment is not None:
        outputs.append(TxOut(0, t.witness_commitment))
    coinb1 = (
        (2).to_bytes(4, "little")
        + b"\x01"
        + b"\x00" * 32
        + b"\xff\xff\xff\xff"
        + ser_compact_size(script_sig_len)
        + height
        + bytes([en_len])
    )
    coinb2 = (
        push_data(tag)
        + b"\xff\xff\xff\xff"
        + ser_compact_size(len(outputs))
        + b"".join(o.serialize() for o in outputs)
        + (0).to_bytes(4, "little")
    )
    return coinb1, coinb2


def assemble_block(header: bytes, coinbase: bytes, t: Template) -> bytes:
    """The full block: the coinbase gets the witness reserved value when segwit commits."""
    tx = Transaction.from_bytes(coinbase, allow_witness=False)
    if t.witness_commitment is not None:
        vin0 = tx.vin[0]
        tx = Transaction(tx.version, (TxIn(vin0.prevout, vin0.script_sig, vin0.sequence, (WITNESS_RESERVED_VALUE,)),
                                      *tx.vin[1:]), tx.vout, tx.locktime)
    return header + ser_compact_size(1 + len(t.txs)) + tx.serialize() + b"".join(t.txs)


CORE_CHAIN_NAMES = {"main": "mainnet", "test": "testnet3"}


class SoloSource(WorkSource):
    kind = "gbt"

    def __init__(
        self,
        index: int,
        url: str,
        address: str,
        *,
        user: str | None = None,
        password: str | None = None,
        cookie: Path | None = None,
        algo: str = "sha256d",
        priority: int | None = None,
        refresh: float = 30.0,
        ntime_window: int = 600,
        backoff: tuple[float, float] = (1.0, 30.0),
        tag: bytes = COINBASE_TAG,
    ) -> None:
        super().__init__(index, url, user or "", password or "", priority)
        self.address = address
        self.cookie = cookie
        self.algo = algo
        self.refresh = refresh
        self.ntime_window = ntime_window
        self.backoff = backoff
        self.tag = tag
        self.extranonce1 = os.urandom(EXTRANONCE1_SIZE)  # two solo miners on one address never collide
        self.params: ChainParams | None = None
        self.payout_script = b""
        self._templates: dict[str, Template] = {}
        self._job_ids = itertools.count(1)
        self._rpc: AsyncRPCClient | None = None
        self._kick = asyncio.Event()
        self._submit_lock = asyncio.Lock()
        self._solved: set[bytes] = set()
        self.blocks_submitted = 0

    def _client(self) -> AsyncRPCClient:
        if self._rpc is None:
            self._rpc = AsyncRPCClient(self.url, self.user or None, self.password or None,
                                       self.cookie, timeout=30.0)
        return self._rpc

    async def prepare(self) -> None:
        """Learns the node's network and checks the payout address against it (ConfigError)."""
        info = await self._client().call("getblockchaininfo")
        chain = str(info.get("chain", ""))
        try:
            self.params = get_params(CORE_CHAIN_NAMES.get(chain, chain))
        except UnknownNetworkError:
            raise ConfigError(f"the node is on an unknown network {chain!r}") from None
        want = PowAlgorithm.SCRYPT if self.algo == "scrypt" else PowAlgorithm.SHA256D
        if self.params.pow_algorithm != want:
            raise ConfigError(f"the node's network {self.params.name} mines {self.params.pow_algorithm}, "
                              f"not {self.algo} (use --algo {self.params.pow_algorithm})")
        try:
            self.payout_script = address_to_script(self.address, self.params)
        except AddressError as e:
            raise ConfigError(f"payout address {self.address!r}: {e}") from None
        log.info("solo: mining on %s to %s", self.params.name, self.address)

    async def run(self) -> None:
        delay = self.backoff[0]
        try:
            while True:
                try:
                    if self.params is None:
                        await self.prepare()
                    await self._template_loop()
                except (RPCTransportError, RPCClientError, KeyError, ValueError, TypeError) as e:
                    if isinstance(e, ConfigError):
                        raise
                    self.last_error = str(e)
                    log.error("solo %s: %s; retrying", self.url, e)
                    self.get_failures += 1
                    self.set_status(PoolStatus.DEAD)
                    self.set_work(None)
                    await sleep_unless_cancelled(delay)
                    delay = min(delay * 2, self.backoff[1])
        finally:
            if self._rpc is not None:
                with contextlib.suppress(Exception):
                    await self._rpc.aclose()
                self._rpc = None

    async def _template_loop(self) -> None:
        rpc = self._client()
        t = Template.from_rpc(await rpc.call("getblocktemplate", {"rules": GBT_RULES}))
        while True:
            self._set_template(t)
            self.set_status(PoolStatus.ALIVE)
            self._kick.clear()
            req: dict[str, Any] = {"rules": GBT_RULES}
            if t.longpollid:
                req["longpollid"] = t.longpollid
            lp = asyncio.create_task(rpc.call("getblocktemplate", req, timeout=self.refresh + 30))
            kick = asyncio.create_task(self._kick.wait())
            try:
                done, _ = await asyncio.wait({lp, kick}, timeout=self.refresh, return_when=asyncio.FIRST_COMPLETED)
                if lp in done:
                    t = Template.from_rpc(lp.result())
                    continue
            finally:
                await cancel_and_wait([lp, kick])
            t = Template.from_rpc(await rpc.call("getblocktemplate", {"rules": GBT_RULES}))

    def _set_template(self, t: Template) -> None:
        job_id = f"{next(self._job_ids):x}"
        coinb1, coinb2 = coinbase_parts(t, self.payout_script, self.tag)
        branch = tuple(merkle_branch([b"\x00" * 32, *t.txids], 0))
        new_block = self.current is None or self.current.job.prev_hash != t.prev_hash
        job = Job(job_id, t.prev_hash, coinb1, coinb2, branch, t.version, t.bits, t.curtime, new_block)
        if new_block:
            self.epoch += 1
            self._templates.clear()
        self._templates[job_id] = t
        self.current_height = t.height
        self.jobs_received += 1
        self.set_work(Work(
            source=self.index,
            job=job,
            extranonce1=self.extranonce1,
            extranonce2_size=EXTRANONCE2_SIZE,
            difficulty=target_to_difficulty(t.target, scrypt=self.algo == "scrypt"),
            target=t.target,
            block_target=t.target,
            ntime_window=self.ntime_window,
            algo=self.algo,
            epoch=self.epoch,
        ))

    def is_stale(self, work: Work) -> bool:
        return work.epoch != self.epoch or work.job_id not in self._templates or work.job.prev_hash in self._solved

    async def _send_share(self, share: Share) -> ShareResult:
        async with self._submit_lock:  # one block per template: later finds on a solved tip are stale
            if share.work.job.prev_hash in self._solved:
                return ShareResult(Verdict.STALE, "a block on this tip was already found")
            self._solved.add(share.work.job.prev_hash)
            self.epoch += 1  # everything else found on this tip is stale now
            if self.current is not None and self.current.job.prev_hash == share.work.job.prev_hash:
                self.set_work(None)  # stop hashing on this tip; the next template follows at once
            result = await self._submit_block(share)
            if result.verdict != Verdict.ACCEPTED:
                self._solved.discard(share.work.job.prev_hash)
            return result

    async def _submit_block(self, share: Share) -> ShareResult:
        t = self._templates.get(share.work.job_id)
        if t is None:
            return ShareResult(Verdict.STALE, "template replaced")
        coinbase = share.work.job.coinbase(share.work.extranonce1, share.extranonce2)
        block = assemble_block(share.header, coinbase, t)
        try:  # waits for a node that is down or restarting: a found block is not given up
            result = await submit_block(self._client(), block.hex(), self.backoff)
        except RPCClientError as e:
            return ShareResult(Verdict.REJECTED, str(e))
        finally:
            self._kick.set()  # a new template now, not at the next longpoll
        self.blocks_submitted += 1
        if result is None:
            log.info("solo: block %s at height %d accepted", share.pow_hash[::-1].hex(), t.height)
            return ShareResult(Verdict.ACCEPTED, block=True)
        if result == "inconclusive":
            return ShareResult(Verdict.ACCEPTED, "inconclusive", block=True)
        log.warning("solo: block rejected: %s", result)
        return ShareResult(Verdict.STALE if "prev" in str(result) or result == "duplicate" else Verdict.REJECTED,
                           str(result))
