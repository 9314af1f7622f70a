"""Fixtures: a real regtest node process and a funded wallet on it (module scope)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hashforge.consensus.address import script_to_address
from hashforge.consensus.params import REGTEST
from hashforge.wallet import ScryptParams, Wallet
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Key
from tests.integration.test_altcoin_daemons import dogecoind, litecoind  # noqa: F401 (fixtures: real daemons)

FAST_KDF = ScryptParams(log_n=10)
EXT_KEY = Key.from_int(0xBEEF)  # an outside party's key (txbuilder signs for it)
EXT_ADDR = script_to_address(EXT_KEY.p2wpkh, REGTEST)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    n = NodeProcess(tmp_path_factory.mktemp("node") / "regtest").start()
    try:
        yield n
    finally:
        n.stop()


def new_wallet(node: NodeProcess, path: Path, **kw: object) -> Wallet:
    w, _ = Wallet.create(path, REGTEST, "pw", rpc=node.rpc, kdf=FAST_KDF, **kw)  # type: ignore[arg-type]
    return w


@pytest.fixture(scope="module")
def funder(node: NodeProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wallet]:
    """A wallet with 10 mature coinbases; the outside key gets 100 coinbases after them."""
    w = new_wallet(node, tmp_path_factory.mktemp("funder") / "w")
    node.call("generatetoaddress", 10, w.new_address())
    node.call("generatetoaddress", 100, EXT_ADDR)
    w.sync()
    try:
        yield w
    finally:
        w.close()
