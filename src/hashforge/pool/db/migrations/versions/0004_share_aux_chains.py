"""Merged mining: each share names the aux chains whose work its job carried (`shares.aux_chains`,
",dogecoin-regtest,"; "" for none), so an aux chain's books credit only shares that could have
found its block (not those made while its node was away, or before the pool merged it).

Shares recorded before this revision are marked with every aux chain the database has books of
(blocks, credits, payouts, miners' aux addresses, or a PPS start in pool_state): that is how the
pool counted them when it credited them, so a PPLNS window or PROP round that spans the upgrade,
and PPS shares not yet credited, come out as they would have; which of them were made while an
aux node was away cannot be known any more. A database without merged-mining books marks them
none: those shares never carried aux work (a pool that later merges a chain starts its first
round there, not at the first share it ever recorded).

Both backends add the column without rewriting the table where they can: PostgreSQL (11+) keeps
the old rows' value as the column's "missing value" and only the default changes after; SQLite
adds it in place, then updates the old rows when there is something to mark.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def merged_chains(conn: sa.Connection) -> list[str]:
    """The aux chains this database keeps books of."""
    found: set[str] = set()
    for table in ("blocks", "credits", "payouts", "aux_addresses"):
        found |= {c for (c,) in conn.execute(sa.text(f"SELECT DISTINCT chain FROM {table} WHERE chain IS NOT NULL"))}
    keys = conn.execute(sa.text("SELECT key FROM pool_state WHERE key LIKE 'pps_last_share_id:%'"))
    found |= {k.split(":", 1)[1] for (k,) in keys}
    return sorted(found)


def upgrade() -> None:
    conn = op.get_bind()
    chains = merged_chains(conn)
    old = f",{','.join(chains)}," if chains else ""  # as repositories.aux_chains_text writes it
    postgres = conn.dialect.name == "postgresql"
    op.add_column("shares", sa.Column("aux_chains", sa.String(255), nullable=False,
                                      server_default=old if postgres else ""))
    if not old:
        return
    if postgres:
        op.alter_column("shares", "aux_chains", server_default="")
    else:
        op.execute(sa.text("UPDATE shares SET aux_chains = :old").bindparams(old=old))


def downgrade() -> None:
    with op.batch_alter_table("shares") as t:
        t.drop_column("aux_chains")
