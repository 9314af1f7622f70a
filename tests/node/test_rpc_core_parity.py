"""Core 30+/31 behaviour on a real `hashforge node` (regtest), checked against what Bitcoin Core v31.0
returns for the same calls (captured from `bitcoind -regtest`; tests/integration/test_bitcoind.py
compares the two nodes side by side when a bitcoind is on PATH):
- relay policy: -minrelaytxfee and -incrementalrelayfee default to 100 sat/kvB (0.1 sat/vB), shown
  as 0.00000100 BTC/kvB by getnetworkinfo and getmempoolinfo; a 0.1 sat/vB transaction is accepted
  and mined, one satoshi less is refused with "min relay fee not met";
- getdeploymentinfo: Core's shape (hash, height, script_flags, deployments{...});
- getblock verbosity 3: verbosity 2 plus "prevout" on each non-coinbase input, and "coinbase_tx".
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from hashforge.consensus.address import script_to_address
from hashforge.consensus.params import REGTEST
from hashforge.consensus.tx import OutPoint, Transaction, TxOut
from hashforge.rpcclient import RPCClientError
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Key, Utxo, outputs_of, spend

KEY = Key.from_int(0xFEE)
OTHER = Key.from_int(0xFEE2)
ADDRESS = script_to_address(KEY.p2wpkh, REGTEST)
assert ADDRESS is not None

# bitcoind v31.0 -regtest, `getdeploymentinfo` at any block below height 143 (testdummy's first
# period ends there; blocks 0..142 all report it "defined").
CORE_REGTEST_DEPLOYMENTS: dict[str, Any] = {
    "bip34": {"type": "buried", "active": True, "height": 1},
    "bip66": {"type": "buried", "active": True, "height": 1},
    "bip65": {"type": "buried", "active": True, "height": 1},
    "csv": {"type": "buried", "active": True, "height": 1},
    "segwit": {"type": "buried", "active": True, "height": 0},
    "testdummy": {
        "type": "bip9",
        "active": False,
        "bip9": {"start_time": 0, "timeout": 9223372036854775807, "min_activation_height": 0,
                 "status": "defined", "since": 0, "status_next": "defined"},
    },
    "taproot": {
        "type": "bip9",
        "height": 0,
        "active": True,
        "bip9": {"start_time": -1, "timeout": 9223372036854775807, "min_activation_height": 0,
                 "status": "active", "since": 0, "status_next": "active"},
    },
}
CORE_GENESIS_SCRIPT_FLAGS = ["NULLDUMMY", "P2SH", "TAPROOT", "WITNESS"]
CORE_SCRIPT_FLAGS = ["CHECKLOCKTIMEVERIFY", "CHECKSEQUENCEVERIFY", "DERSIG", "NULLDUMMY", "P2SH", "TAPROOT",
                     "WITNESS"]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    n = NodeProcess(tmp_path_factory.mktemp("parity") / "regtest").start()
    n.call("generatetoaddress", 110, ADDRESS)
    yield n
    assert n.stop() == 0, n.log()


def _coinbase_utxo(node: NodeProcess, height: int) -> Utxo:
    cb = node.call("getblock", node.call("getblockhash", height), 2)["tx"][0]
    value = int(Decimal(str(cb["vout"][0]["value"])) * 100_000_000)
    return Utxo(OutPoint(bytes.fromhex(cb["txid"])[::-1], 0), TxOut(value, KEY.p2wpkh), KEY)


def at_rate(utxo: Utxo, sat_per_kvb: int, minus: int = 0) -> Transaction:
    """A spend of `utxo` paying exactly CFeeRate(sat_per_kvb).GetFee(vsize) - `minus` satoshis."""
    fee = 0
    for _ in range(5):  # the signature's length can move the vsize by one; settle it
        tx = spend(utxo, OTHER, fee)
        needed = -(-sat_per_kvb * tx.vsize // 1000) - minus
        if needed == fee:
            return tx
        fee = needed
    raise AssertionError("fee did not settle")


def test_relay_fees_are_core_30_defaults(node: NodeProcess) -> None:
    info = node.call("getnetworkinfo")
    assert Decimal(str(info["relayfee"])) == Decimal(str(info["incrementalfee"])) == Decimal("0.00000100")
    pool = node.call("getmempoolinfo")
    for field in ("minrelaytxfee", "incrementalrelayfee", "mempoolminfee"):
        assert Decimal(str(pool[field])) == Decimal("0.00000100"), field


def test_tenth_of_a_sat_per_vbyte_is_accepted_and_mined(node: NodeProcess) -> None:
    below = at_rate(_coinbase_utxo(node, 1), 100, minus=1)
    with pytest.raises(RPCClientError) as err:
        node.call("sendrawtransaction", below.serialize().hex())
    fee = sum(u.value for u in [_coinbase_utxo(node, 1)]) - below.value_out()
    assert err.value.code == -26
    assert err.value.message == f"min relay fee not met, {fee} < {fee + 1}"  # Core's exact text
    [verdict] = node.call("testmempoolaccept", [below.serialize().hex()])
    assert verdict["allowed"] is False and verdict["reject-reason"] == "min relay fee not met"

    floor = at_rate(_coinbase_utxo(node, 1), 100)
    assert floor.vsize >= 100 and fee + 1 == -(-floor.vsize // 10)  # 0.1 sat/vB, rounded up
    assert node.call("sendrawtransaction", floor.serialize().hex()) == floor.txid_hex
    [block_hash] = node.call("generatetoaddress", 1, ADDRESS)  # -blockmintxfee is 1 sat/kvB
    assert floor.txid_hex in node.call("getblock", block_hash, 1)["tx"]
    assert node.call("getrawmempool") == []


def test_getdeploymentinfo_matches_core(node: NodeProcess) -> None:
    tip = node.call("getdeploymentinfo")
    assert list(tip) == ["hash", "height", "script_flags", "deployments"]
    assert tip["hash"] == node.call("getbestblockhash") and tip["height"] == node.call("getblockcount")
    assert tip["script_flags"] == CORE_SCRIPT_FLAGS
    at_110 = node.call("getdeploymentinfo", node.call("getblockhash", 110))
    assert at_110["height"] == 110 and at_110["deployments"] == CORE_REGTEST_DEPLOYMENTS
    assert list(at_110["deployments"]) == list(CORE_REGTEST_DEPLOYMENTS)  # Core's order
    genesis = node.call("getdeploymentinfo", REGTEST.genesis.hash_hex)
    assert (genesis["hash"], genesis["height"]) == (REGTEST.genesis.hash_hex, 0)
    assert genesis["deployments"] == CORE_REGTEST_DEPLOYMENTS
    assert genesis["script_flags"] == CORE_GENESIS_SCRIPT_FLAGS
    with pytest.raises(RPCClientError) as err:
        node.call("getdeploymentinfo", "00" * 32)
    assert err.value.code == -5 and err.value.message == "Block not found"


def test_testdummy_starts_after_its_first_period(node: NodeProcess) -> None:
    """Regtest's testdummy (bit 28, period 144, threshold 108) is "started" from block 144 on; our
    blocks do not set bit 28, so each counts as not signalling ("-")."""
    height = node.call("getblockcount")
    node.call("generatetoaddress", max(0, 150 - height), ADDRESS)
    info = node.call("getdeploymentinfo")
    elapsed = info["height"] % 144 + 1
    assert info["deployments"]["testdummy"] == {
        "type": "bip9",
        "active": False,
        "bip9": {"bit": 28, "start_time": 0, "timeout": 9223372036854775807, "min_activation_height": 0,
                 "status": "started", "since": 144, "status_next": "started",
                 "statistics": {"period": 144, "elapsed": elapsed, "count": 0, "threshold": 108,
                                "possible": True},
                 "signalling": "-" * elapsed},
    }
    at_143 = node.call("getdeploymentinfo", node.call("getblockhash", 143))["deployments"]["testdummy"]
    assert (at_143["bip9"]["status"], at_143["bip9"]["status_next"]) == ("defined", "started")


def test_getblock_verbosity_3_adds_prevouts(node: NodeProcess) -> None:
    utxo = _coinbase_utxo(node, 2)
    parent = spend(utxo, KEY, 10_000, n_outputs=2)
    child = spend(outputs_of(parent, KEY)[1], OTHER, 5_000, p2pkh=True)
    for tx in (parent, child):
        node.call("sendrawtransaction", tx.serialize().hex())
    [block_hash] = node.call("generatetoaddress", 1, ADDRESS)
    two, three = (node.call("getblock", block_hash, v) for v in (2, 3))
    one = node.call("getblock", block_hash, 1)
    # coinbase_tx (Core 31) at every verbosity from 1 on
    cb = three["tx"][0]
    assert one["coinbase_tx"] == two["coinbase_tx"] == three["coinbase_tx"] == {
        "version": cb["version"], "locktime": cb["locktime"], "sequence": cb["vin"][0]["sequence"],
        "coinbase": cb["vin"][0]["coinbase"], "witness": cb["vin"][0]["txinwitness"][0],
    }
    assert "prevout" not in str(two)
    # apart from "prevout", verbosity 3 is verbosity 2
    stripped = [{**t, "vin": [{k: v for k, v in i.items() if k != "prevout"} for i in t["vin"]]} for t in three["tx"]]
    assert {**three, "tx": stripped} == two
    assert "prevout" not in three["tx"][0]["vin"][0]  # the coinbase spends nothing
    [p_in] = three["tx"][1]["vin"]
    assert list(p_in) == ["txid", "vout", "scriptSig", "txinwitness", "prevout", "sequence"]  # Core's order
    assert p_in["prevout"] == {
        "generated": True,
        "height": 2,
        "value": p_in["prevout"]["value"],
        "scriptPubKey": {
            "asm": f"0 {KEY.p2wpkh[2:].hex()}",
            "desc": p_in["prevout"]["scriptPubKey"]["desc"],
            "hex": KEY.p2wpkh.hex(),
            "address": ADDRESS,
            "type": "witness_v0_keyhash",
        },
    }
    assert Decimal(str(p_in["prevout"]["value"])) * 100_000_000 == utxo.value
    assert p_in["prevout"]["scriptPubKey"]["desc"].startswith(f"addr({ADDRESS})#")
    [c_in] = three["tx"][2]["vin"]
    assert c_in["prevout"]["generated"] is False and c_in["prevout"]["height"] == two["height"]
    assert Decimal(str(c_in["prevout"]["value"])) * 100_000_000 == parent.vout[1].value
    # fee = sum(prevout values) - sum(outputs), as Core computes it from the same undo data
    for t in three["tx"][1:]:
        ins = sum(Decimal(str(i["prevout"]["value"])) for i in t["vin"])
        outs = sum(Decimal(str(o["value"])) for o in t["vout"])
        assert Decimal(str(t["fee"])) == ins - outs
    # the genesis block has no undo data: no fee and no prevout, as in Core
    genesis = node.call("getblock", REGTEST.genesis.hash_hex, 3)
    assert "fee" not in genesis["tx"][0] and "witness" not in genesis["coinbase_tx"]
