"""The pool's exception tree: one root, one branch per role."""

from __future__ import annotations

from hashforge.stratum import StratumErrorCode


class PoolError(Exception):
    """Root of every error the pool raises on purpose."""


class ConfigError(PoolError):
    """A configuration value is missing, unsafe or out of range."""


class ShareRejected(PoolError):
    """A submitted share is invalid; `code` is the Stratum error code (20-25) sent back."""

    def __init__(self, code: StratumErrorCode, reason: str) -> None:
        super().__init__(f"{reason} ({int(code)})")
        self.code = code
        self.reason = reason


class BackendError(PoolError):
    """The node (getblocktemplate/submitblock backend) failed or answered nonsense."""


class RecorderError(PoolError):
    """The share pipeline could not make a share durable (database and spill file both failed)."""


class PayoutError(PoolError):
    """A payout could not be built, recorded or broadcast."""
