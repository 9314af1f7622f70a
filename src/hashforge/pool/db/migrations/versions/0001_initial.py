"""Initial pool schema: shares, blocks, credits ledger, payouts, pool_state.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "shares",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("instance", sa.Integer, nullable=False),
        sa.Column("address", sa.String(128), nullable=False),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("difficulty", sa.Float, nullable=False),
        sa.Column("actual_difficulty", sa.Float, nullable=False),
        sa.Column("network_difficulty", sa.Float, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("block_reward", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.Column("is_block", sa.Boolean, nullable=False),
    )
    op.create_index("ix_shares_ts", "shares", ["ts"])
    op.create_index("ix_shares_address_ts", "shares", ["address", "ts"])
    op.create_index("ix_shares_hash", "shares", ["hash"])
    op.create_table(
        "blocks",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
        sa.Column("share_id", sa.BigInteger, nullable=True),
        sa.Column("instance", sa.Integer, nullable=False),
        sa.Column("address", sa.String(128), nullable=False),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("reward", sa.BigInteger, nullable=False),
        sa.Column("network_difficulty", sa.Float, nullable=False),
        sa.Column("effort", sa.Float, nullable=True),
        sa.Column("scheme", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("submit_result", sa.Text, nullable=True),
        sa.Column("credited", sa.Boolean, nullable=False),
        sa.Column("found_at", sa.Float, nullable=False),
        sa.Column("settled_at", sa.Float, nullable=True),
    )
    op.create_index("ix_blocks_status", "blocks", ["status"])
    op.create_table(
        "payouts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("txid", sa.String(64), nullable=False, unique=True),
        sa.Column("raw_tx", sa.Text, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_payouts_status", "payouts", ["status"])
    op.create_table(
        "payout_items",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("payout_id", sa.BigInteger, sa.ForeignKey("payouts.id"), nullable=False),
        sa.Column("address", sa.String(128), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_payout_items_address", "payout_items", ["address"])
    op.create_table(
        "credits",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("address", sa.String(128), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("block_id", sa.BigInteger, sa.ForeignKey("blocks.id"), nullable=True),
        sa.Column("payout_id", sa.BigInteger, sa.ForeignKey("payouts.id"), nullable=True),
    )
    op.create_index("ix_credits_address", "credits", ["address"])
    op.create_index("ix_credits_block", "credits", ["block_id"])
    op.create_table(
        "pool_state",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in ("pool_state", "credits", "payout_items", "payouts", "blocks", "shares"):
        op.drop_table(name)
