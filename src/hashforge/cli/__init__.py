"""The `hashforge` command line. The app itself is assembled in `commands.py`; this package's
initializer stays empty of components, so that any component's CLI can import
`hashforge.cli.errors` (the one-line error and exit codes) without an import cycle.
"""

from __future__ import annotations

from typing import Any


def main() -> None:
    """Console-script entry point (`hashforge = "hashforge.cli:main"`)."""
    from .commands import main as run

    run()


def __getattr__(name: str) -> Any:
    if name == "app":  # `from hashforge.cli import app` (tests, CliRunner)
        from .commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
