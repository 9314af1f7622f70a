"""Edge models of the chain router: what clients see. Amounts are integer satoshis; hashes are the
usual display hex (byte-reversed), lower case."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Tip(_Model):
    height: int = Field(ge=0)
    hash: Hex64
    time: int = Field(description="The tip block's header time (Unix seconds).")
    median_time: int = Field(description="Median time past of the tip.")
    difficulty: float = Field(ge=0)
    bits: str = Field(pattern=r"^[0-9a-f]{8}$")
    chainwork: str = Field(pattern=r"^[0-9a-f]{64}$")


class Mining(_Model):
    height: int = Field(ge=0)
    difficulty: float = Field(ge=0, description="Difficulty of the tip block.")
    next_difficulty: float | None = Field(ge=0, description="Difficulty the next block must meet, when known.")
    network_hashrate_hps: float = Field(ge=0, description="Estimated hashes per second over `window` blocks.")
    window: int = Field(ge=1, description="Blocks the estimate spans.")
    mempool_tx: int = Field(ge=0)


class BlockSummary(_Model):
    height: int = Field(ge=0)
    hash: Hex64
    time: int
    tx_count: int = Field(ge=0)
    difficulty: float = Field(ge=0)
    bits: str = Field(pattern=r"^[0-9a-f]{8}$")


class Block(BlockSummary):
    version: int
    previous_hash: Hex64 | None
    merkle_root: Hex64
    nonce: int = Field(ge=0)
    median_time: int
    chainwork: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    stripped_size: int = Field(ge=0)
    weight: int = Field(ge=0)
    confirmations: int = Field(description="-1 when the block is not on the best chain.")


class TxRef(_Model):
    index: int = Field(ge=0, description="Position in the block (0 is the coinbase).")
    txid: Hex64


class TxInput(_Model):
    coinbase: str | None = Field(default=None, description="Coinbase scriptSig (hex), for a coinbase input.")
    txid: Hex64 | None = None
    vout: int | None = Field(default=None, ge=0)
    script_sig: str = Field(description="scriptSig hex (empty for segwit spends).")
    witness: list[str] = Field(description="Witness stack items, hex.")
    sequence: int = Field(ge=0)


class TxOutput(_Model):
    n: int = Field(ge=0)
    value_sat: int = Field(ge=0)
    script_pubkey: str = Field(description="scriptPubKey hex.")
    type: str
    address: str | None = None


class Transaction(_Model):
    txid: Hex64
    wtxid: Hex64
    version: int
    locktime: int = Field(ge=0)
    size: int = Field(ge=0)
    vsize: int = Field(ge=0)
    weight: int = Field(ge=0)
    inputs: list[TxInput]
    outputs: list[TxOutput]
    status: Literal["confirmed", "mempool"]
    block_hash: Hex64 | None = None
    block_height: int | None = Field(default=None, ge=0)
    confirmations: int = Field(ge=0)
    fee_sat: int | None = Field(default=None, ge=0, description="Known for mempool transactions.")


class MempoolSummary(_Model):
    tx_count: int = Field(ge=0)
    vbytes: int = Field(ge=0, description="Sum of the virtual sizes.")
    usage_bytes: int = Field(ge=0, description="Memory the mempool uses.")
    total_fee_sat: int = Field(ge=0)
    max_bytes: int = Field(ge=0)
    min_fee_rate_sat_vb: float = Field(ge=0, description="Lowest fee rate accepted now (sat/vB).")


class MempoolEntry(_Model):
    txid: Hex64
    vsize: int = Field(ge=0)
    weight: int = Field(ge=0)
    fee_sat: int = Field(ge=0)
    fee_rate_sat_vb: float = Field(ge=0)
    time: int = Field(description="When it entered the mempool (Unix seconds).")
    height: int = Field(ge=0, description="Chain height when it entered.")
    ancestor_count: int = Field(ge=1)
    descendant_count: int = Field(ge=1)


class HistoryPoint(_Model):
    height: int = Field(ge=0)
    hash: Hex64
    time: int
    difficulty: float = Field(ge=0)
    network_hashrate_hps: float | None = Field(
        ge=0, description="Work over the `window` blocks ending here divided by their time span; null near genesis."
    )
