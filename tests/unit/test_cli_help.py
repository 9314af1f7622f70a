"""Every `hashforge ... --help` page renders: help text is Rich markup, so a literal `[/X]` in it
was read as a closing tag and `hashforge mine --help` died with a MarkupError traceback."""

from __future__ import annotations

from typing import Any

import typer
from typer.testing import CliRunner

from hashforge.cli.commands import app


def _paths(cmd: Any, prefix: list[str]) -> list[list[str]]:
    paths = [prefix]
    for name, sub in getattr(cmd, "commands", {}).items():  # a group (Typer bundles its own click)
        paths += _paths(sub, [*prefix, name])
    return paths


def test_every_help_page_renders() -> None:
    root = typer.main.get_command(app)
    paths = _paths(root, [])
    assert ["mine"] in paths and len(paths) > 20
    runner = CliRunner()
    rendered = 0
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        # a group whose callback needs state (contracts: the pool database) may exit 2 first
        assert result.exception is None or isinstance(result.exception, SystemExit), (path, result.exception)
        if result.exit_code == 0:
            assert "Usage:" in result.output, path
            rendered += 1
    assert rendered > len(paths) // 2
