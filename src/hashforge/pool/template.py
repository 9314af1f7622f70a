"""A getblocktemplate result as a typed value, and the coinbase/job/block built from it.

Coinbase layout (non-witness serialization, what Stratum miners hash):

    coinb1 = version | 1 input | null prevout | scriptSig length |
             BIP34 height push | coinbaseaux flags | merged-mining commitment (44 bytes, merged.py)
    then     extranonce1 (4 bytes: instance prefix + counter) | extranonce2 (8 bytes)
    coinb2 = coinbase tag | sequence | outputs (payouts, then the witness commitment) | locktime

The block submitted to the node carries the coinbase *with* its witness (the 32-byte zero
reserved value), so it is valid for bitcoind too, not only for nodes that re-add it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hashforge.consensus.block import (
    merkle_branch,
    merkle_root,
    witness_commitment,
    witness_commitment_script,
)
from hashforge.consensus.pow import bip34_height_script, difficulty
from hashforge.consensus.serialize import ser_compact_size
from hashforge.stratum import Job

from .coins import mweb_tail
from .errors import BackendError

if TYPE_CHECKING:
    from .merged import AuxBundle

EXTRANONCE1_SIZE = 4
MAX_SCRIPT_SIG = 100
ZERO32 = b"\x00" * 32


def _hash256(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


@dataclass(frozen=True)
class Template:
    """What the pool uses of one getblocktemplate reply (hashes in internal byte order)."""

    height: int
    version: int
    prev_hash: bytes
    bits: int
    curtime: int
    mintime: int
    coinbase_value: int
    transactions: tuple[bytes, ...]
    txids: tuple[bytes, ...]
    wtxids: tuple[bytes, ...]
    segwit: bool
    coinbase_flags: bytes
    longpollid: str | None
    mweb: bytes | None = None  # Litecoin: the MWEB block that follows the transactions (coins.py)
    aux: AuxBundle | None = None  # merged mining: the aux chains this work commits to (merged.py)

    @classmethod
    def from_gbt(cls, gbt: Any) -> Template:
        try:
            txs = gbt.get("transactions", [])
            return cls(
                height=int(gbt["height"]),
                version=int(gbt["version"]),
                prev_hash=bytes.fromhex(gbt["previousblockhash"])[::-1],
                bits=int(gbt["bits"], 16),
                curtime=int(gbt["curtime"]),
                mintime=int(gbt.get("mintime", 0)),
                coinbase_value=int(gbt["coinbasevalue"]),
                transactions=tuple(bytes.fromhex(t["data"]) for t in txs),
                txids=tuple(bytes.fromhex(t["txid"])[::-1] for t in txs),
                wtxids=tuple(bytes.fromhex(t.get("hash", t["txid"]))[::-1] for t in txs),
                segwit="segwit" in gbt.get("rules", []) or "!segwit" in gbt.get("rules", []),
                coinbase_flags=bytes.fromhex(gbt.get("coinbaseaux", {}).get("flags", "")),
                longpollid=gbt.get("longpollid"),
                mweb=bytes.fromhex(gbt["mweb"]) if gbt.get("mweb") else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise BackendError(f"bad getblocktemplate reply: {e!r}") from None

    @property
    def network_difficulty(self) -> float:
        return difficulty(self.bits)

    @property
    def ceiling_difficulty(self) -> float:
        """The lowest block difficulty this work serves (the parent's or an aux chain's): share
        difficulty above it would withhold that chain's blocks on a real network."""
        if self.aux is None:
            return self.network_difficulty
        return min(self.network_difficulty, *(w.difficulty for w in self.aux.works))

    def same_work(self, other: Template) -> bool:
        return (self.prev_hash == other.prev_hash and self.txids == other.txids and self.bits == other.bits
                and self.aux_commitment == other.aux_commitment)

    @property
    def aux_commitment(self) -> bytes:
        """The merged-mining bytes of the coinbase scriptSig (none without aux chains)."""
        return self.aux.commitment if self.aux is not None else b""


@dataclass(frozen=True)
class PoolJob:
    """One template bound to one set of coinbase outputs: the Stratum job and how to make a block."""

    template: Template
    job: Job
    template_seq: int

    @property
    def job_id(self) -> str:
        return self.job.job_id

    def coinbase_with_witness(self, extranonce1: bytes, extranonce2: bytes) -> bytes:
        stripped = self.job.coinbase(extranonce1, extranonce2)
        if not self.template.segwit:
            return stripped
        # version | marker+flag | inputs+outputs | witness (one item: 32 zero bytes) | locktime
        return stripped[:4] + b"\x00\x01" + stripped[4:-4] + b"\x01\x20" + ZERO32 + stripped[-4:]

    def block(self, extranonce1: bytes, extranonce2: bytes, header: bytes) -> bytes:
        txs = self.template.transactions
        return (
            header
            + ser_compact_size(1 + len(txs))
            + self.coinbase_with_witness(extranonce1, extranonce2)
            + b"".join(txs)
            + mweb_tail(self.template.mweb)
        )


def coinbase_parts(
    template: Template,
    outputs: list[tuple[bytes, int]],
    tag: bytes,
    extranonce_size: int,
) -> tuple[bytes, bytes]:
    """(coinb1, coinb2) for `outputs` (script, value) plus the witness commitment."""
    prefix = bip34_height_script(template.height) + template.coinbase_flags + template.aux_commitment
    room = MAX_SCRIPT_SIG - len(prefix) - extranonce_size
    tag = tag[: max(0, room)]
    script_len = len(prefix) + extranonce_size + len(tag)
    outs = list(outputs)
    if template.segwit:
        leaves = [ZERO32, *template.wtxids]
        root, _ = merkle_root(leaves)
        outs.append((witness_commitment_script(witness_commitment(root)), 0))
    ser_outs = ser_compact_size(len(outs)) + b"".join(
        value.to_bytes(8, "little") + ser_compact_size(len(script)) + script for script, value in outs
    )
    coinb1 = (
        (1).to_bytes(4, "little")
        + b"\x01"
        + ZERO32
        + b"\xff\xff\xff\xff"
        + ser_compact_size(script_len)
        + prefix
    )
    coinb2 = tag + b"\xff\xff\xff\xff" + ser_outs + (0).to_bytes(4, "little")
    return coinb1, coinb2


def make_job(
    template: Template,
    template_seq: int,
    job_id: str,
    outputs: list[tuple[bytes, int]],
    tag: bytes,
    extranonce2_size: int,
    clean: bool,
) -> PoolJob:
    coinb1, coinb2 = coinbase_parts(template, outputs, tag, EXTRANONCE1_SIZE + extranonce2_size)
    branch = merkle_branch([ZERO32, *template.txids], 0) if template.txids else []
    job = Job(
        job_id=job_id,
        prev_hash=template.prev_hash,
        coinb1=coinb1,
        coinb2=coinb2,
        merkle_branch=tuple(branch),
        version=template.version,
        bits=template.bits,
        time=template.curtime,
        clean_jobs=clean,
    )
    return PoolJob(template, job, template_seq)


def payout_outputs(
    reward: int, payee_script: bytes, fee_percent: float, fee_script: bytes | None
) -> list[tuple[bytes, int]]:
    """The coinbase outputs: everything to `payee_script`, less the pool fee to `fee_script`."""
    fee = int(reward * fee_percent / 100) if fee_script is not None else 0
    if fee <= 0 or fee_script is None:
        return [(payee_script, reward)]
    return [(payee_script, reward - fee), (fee_script, fee)]
