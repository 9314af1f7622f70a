"""The `hashforge` command line. The app itself is assembled in `commands.py`; this package's
initializer stays empty of components (importing `hashforge.cli` loads none of them). Component
CLIs take the one-line error and exit codes from `hashforge.cliutil`, never from here.
"""

from __future__ import annotations

from typing import Any


def main() -> None:
    """Console-script entry point (`hashforge = "hashforge.cli:main"`)."""
    import sys

    if sys.argv[1:2] == ["node"]:
        _node_main()
        return
    from .commands import main as run

    run()


def _node_main() -> None:
    """`hashforge node` on an app holding only that command: the full app imports every component
    (pool, miner, ops, API), over a second of CPU that a starting (and syncing) node goes without."""
    import typer

    from .node import node

    app = typer.Typer(name="hashforge", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """hashforge: a proof-of-work mining stack, Bitcoin-compatible."""

    app.command("node")(node)
    app()


def __getattr__(name: str) -> Any:
    if name == "app":  # `from hashforge.cli import app` (tests, CliRunner)
        from .commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
