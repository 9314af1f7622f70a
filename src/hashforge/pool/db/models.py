"""The pool's tables. Times are Unix seconds (float); money is integer satoshis (BigInteger).

Balances are a ledger (`credits`): block credits (immature until their block is confirmed),
PPS credits, reversals of an orphaned block's credits, and payouts (negative, tied to a payout).
Nothing is ever updated in place except status columns, so the books can be audited.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

# SQLite only autoincrements INTEGER PRIMARY KEY
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

shares = Table(
    "shares",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("instance", Integer, nullable=False),
    Column("address", String(128), nullable=False),
    Column("worker", String(64), nullable=False),
    Column("difficulty", Float, nullable=False),
    Column("actual_difficulty", Float, nullable=False),
    Column("network_difficulty", Float, nullable=False),
    Column("height", Integer, nullable=False),
    Column("block_reward", BigInteger, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    Column("is_block", Boolean, nullable=False),
    Index("ix_shares_ts", "ts"),
    Index("ix_shares_address_ts", "address", "ts"),
    Index("ix_shares_hash", "hash"),
)

blocks = Table(
    "blocks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("height", Integer, nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Column("share_id", BigInteger, nullable=True),
    Column("instance", Integer, nullable=False),
    Column("address", String(128), nullable=False),
    Column("worker", String(64), nullable=False),
    Column("reward", BigInteger, nullable=False),
    Column("network_difficulty", Float, nullable=False),
    Column("effort", Float, nullable=True),
    Column("scheme", String(8), nullable=False),
    Column("status", String(16), nullable=False),  # pending, confirmed, orphaned, rejected
    Column("submit_result", Text, nullable=True),
    Column("credited", Boolean, nullable=False),
    Column("found_at", Float, nullable=False),
    Column("settled_at", Float, nullable=True),
    Index("ix_blocks_status", "status"),
)

credits = Table(
    "credits",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("address", String(128), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # block, pps, reversal, payout, refund
    Column("block_id", BigInteger, ForeignKey("blocks.id"), nullable=True),
    Column("payout_id", BigInteger, ForeignKey("payouts.id"), nullable=True),
    Index("ix_credits_address", "address"),
    Index("ix_credits_block", "block_id"),
)

payouts = Table(
    "payouts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("status", String(16), nullable=False),  # built, broadcast, confirmed
    Column("txid", String(64), nullable=False, unique=True),
    Column("raw_tx", Text, nullable=False),
    Column("total", BigInteger, nullable=False),
    Index("ix_payouts_status", "status"),
)

payout_items = Table(
    "payout_items",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("payout_id", BigInteger, ForeignKey("payouts.id"), nullable=False),
    Column("address", String(128), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Index("ix_payout_items_address", "address"),
)

pool_state = Table(
    "pool_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
