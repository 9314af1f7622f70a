"""RPC contract tests against a real `hashforge node` process on regtest (field names/types as Core)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hashforge.consensus.address import script_to_address
from hashforge.consensus.block import Block
from hashforge.consensus.params import REGTEST
from hashforge.consensus.tx import OutPoint, Transaction, TxOut
from hashforge.rpcclient import RPCClientError
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Key, Utxo, spend

KEY = Key.from_int(0xC0FFEE)
OTHER = Key.from_int(0xBEEF)
ADDRESS = script_to_address(KEY.p2wpkh, REGTEST)
assert ADDRESS is not None


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    n = NodeProcess(tmp_path_factory.mktemp("rpcnode") / "regtest").start()
    n.call("generatetoaddress", 101, ADDRESS)
    yield n
    assert n.stop() == 0, n.log()


def _coinbase_utxo(node: NodeProcess, height: int) -> Utxo:
    block = node.call("getblock", node.call("getblockhash", height), 2)
    cb = block["tx"][0]
    assert cb["vout"][0]["scriptPubKey"]["hex"] == KEY.p2wpkh.hex()
    value = int(Decimal(str(cb["vout"][0]["value"])) * 100_000_000)
    return Utxo(OutPoint(bytes.fromhex(cb["txid"])[::-1], 0), TxOut(value, KEY.p2wpkh), KEY)


def _error(node: NodeProcess, method: str, *params: Any) -> RPCClientError:
    with pytest.raises(RPCClientError) as info:
        node.call(method, *params)
    return info.value


def test_chain_queries(node: NodeProcess) -> None:
    info = node.call("getblockchaininfo")
    assert info["chain"] == "regtest"
    assert info["blocks"] == node.call("getblockcount") >= 101
    assert info["bestblockhash"] == node.call("getbestblockhash")
    assert isinstance(info["difficulty"], float) and len(info["chainwork"]) == 64
    genesis = node.call("getblockhash", 0)
    assert genesis == REGTEST.genesis.hash_hex
    header = node.call("getblockheader", node.call("getblockhash", 1))
    for field, kind in [("hash", str), ("confirmations", int), ("height", int), ("version", int),
                        ("versionHex", str), ("merkleroot", str), ("time", int), ("mediantime", int),
                        ("nonce", int), ("bits", str), ("difficulty", float), ("chainwork", str),
                        ("nTx", int), ("previousblockhash", str), ("nextblockhash", str)]:
        assert isinstance(header[field], kind), field
    assert header["previousblockhash"] == genesis
    raw_header = node.call("getblockheader", header["hash"], False)
    assert len(raw_header) == 160
    raw = node.call("getblock", header["hash"], 0)
    assert Block.from_bytes(bytes.fromhex(raw)).hash_hex == header["hash"]
    verbose = node.call("getblock", header["hash"], 1)
    assert verbose["tx"] == [Block.from_bytes(bytes.fromhex(raw)).vtx[0].txid_hex]
    assert verbose["weight"] > 0 and verbose["size"] == len(raw) // 2
    tips = node.call("getchaintips")
    assert tips[0]["status"] == "active" and tips[0]["branchlen"] == 0
    assert _error(node, "getblockhash", 10_000).code == -8
    assert _error(node, "getblock", "00" * 32).code == -5
    assert _error(node, "getblock", "zz").code == -8


def test_template_and_ckpool_style_requests(node: NodeProcess) -> None:
    # ckpool's exact request: {"capabilities": ["coinbasetxn", "workid", "coinbase/append"], "rules": ["segwit"]}
    gbt = node.call("getblocktemplate", {"capabilities": ["coinbasetxn", "workid", "coinbase/append"], "rules": ["segwit"]})
    for field in ["version", "rules", "previousblockhash", "transactions", "coinbaseaux", "coinbasevalue",
                  "longpollid", "target", "mintime", "mutable", "noncerange", "sigoplimit", "sizelimit",
                  "weightlimit", "curtime", "bits", "height", "default_witness_commitment"]:
        assert field in gbt, field
    assert gbt["previousblockhash"] == node.call("getbestblockhash")
    assert gbt["height"] == node.call("getblockcount") + 1
    assert gbt["coinbasevalue"] == 50 * 100_000_000 >> (gbt["height"] // 150)
    assert "segwit" in "".join(gbt["rules"])
    assert _error(node, "getblocktemplate", {}).code == -8  # segwit rule missing
    v = node.call("validateaddress", ADDRESS)
    assert v["isvalid"] and v["iswitness"] and not v["isscript"] and v["witness_version"] == 0
    assert node.call("validateaddress", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")["isvalid"] is False
    mi = node.call("getmininginfo")
    assert mi["blocks"] == node.call("getblockcount") and mi["chain"] == "regtest"
    assert isinstance(node.call("getnetworkhashps"), float)
    assert "errors" in node.call("estimatesmartfee", 6) or "feerate" in node.call("estimatesmartfee", 6)


def test_transaction_lifecycle(node: NodeProcess) -> None:
    utxo = _coinbase_utxo(node, 1)
    tx = spend(utxo, OTHER, fee=10_000)
    hexstr = tx.serialize().hex()
    decoded = node.call("decoderawtransaction", hexstr)
    assert decoded["txid"] == tx.txid_hex and decoded["vin"][0]["txinwitness"]
    accept = node.call("testmempoolaccept", [hexstr])
    assert accept[0]["allowed"] is True and accept[0]["vsize"] == tx.vsize
    assert Decimal(str(accept[0]["fees"]["base"])) == Decimal("0.0001")
    assert node.call("sendrawtransaction", hexstr) == tx.txid_hex
    assert node.call("sendrawtransaction", hexstr) == tx.txid_hex  # already in pool: same answer
    assert tx.txid_hex in node.call("getrawmempool")
    entry = node.call("getmempoolentry", tx.txid_hex)
    assert entry["vsize"] == tx.vsize and entry["ancestorcount"] == 1
    assert node.call("getmempoolinfo")["size"] >= 1
    gbt = node.call("getblocktemplate", {"rules": ["segwit"]})
    assert tx.txid_hex in [t["txid"] for t in gbt["transactions"]]
    # the spent coin is gone from the mempool view, present in the chain view
    assert node.call("gettxout", tx.txid_hex, 0)["confirmations"] == 0
    assert node.call("gettxout", utxo.outpoint.hash[::-1].hex(), 0) is None
    assert node.call("gettxout", utxo.outpoint.hash[::-1].hex(), 0, False) is not None
    # a double spend paying less is refused with Core's reason
    double = spend(utxo, KEY, fee=5_000)
    err = _error(node, "sendrawtransaction", double.serialize().hex())
    assert err.code == -26 and "insufficient fee" in err.message
    # mine it
    [block_hash] = node.call("generatetoaddress", 1, ADDRESS)
    assert tx.txid_hex in node.call("getblock", block_hash, 1)["tx"]
    assert node.call("getrawmempool") == []
    raw = node.call("getrawtransaction", tx.txid_hex, True)
    assert raw["blockhash"] == block_hash and raw["confirmations"] == 1
    assert Transaction.from_hex(node.call("getrawtransaction", tx.txid_hex)).txid_hex == tx.txid_hex
    verbose_tx = node.call("getblock", block_hash, 2)["tx"][1]
    assert verbose_tx["fee"] == pytest.approx(0.0001)
    assert verbose_tx["hex"] == tx.serialize().hex()  # Core's getblock verbosity 2 includes the hex
    # invalidate the block: the transaction goes back to the mempool
    node.call("invalidateblock", block_hash)
    assert tx.txid_hex in node.call("getrawmempool")
    assert any(t["status"] == "invalid" for t in node.call("getchaintips"))
    node.call("reconsiderblock", block_hash)
    assert node.call("getbestblockhash") == block_hash
    assert node.call("getrawmempool") == []
    err = _error(node, "sendrawtransaction", hexstr)
    assert err.code in (-25, -27)


def test_submitblock_answers(node: NodeProcess) -> None:
    best = node.call("getbestblockhash")
    raw = node.call("getblock", best, 0)
    assert node.call("submitblock", raw) == "duplicate"
    assert _error(node, "submitblock", "00").code == -22
    assert _error(node, "submitblock", "zz").code == -22
    # a new block built from a template, but with a broken proof of work
    template_block = node.call("generateblock", ADDRESS, [], False)
    block = Block.from_bytes(bytes.fromhex(template_block["hex"]))
    assert node.call("submitblock", template_block["hex"]) is None
    assert node.call("getbestblockhash") == block.hash_hex
    bad = Block(block.header.__class__(block.header.version, block.hash, block.header.merkle_root,
                                       block.header.time + 1, 0x1D00FFFF, 0), block.vtx)
    assert node.call("submitblock", bad.serialize().hex()) in ("high-hash", "bad-diffbits")
    assert node.call("getbestblockhash") == block.hash_hex


def test_bad_requests_leave_node_running(node: NodeProcess) -> None:
    assert _error(node, "nosuchmethod").code == -32601
    assert _error(node, "getblockhash", "one").code == -3
    assert _error(node, "decoderawtransaction", "00").code == -22
    assert _error(node, "sendrawtransaction", "zz").code == -22
    assert _error(node, "getmempoolentry", "00" * 32).code == -5
    assert _error(node, "generatetoaddress", 1, "notanaddress").code == -5
    assert node.call("getblockcount") > 100
    assert node.call("uptime") >= 0
    assert "getblocktemplate" in node.call("help")


def test_restart_keeps_state(tmp_path: Path) -> None:
    n = NodeProcess(tmp_path / "regtest").start()
    n.call("generatetoaddress", 5, ADDRESS)
    best = n.call("getbestblockhash")
    utxos = n.call("gettxoutsetinfo")
    assert n.stop() == 0
    n.start()
    assert n.call("getbestblockhash") == best
    assert n.call("gettxoutsetinfo")["hash_serialized_3"] == utxos["hash_serialized_3"]
    assert n.call("stop") == "hashforge node stopping"
    assert n.proc is not None and n.proc.wait(30) == 0


def test_difficulty_addressinfo_scan_and_submitheader(node: NodeProcess) -> None:
    assert node.call("getdifficulty") == node.call("getblockchaininfo")["difficulty"]
    info = node.call("getaddressinfo", ADDRESS)
    assert info["address"] == ADDRESS and info["iswitness"] is True and info["witness_version"] == 0
    assert info["scriptPubKey"] == KEY.p2wpkh.hex() and info["ismine"] is False
    assert info["desc"].startswith(f"addr({ADDRESS})#")
    assert _error(node, "getaddressinfo", "bc1qnotanaddress").code == -5
    scan = node.call("scantxoutset", "start", [f"addr({ADDRESS})"])
    assert scan["success"] is True and scan["height"] == node.call("getblockcount")
    assert len(scan["unspents"]) >= 100
    assert all(u["scriptPubKey"] == KEY.p2wpkh.hex() for u in scan["unspents"])
    assert any(u["coinbase"] for u in scan["unspents"])
    total = sum(Decimal(str(u["amount"])) for u in scan["unspents"])
    assert Decimal(str(scan["total_amount"])) == total
    fresh = script_to_address(Key.from_int(0x5CA9).p2wpkh, REGTEST)
    assert node.call("scantxoutset", "start", [f"addr({fresh})"])["unspents"] == []
    assert _error(node, "scantxoutset", "start", ["addr(nonsense)"]).code == -5
    # a header without its block: known to the index, a headers-only tip
    made = node.call("generateblock", ADDRESS, [], False)
    block = Block.from_bytes(bytes.fromhex(made["hex"]))
    assert node.call("submitheader", block.header.serialize().hex()) is None
    assert node.call("getblockheader", made["hash"])["confirmations"] == -1
    assert any(t["hash"] == made["hash"] and t["status"] == "headers-only" for t in node.call("getchaintips"))
    assert node.call("submitblock", made["hex"]) is None  # now the data: it becomes the tip
    assert node.call("getbestblockhash") == made["hash"]
    assert _error(node, "submitheader", "00" * 80).code == -25
    assert _error(node, "submitheader", "00").code == -22


def test_headers_and_initial_download_state(tmp_path: Path) -> None:
    """`headers` is the best header not marked invalid (invalidateblock moves it back, reconsider
    forward again); `initialblockdownload` is true while the tip is the 2011 genesis, false once a
    block of today is the tip, and stays false (Core latches it)."""
    n = NodeProcess(tmp_path / "regtest").start()
    try:
        assert n.call("getblockchaininfo")["initialblockdownload"] is True
        hashes = n.call("generatetoaddress", 5, ADDRESS)
        info = n.call("getblockchaininfo")
        assert (info["headers"], info["blocks"], info["initialblockdownload"]) == (5, 5, False)
        n.call("invalidateblock", hashes[2])
        info = n.call("getblockchaininfo")
        assert (info["headers"], info["blocks"]) == (2, 2)
        n.call("invalidateblock", hashes[0])
        assert n.call("getblockchaininfo")["initialblockdownload"] is False  # the genesis tip again
        n.call("reconsiderblock", hashes[0])
        info = n.call("getblockchaininfo")
        assert (info["headers"], info["blocks"]) == (5, 5)
    finally:
        assert n.stop() == 0, n.log()
