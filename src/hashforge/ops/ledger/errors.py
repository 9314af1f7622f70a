"""The ledger's errors: each carries a one-line reason fit for `error: ...` or a problem detail."""

from __future__ import annotations


class LedgerError(ValueError):
    """Base: the input was refused; nothing was written."""


class CSVError(LedgerError):
    """A CSV row (or its header) is malformed: names the file, the line and the field."""

    def __init__(self, name: str, line: int, field: str | None, reason: str) -> None:
        where = f"{name}:{line}" + (f": {field}" if field else "")
        super().__init__(f"{where}: {reason}")
        self.name, self.line, self.field, self.reason = name, line, field, reason


class OverDisposalError(LedgerError):
    """A disposal would spend more coins than the ledger holds at that time."""


class NotFoundError(LedgerError):
    """An id that names no record."""


class ChromiumMissingError(LedgerError):
    """PDF export needs a headless chromium and none is installed."""
