"""Pool storage: one schema (SQLAlchemy Core), Alembic migrations, repositories per aggregate.

SQLite (WAL, synchronous=FULL) is the default; PostgreSQL (`postgresql+psycopg://...`) runs the
same schema for several pool processes sharing one database.
"""

from .engine import make_engine, migrate, transaction
from .models import metadata
from .repositories import (
    AuxAddressRepository,
    BlockRepository,
    LedgerRepository,
    PayoutRepository,
    ShareRepository,
    StateRepository,
)

__all__ = [
    "AuxAddressRepository",
    "BlockRepository",
    "LedgerRepository",
    "PayoutRepository",
    "ShareRepository",
    "StateRepository",
    "make_engine",
    "metadata",
    "migrate",
    "transaction",
]
