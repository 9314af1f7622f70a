"""Contract errors: each maps to one HTTP status at the pool's API and one line on the CLI."""

from __future__ import annotations

from ..errors import PoolError


class ContractError(PoolError):
    """Bad input for a contract (400)."""

    status = 400


class ContractNotFound(ContractError):
    status = 404


class ContractConflict(ContractError):
    """The request is well-formed but the books refuse it: over-selling, cancelling twice (409)."""

    status = 409
