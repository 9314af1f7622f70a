"""A regtest node with a few blocks and transactions, and the API served over it (real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest

from hashforge.consensus.address import script_to_address
from hashforge.consensus.params import REGTEST
from hashforge.consensus.tx import OutPoint, TxOut
from tests.api.served import ServedApi, serve
from tests.api.stack import Stack, attach, build_stack, wait_for
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Key, Utxo, spend

KEY = Key.from_int(0xA11CE)
OTHER = Key.from_int(0xB0B)
ADDRESS = script_to_address(KEY.p2wpkh, REGTEST)
assert ADDRESS is not None


@dataclass
class Chain:
    node: NodeProcess
    busy_block: str  # hash of a block with 1 + 4 transactions
    busy_txids: tuple[str, ...]
    next_coinbase: int = 5

    def send(self, fees: list[int]) -> list[str]:
        """Puts one transaction per fee in the mempool (spending fresh coinbases); their txids."""
        txids = []
        for fee in fees:
            tx = spend(_coinbase_utxo(self.node, self.next_coinbase), OTHER, fee=fee)
            self.next_coinbase += 1
            assert self.node.call("sendrawtransaction", tx.serialize().hex()) == tx.txid_hex
            txids.append(tx.txid_hex)
        return txids


def _coinbase_utxo(node: NodeProcess, height: int) -> Utxo:
    block = node.call("getblock", node.call("getblockhash", height), 2)
    cb = block["tx"][0]
    value = int(Decimal(str(cb["vout"][0]["value"])) * 100_000_000)
    return Utxo(OutPoint(bytes.fromhex(cb["txid"])[::-1], 0), TxOut(value, KEY.p2wpkh), KEY)


@pytest.fixture(scope="package")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    node = NodeProcess(tmp_path_factory.mktemp("apinode") / "regtest").start()
    try:
        node.call("generatetoaddress", 110, ADDRESS)
        busy = []
        for height in range(1, 5):
            tx = spend(_coinbase_utxo(node, height), OTHER, fee=2_000 + height)
            node.call("sendrawtransaction", tx.serialize().hex())
            busy.append(tx.txid_hex)
        [busy_block] = node.call("generatetoaddress", 1, ADDRESS)
        yield Chain(node, busy_block, tuple(busy))
    finally:
        node.stop()


@pytest.fixture(scope="package")
def api(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    """The API as `hashforge api` serves it on loopback: anonymous reads, no components."""
    served = serve(chain.node, tmp_path_factory.mktemp("apidata"))
    yield served
    served.stop()


@pytest.fixture()
def client(api: ServedApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Node, wallet, `hashforge pool` and `hashforge mine` on loopback (see stack.py)."""
    s = build_stack(tmp_path_factory.mktemp("stack"))
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="package")
def full_api(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    """The API with the pool, miner and wallet attached, once the pool has found a block."""
    served = serve(stack.node, tmp_path_factory.mktemp("fullapi"), *attach(stack), network="regtest")
    stack.api = served
    with httpx.Client(base_url=served.url, timeout=30) as c:
        wait_for(lambda: c.get("/v1/pool/stats").json()["blocks"]["pending"] > 0, 90, "the pool found no block",
                 lambda: stack.log("pool") + stack.log("miner"))
    yield served
