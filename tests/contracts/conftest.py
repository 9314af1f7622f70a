"""Fixtures: a regtest node and the served pool + public API over a scripted farm (served.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.nodeproc import NodeProcess

from .served import Site, site


@pytest.fixture(scope="package")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    n = NodeProcess(tmp_path_factory.mktemp("cnode") / "regtest", "regtest").start()
    try:
        yield n
    finally:
        n.stop()


@pytest.fixture(scope="package")
def served(node: NodeProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from site(node, tmp_path_factory.mktemp("csite"))
