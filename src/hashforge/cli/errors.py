"""The one-line error and exit codes: hashforge.cliutil (kept here for hashforge.cli's own modules)."""

from hashforge.cliutil import EXIT_INVALID, EXIT_OK, EXIT_USAGE, fail

__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "fail"]
