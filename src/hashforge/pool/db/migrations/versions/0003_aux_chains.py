"""Merged mining: books per coin. Blocks, credits and payouts name their chain (NULL: the pool's own,
so every earlier row stays the parent coin's); payout items the aux address paid; each miner's
aux-coin payout address per aux chain.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite's ALTER TABLE cannot add an index-backed column otherwise (PostgreSQL alters in place)
    with op.batch_alter_table("blocks") as t:
        t.add_column(sa.Column("chain", sa.String(32), nullable=True))
        t.create_index("ix_blocks_chain_status", ["chain", "status"])
    with op.batch_alter_table("credits") as t:
        t.add_column(sa.Column("chain", sa.String(32), nullable=True))
    with op.batch_alter_table("payouts") as t:
        t.add_column(sa.Column("chain", sa.String(32), nullable=True))
    with op.batch_alter_table("payout_items") as t:
        t.add_column(sa.Column("pay_to", sa.String(128), nullable=True))
    op.create_table(
        "aux_addresses",
        sa.Column("address", sa.String(128), primary_key=True),
        sa.Column("chain", sa.String(32), primary_key=True),
        sa.Column("aux_address", sa.String(128), nullable=False),
        sa.Column("set_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("aux_addresses")
    with op.batch_alter_table("payout_items") as t:
        t.drop_column("pay_to")
    with op.batch_alter_table("payouts") as t:
        t.drop_column("chain")
    with op.batch_alter_table("credits") as t:
        t.drop_column("chain")
    with op.batch_alter_table("blocks") as t:
        t.drop_index("ix_blocks_chain_status")
        t.drop_column("chain")
