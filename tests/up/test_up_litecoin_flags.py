"""`hashforge up` on Litecoin (+ Dogecoin merged), in-process: bad flags and missing daemons are one
line and exit 2, before anything is written. tests/integration/test_up_litecoin.py runs it on the
real daemons."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hashforge.cli.commands import app
from tests.helpers.peers import find_peer


def up_error(tmp_path: Path, *args: str) -> str:
    """The one line `hashforge up ARGS` fails with (exit 2, nothing written to its datadir)."""
    result = CliRunner().invoke(app, ["up", *args, "--datadir", str(tmp_path / "d")])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert not (tmp_path / "d").exists()
    return lines[0]


@pytest.mark.parametrize(("args", "fragments"), [
    (["--network", "dogecoin-regtest"],
     ["merge-mined on top of Litecoin", "--network litecoin-regtest --aux dogecoin-regtest"]),
    (["--network", "devnet", "--aux-address", "x"], ["--aux-address is for Litecoin networks"]),
    (["--network", "litecoin-regtest", "--aux", "regtest"], ["--aux: regtest is not a merge-mined (AuxPoW) network"]),
    (["--network", "litecoin-regtest", "--aux", "dogecoin"], ["--aux: dogecoin does not go with litecoin-regtest"]),
    (["--network", "litecoin-regtest", "--aux-address", "D5q5d5zUNqRSeyaPbSHDDDLDbgzLHu3ZQs"],
     ["--aux-address", "is not a dogecoin-regtest address"]),
    (["--network", "litecoin-regtest", "--aux", "none", "--aux-rpc-port", "5"], ["--aux-rpc-port needs an aux chain"]),
    (["--network", "litecoin", "--replay-blocks", "x.hex"], ["--replay-blocks is for a litecoin-regtest chain"]),
    (["--network", "litecoin-regtest", "--node-rpc", "http://127.0.0.1:1/"], ["--node-rpc needs credentials"]),
    (["--network", "litecoin-regtest", "--aux-rpc", "http://127.0.0.1:1/"], ["--aux-rpc needs the credentials"]),
    (["--network", "litecoin-regtest", "--bin-dir", "EMPTY"],
     ["litecoind not found in", "Litecoin Core", "docs/litecoin-dogecoin.md", "--node-rpc"]),
])
def test_bad_flags_one_line(tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    (tmp_path / "EMPTY").mkdir()
    line = up_error(tmp_path, *[str(tmp_path / a) if a == "EMPTY" else a for a in args])
    assert all(f in line for f in fragments), line


def test_names_the_missing_dogecoind(tmp_path: Path) -> None:
    litecoind = find_peer("litecoind")
    if litecoind is None:
        pytest.skip("litecoind not found in ../shared/bin or on PATH: needed to show that dogecoind is the one missing")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "litecoind").symlink_to(litecoind)
    line = up_error(tmp_path, "--network", "litecoin-regtest", "--bin-dir", str(tmp_path / "bin"))
    for fragment in ("dogecoind not found in", "Dogecoin Core", "docs/litecoin-dogecoin.md", "--aux-rpc", "--aux none"):
        assert fragment in line, line
