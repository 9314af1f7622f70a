"""Cloud mining: customers, hash-rate contracts, accounting periods and the allocation journal.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "contract_customers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "contracts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), sa.ForeignKey("contract_customers.id"), nullable=False),
        sa.Column("payout_address", sa.String(128), nullable=False),
        sa.Column("hashrate", sa.BigInteger, nullable=False),
        sa.Column("start_time", sa.Float, nullable=False),
        sa.Column("end_time", sa.Float, nullable=False),
        sa.Column("price_sat", sa.BigInteger, nullable=True),
        sa.Column("price_fiat", sa.String(40), nullable=True),
        sa.Column("fiat_currency", sa.String(8), nullable=True),
        sa.Column("fee_sat_per_day", sa.BigInteger, nullable=False),
        sa.Column("fee_percent", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("cancelled_at", sa.Float, nullable=True),
    )
    op.create_index("ix_contracts_customer", "contracts", ["customer_id"])
    op.create_table(
        "contract_periods",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False, unique=True),
        sa.Column("block_id", sa.BigInteger, sa.ForeignKey("blocks.id"), nullable=True),
        sa.Column("start_time", sa.Float, nullable=False),
        sa.Column("end_time", sa.Float, nullable=False),
        sa.Column("earned", sa.BigInteger, nullable=False),
        sa.Column("farm_hashrate", sa.Float, nullable=False),
        sa.Column("allocated", sa.BigInteger, nullable=False),
        sa.Column("fees", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "contract_allocations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("period_id", sa.BigInteger, sa.ForeignKey("contract_periods.id"), nullable=False),
        sa.Column("contract_id", sa.BigInteger, sa.ForeignKey("contracts.id"), nullable=False),
        sa.Column("address", sa.String(128), nullable=False),
        sa.Column("active_seconds", sa.Float, nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("hashes", sa.Float, nullable=False),
        sa.Column("gross", sa.BigInteger, nullable=False),
        sa.Column("fee", sa.BigInteger, nullable=False),
        sa.Column("net", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_contract_allocations_contract", "contract_allocations", ["contract_id"])
    op.create_index("ux_contract_allocations_period_contract", "contract_allocations",
                    ["period_id", "contract_id"], unique=True)


def downgrade() -> None:
    op.drop_table("contract_allocations")
    op.drop_table("contract_periods")
    op.drop_table("contracts")
    op.drop_table("contract_customers")
