"""Exit codes and the one-line error every CLI prints instead of a traceback (component CLIs and
hashforge.cli share it; it sits low so that no component imports upward for it)."""

from __future__ import annotations

from typing import NoReturn

import typer

EXIT_OK = 0
EXIT_INVALID = 1  # the input was read and breaks a rule
EXIT_USAGE = 2  # bad input: missing/unreadable file, bad size, unknown network, bad option value


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Prints `error: message` on one line to stderr and exits with `code`."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)
