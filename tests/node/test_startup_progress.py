"""Startup progress: blocks stored but not connected are connected at startup, and it shows.

`ChainManager.accept_block` stores blocks without connecting them (as a crash between storing and
connecting would leave them); on the next start the chain manager connects them and reports
`("connect", done, total)`. `hashforge node` turns that into log lines when stderr is not a terminal
and into a Rich progress bar when it is.
"""

from __future__ import annotations

import io
import logging
import shutil
from pathlib import Path

import pytest

from hashforge.consensus.params import REGTEST
from hashforge.node.chain import ChainManager
from hashforge.node.progress import StartupProgress
from tests.helpers.chainbuild import BuiltChain, build_spending_chain, replay
from tests.helpers.nodeproc import NodeProcess


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltChain:
    return build_spending_chain(tmp_path_factory.mktemp("progress"), n_spend_blocks=40)


def _stored_not_connected(built: BuiltChain, datadir: Path) -> None:
    shutil.copytree(built.seed_dir, datadir)
    chain = ChainManager(REGTEST, datadir)
    try:
        for block in built.blocks[built.base_height + 1 :]:
            chain.accept_block(block)
        assert chain.height == built.base_height
    finally:
        chain.close()


def test_chain_manager_connects_stored_blocks_at_startup_with_progress(built: BuiltChain, tmp_path: Path) -> None:
    _stored_not_connected(built, tmp_path / "d")
    events: list[tuple[str, int, int]] = []
    chain = ChainManager(REGTEST, tmp_path / "d", progress=lambda *e: events.append(e))
    try:
        assert chain.height == built.height
        n = built.height - built.base_height
        connect = [e for e in events if e[0] == "connect"]
        assert connect[0] == ("connect", 0, n) and connect[-1] == ("connect", n, n)
        assert [e[1] for e in connect] == sorted(e[1] for e in connect)
        load = [e for e in events if e[0] == "load-index"]
        assert load[-1] == ("load-index", built.height + 1, built.height + 1)
        last = replay(built.blocks, tmp_path / "replay", record_from=built.height)[-1]
        assert last is not None and chain.db.utxo_stats() == last.stats
    finally:
        chain.close()


def test_node_logs_progress_lines_without_a_terminal(built: BuiltChain, tmp_path: Path) -> None:
    datadir = tmp_path / "regtest"
    _stored_not_connected(built, datadir)
    node = NodeProcess(datadir)
    try:
        node.start()
        assert node.call("getblockcount") == built.height
        log = node.log()
        n = built.height - built.base_height
        assert f"connecting stored blocks: {n} to go" in log
        assert f"connecting stored blocks: {n}/{n} done" in log
        assert "\x1b[" not in log  # no terminal control codes in a log file
    finally:
        node.stop()


def test_reporter_draws_a_rich_bar_on_a_terminal_and_stays_quiet_for_small_work(caplog: pytest.LogCaptureFixture) -> None:
    out = io.StringIO()
    bar = StartupProgress(out, rich=True)
    for done in range(0, 21):
        bar("connect", done, 20)
    bar.close()
    assert "Connecting stored blocks" in out.getvalue() and "20/20" in out.getvalue()
    quiet = io.StringIO()
    small = StartupProgress(quiet, rich=False)
    with caplog.at_level(logging.INFO, logger="hashforge.node.progress"):
        for done in range(3):
            small("connect", done, 2)  # below the threshold: nothing
        small("load-index", 10, 10)
    assert quiet.getvalue() == "" and caplog.records == []
