"""The exact JSON-RPC traffic ckpool sends (src/bitcoin.c, src/ckpool.c `_json_rpc_call`), byte for byte.

ckpool opens one connection per call and writes
    POST / HTTP/1.1\\nAuthorization: Basic ..\\nHost: ..\\nContent-type: application/json\\nContent-Length: N\\n\\n{body}
with bare-LF header lines, bodies without "id" or "jsonrpc" (most end in "\\n"). It then reads the
reply line by line: the first line must start with "HTTP/1.1 200 OK", and the first line that starts
with "{" is parsed as the whole JSON reply, so the body must be one line ending in "\\n". These
tests replay those requests over a raw socket against a real node and parse replies the same way,
then check the fields ckpool reads (gen_gbtbase, validate_address, submit_block, ...).
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from hashforge.consensus.address import script_to_address
from hashforge.consensus.block import Block, BlockHeader, merkle_root, witness_commitment
from hashforge.consensus.hashes import hash160, sha256
from hashforge.consensus.params import REGTEST
from hashforge.consensus.pow import mine_header
from hashforge.consensus.tx import Transaction
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Key, outputs_of, spend

KEY = Key.from_int(0xC4C4)
ADDRESS = script_to_address(KEY.p2wpkh, REGTEST)
USER, PASSWORD = "ckpool", "s3cret"
AUTH = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
assert ADDRESS is not None

# ckpool's fixed request bodies, verbatim
GBT_REQ = '{"method": "getblocktemplate", "params": [{"capabilities": ["coinbasetxn", "workid", "coinbase/append"], "rules" : ["segwit"]}]}\n'
BLOCKCOUNT_REQ = '{"method": "getblockcount"}\n'
BESTBLOCKHASH_REQ = '{"method": "getbestblockhash"}\n'


def validateaddress_req(address: str) -> str:
    return '{"method": "validateaddress", "params": ["%s"]}\n' % address  # noqa: UP031 - as ckpool sprintf()s it


def getblockhash_req(height: int) -> str:
    return '{"method": "getblockhash", "params": [%d]}\n' % height  # noqa: UP031 - as ckpool sprintf()s it


def submitblock_req(hexdata: str) -> str:
    return '{"method": "submitblock", "params": ["%s"]}\n' % hexdata  # noqa: UP031 - as ckpool sprintf()s it


def one_param_req(method: str, value: str, newline: bool = True) -> str:
    return '{"method": "%s", "params": ["%s"]}' % (method, value) + ("\n" if newline else "")  # noqa: UP031 - as ckpool sprintf()s it


class CkpoolReply:
    def __init__(self, status_line: str, json_line: str | None) -> None:
        self.status_line = status_line
        self.json = json.loads(json_line) if json_line is not None else None

    @property
    def ok(self) -> bool:
        return self.status_line[:15].lower() == "http/1.1 200 ok"

    @property
    def result(self) -> Any:
        assert self.ok, self.status_line
        assert self.json is not None and "result" in self.json, self.json
        return self.json["result"]


def ckpool_call(port: int, body: str, auth: str = AUTH, timeout: float = 30) -> CkpoolReply:
    """One call the way ckpool makes it, and the reply read the way ckpool reads it."""
    http_req = (
        "POST / HTTP/1.1\n"
        f"Authorization: Basic {auth}\n"
        f"Host: 127.0.0.1:{port}\n"
        "Content-type: application/json\n"
        f"Content-Length: {len(body)}\n\n{body}"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(http_req.encode())
        buf = b""
        lines: list[str] = []
        # read_socket_line: only '\n'-terminated lines count; a reply without one times out in ckpool
        while True:
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.decode().rstrip("\r")
                lines.append(text)
                if text.startswith("{"):
                    return CkpoolReply(lines[0], text)
                if text == "" and not lines[0].lower().startswith("http/1.1 200 ok"):
                    # not OK: ckpool only peeks (timeout 0) at what already arrived for a JSON line
                    length = next(
                        (int(h.split(":", 1)[1]) for h in lines if h.lower().startswith("content-length:")), 0
                    )
                    while len(buf) < length:
                        buf += s.recv(65536)
                    body = buf.decode().strip()
                    return CkpoolReply(lines[0], body if body.startswith("{") else None)
            chunk = s.recv(65536)
            if not chunk:
                assert lines, "connection closed without a reply"
                return CkpoolReply(lines[0], None)
            buf += chunk


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    n = NodeProcess(
        tmp_path_factory.mktemp("ckpoolrpc") / "regtest", extra_args=["--rpc-user", USER, "--rpc-password", PASSWORD]
    ).start()
    n.call("generatetoaddress", 101, ADDRESS)
    yield n
    assert n.stop() == 0, n.log()


def test_validateaddress_as_ckpool_reads_it(node: NodeProcess) -> None:
    """validate_address: isvalid must be JSON true; isscript/iswitness decide the payout script."""
    from hashforge.consensus.address import p2sh_script, p2wsh_script

    cases = {
        ADDRESS: (False, True),  # P2WPKH
        script_to_address(p2wsh_script(sha256(b"\x51")), REGTEST): (True, True),
        script_to_address(p2sh_script(hash160(b"\x51")), REGTEST): (True, False),
        script_to_address(KEY.p2pkh, REGTEST): (False, False),
    }
    for address, (isscript, iswitness) in cases.items():
        assert address is not None
        r = ckpool_call(node.port, validateaddress_req(address)).result
        assert r["isvalid"] is True and r["isscript"] is isscript and r["iswitness"] is iswitness, (address, r)
        if iswitness:
            assert r["witness_version"] == 0 and isinstance(r["witness_program"], str)
    for bad in ("bcrt1qnotanaddress", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", ""):
        reply = ckpool_call(node.port, validateaddress_req(bad))
        assert reply.result["isvalid"] is False


def test_getblocktemplate_as_gen_gbtbase_reads_it(node: NodeProcess) -> None:
    # a transaction in the mempool, so the template carries one the way ckpool parses them
    cb = node.call("getblock", node.call("getblockhash", 1), 0)
    utxo = outputs_of(Block.from_bytes(bytes.fromhex(cb)).vtx[0], KEY)[0]
    tx = spend(utxo, KEY, fee=5_000)
    assert ckpool_call(node.port, one_param_req("sendrawtransaction", tx.serialize().hex())).result == tx.txid_hex
    gbt = ckpool_call(node.port, GBT_REQ).result
    # every required rule ("!" prefix) must be one ckpool understands: only segwit
    assert all(r == "!segwit" for r in gbt["rules"] if r.startswith("!")), gbt["rules"]
    assert "!segwit" in gbt["rules"] or "segwit" in gbt["rules"]
    for key, kind in [("previousblockhash", str), ("target", str), ("version", int), ("curtime", int),
                      ("bits", str), ("height", int), ("coinbasevalue", int), ("coinbaseaux", dict),
                      ("transactions", list), ("default_witness_commitment", str)]:
        assert isinstance(gbt[key], kind), key
    assert gbt["version"] != 0 and gbt["curtime"] != 0  # ckpool treats 0 as missing
    assert len(gbt["previousblockhash"]) == 64 and len(gbt["target"]) == 64 and len(gbt["bits"]) == 8
    assert int(gbt["target"], 16) > 0
    flags = gbt["coinbaseaux"].get("flags", "")
    assert isinstance(flags, str)
    bytes.fromhex(flags)
    assert gbt["previousblockhash"] == ckpool_call(node.port, BESTBLOCKHASH_REQ).result
    assert gbt["height"] == ckpool_call(node.port, BLOCKCOUNT_REQ).result + 1
    assert gbt["coinbasevalue"] == 50 * 100_000_000 // 2 ** (gbt["height"] // 150) + 5_000
    (entry,) = gbt["transactions"]
    assert entry["data"] == tx.serialize().hex()
    assert entry["txid"] == tx.txid_hex and entry["hash"] == tx.wtxid_hex
    # ckpool recomputes the witness commitment from the "hash" fields and compares it with
    # default_witness_commitment past its first 4 bytes (6a24 + aa21a9ed)
    wroot, _ = merkle_root([b"\x00" * 32, bytes.fromhex(entry["hash"])[::-1]])
    assert gbt["default_witness_commitment"] == "6a24aa21a9ed" + witness_commitment(wroot).hex()
    # getrawtransaction (get_txn) answers with the hex of a mempool transaction
    assert ckpool_call(node.port, one_param_req("getrawtransaction", tx.txid_hex)).result == tx.serialize().hex()
    # decoderawtransaction (validate_txn) is sent without the trailing newline
    decoded = ckpool_call(node.port, one_param_req("decoderawtransaction", tx.serialize().hex(), newline=False)).result
    assert decoded["txid"] == tx.txid_hex
    node.call("generatetoaddress", 1, ADDRESS)


def test_block_polling_as_ckpool_does_it(node: NodeProcess) -> None:
    count = ckpool_call(node.port, BLOCKCOUNT_REQ).result
    assert isinstance(count, int) and count == node.call("getblockcount")
    best = ckpool_call(node.port, BESTBLOCKHASH_REQ).result
    assert ckpool_call(node.port, getblockhash_req(count)).result == best
    # out of range: an error reply (ckpool logs "Failed to get valid json response") but a JSON line
    reply = ckpool_call(node.port, getblockhash_req(count + 10))
    assert not reply.ok and reply.json is not None and reply.json["error"]["code"] == -8


def test_submitblock_and_preciousblock_answers(node: NodeProcess) -> None:
    made = node.call("generateblock", ADDRESS, [], False)
    raw = made["hex"]
    block = Block.from_bytes(bytes.fromhex(raw))
    assert ckpool_call(node.port, submitblock_req(raw)).result is None  # "BLOCK ACCEPTED!"
    assert ckpool_call(node.port, BESTBLOCKHASH_REQ).result == block.hash_hex
    assert ckpool_call(node.port, submitblock_req(raw)).result == "duplicate"  # counted as accepted
    # a rejected block: a reason string (ckpool logs "SUBMIT BLOCK RETURNED: <reason>")
    nxt = Block.from_bytes(bytes.fromhex(node.call("generateblock", ADDRESS, [], False)["hex"]))
    h = nxt.header
    future = mine_header(BlockHeader(h.version, h.prev_hash, h.merkle_root, h.time + 3 * 3600, h.bits, 0), REGTEST)
    assert future is not None
    reason = ckpool_call(node.port, submitblock_req(Block(future, nxt.vtx).serialize().hex())).result
    assert reason == "time-too-new"
    # ckpool sends preciousblock for its own blocks and ignores the answer; it must not fail
    assert ckpool_call(node.port, one_param_req("preciousblock", block.hash_hex)).result is None


def test_ckpool_style_bip34_push_is_refused_below_height_17(tmp_path_factory: pytest.TempPathFactory) -> None:
    """ckpool writes the coinbase height as a data push ("01 01" at height 1); consensus (and Bitcoin
    Core) want OP_1..OP_16 for heights 1..16, so such a block is "bad-cb-height", and ckpool on a
    fresh regtest chain needs 16 blocks mined first. From height 17 the encodings agree."""
    n = NodeProcess(tmp_path_factory.mktemp("bip34") / "regtest").start()
    try:
        for height in (1, 17):
            if height == 17:
                n.call("generatetoaddress", 16, ADDRESS)  # tip 16
            made = Block.from_bytes(bytes.fromhex(n.call("generateblock", ADDRESS, [], False)["hex"]))
            cb = made.vtx[0]
            sig = cb.vin[0].script_sig
            push = bytes([1, height])  # what ckpool's ser_number writes for heights < 128
            assert sig.startswith(push) == (height == 17)
            tail = sig[1:] if height <= 16 else sig[2:]
            patched = _with_coinbase_script(made, push + tail)
            expected = "bad-cb-height" if height <= 16 else None
            assert n.call("submitblock", patched.serialize().hex()) == expected
    finally:
        n.stop()


def test_unauthenticated_and_unknown_method(node: NodeProcess) -> None:
    reply = ckpool_call(node.port, BLOCKCOUNT_REQ, auth=base64.b64encode(b"ckpool:wrong").decode())
    assert reply.status_line.startswith("HTTP/1.1 401")
    reply = ckpool_call(node.port, '{"method": "getinfo"}\n')
    assert reply.status_line.startswith("HTTP/1.1 404")
    assert reply.json is not None and reply.json["error"]["code"] == -32601


def _with_coinbase_script(block: Block, script_sig: bytes) -> Block:
    """The block with its coinbase scriptSig replaced and the merkle root and nonce redone."""
    from dataclasses import replace

    cb = block.vtx[0]
    new_cb = Transaction(cb.version, (replace(cb.vin[0], script_sig=script_sig),), cb.vout, cb.locktime)
    vtx = (new_cb, *block.vtx[1:])
    root, _ = merkle_root([t.txid for t in vtx])
    h = block.header
    header = mine_header(BlockHeader(h.version, h.prev_hash, root, h.time, h.bits, 0), REGTEST)
    assert header is not None
    return Block(header, vtx)
