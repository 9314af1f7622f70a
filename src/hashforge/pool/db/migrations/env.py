"""Alembic environment: runs on the connection `migrate()` passes in (online mode only)."""

from __future__ import annotations

from alembic import context

from hashforge.pool.db.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - `alembic` CLI use: needs an engine
    engine = context.config.attributes["engine"]
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
