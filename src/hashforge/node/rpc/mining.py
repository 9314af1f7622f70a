"""Mining RPCs: getblocktemplate (BIP22/23, longpoll), submitblock, submitheader, getmininginfo,
getnetworkhashps, generatetoaddress/generateblock (test networks only), estimatesmartfee."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from hashforge.consensus.address import AddressError, address_to_script
from hashforge.consensus.block import (
    Block,
    BlockHeader,
    merkle_root,
    witness_commitment,
    witness_commitment_index,
    witness_commitment_script,
)
from hashforge.consensus.params import PowAlgorithm
from hashforge.consensus.pow import bits_to_target, difficulty
from hashforge.consensus.serialize import DeserializationError
from hashforge.consensus.tx import Transaction, TxIn, TxOut
from hashforge.consensus.validation import BlockValidationError

from ..assembler import BlockTemplate, template_to_block
from .blockchain import chain_name, chain_of
from .errors import RPCError, RPCErrorCode
from .format import amount, parse_hash, parse_hex, target_hex

if TYPE_CHECKING:
    from ..service import Node

GENERATE_NETWORKS = {"regtest", "devnet", "scryptnet"}
LONGPOLL_MEMPOOL_SECONDS = 60


def _grind(block: Block, node: Node, max_tries: int) -> Block | None:
    """Finds a nonce for `block` with the native kernels (pure Python if they are not built)."""
    from hashforge.kernels import scan_scrypt, scan_sha256d

    target = bits_to_target(block.header.bits)
    scan = scan_scrypt if node.params.pow_algorithm is PowAlgorithm.SCRYPT else scan_sha256d
    header = block.header
    tried = 0
    for extra_time in range(64):
        h = replace(header, time=header.time + extra_time)
        prefix = h.serialize()[:76]
        # Small ranges first: on an easy target (regtest) every other nonce qualifies, and the
        # scanner returns all of them.
        start, step = 0, 256
        while start < 1 << 32:
            end = min(start + step, 1 << 32, start + max_tries - tried)
            result = scan(prefix, target, start, end)
            tried += result.hashes
            if result.nonces:
                return Block(replace(h, nonce=result.nonces[0]), block.vtx)
            if tried >= max_tries:
                return None
            start, step = end, min(step * 4, 1 << 22)
    return None


def _add_witness_nonce(block: Block) -> Block:
    """Core's UpdateUncommittedBlockStructures: miners that strip the coinbase witness (as many
    Stratum setups do) still get their block accepted when it commits to the default nonce."""
    coinbase = block.vtx[0] if block.vtx else None
    if coinbase is None or not coinbase.vin or coinbase.vin[0].witness:
        return block
    if witness_commitment_index(coinbase) is None:
        return block
    cin = coinbase.vin[0]
    fixed = replace(coinbase, vin=(TxIn(cin.prevout, cin.script_sig, cin.sequence, (b"\x00" * 32,)), *coinbase.vin[1:]))
    return Block(block.header, (fixed, *block.vtx[1:]))


def _template(node: Node) -> BlockTemplate:
    t = node.assembler.current_template()
    # curtime moves with the clock even when the transactions are cached, as Core's UpdateTime
    return replace(t, curtime=max(t.mintime, int(time.time())))


def _template_json(t: BlockTemplate) -> dict[str, Any]:
    out: dict[str, Any] = {
        "capabilities": ["proposal"],
        "version": t.version,
        "rules": list(t.rules),
        "vbavailable": {},
        "vbrequired": 0,
        "previousblockhash": t.previous_block_hash[::-1].hex(),
        "transactions": [
            {
                "data": tt.tx.serialize().hex(),
                "txid": tt.tx.txid_hex,
                "hash": tt.tx.wtxid_hex,
                "depends": list(tt.depends),
                "fee": tt.fee,
                "sigops": tt.sigop_cost if t.segwit_active else tt.sigop_cost // 4,
                "weight": tt.weight,
            }
            for tt in t.transactions
        ],
        "coinbaseaux": {},
        "coinbasevalue": t.coinbase_value,
        "longpollid": t.longpollid,
        "target": f"{t.target:064x}",
        "mintime": t.mintime,
        "mutable": ["time", "transactions", "prevblock"],
        "noncerange": "00000000ffffffff",
        "sigoplimit": t.sigop_limit if t.segwit_active else t.sigop_limit // 4,
        "sizelimit": t.size_limit,
        "weightlimit": t.weight_limit,
        "curtime": t.curtime,
        "bits": f"{t.bits:08x}",
        "height": t.height,
    }
    if t.default_witness_commitment is not None:
        out["default_witness_commitment"] = t.default_witness_commitment.hex()
    return out


def _check_proposal(node: Node, data: Any) -> Any:
    try:
        block = Block.from_bytes(parse_hex(data, "data"))
    except (DeserializationError, RPCError):
        raise RPCError(RPCErrorCode.DESERIALIZATION_ERROR, "Block decode failed") from None
    c = chain_of(node)
    if block.hash in c.index:
        e = c.index[block.hash]
        return "duplicate-invalid" if e.failed else "duplicate"
    if block.header.prev_hash != c.tip.hash:
        return "inconclusive-not-best-prevblk"
    from hashforge.consensus.validation import check_block, check_block_context

    try:
        check_block(block, node.params, check_pow=False)
        check_block_context(block, c.height + 1, c.tip.median_time_past(), node.params)
    except BlockValidationError as err:
        return err.reason
    return None


async def getblocktemplate(node: Node, template_request: dict[str, Any] | None = None) -> Any:
    """getblocktemplate ( {"mode":"template","rules":["segwit"],"longpollid":...} )"""
    req = template_request or {}
    mode = req.get("mode", "template")
    if mode == "proposal":
        return await node.call(lambda: _check_proposal(node, req.get("data")))
    if mode != "template":
        raise RPCError(RPCErrorCode.INVALID_PARAMETER, "Invalid mode")
    rules = req.get("rules", [])
    if not isinstance(rules, list):
        raise RPCError(RPCErrorCode.TYPE_ERROR, "rules must be an array")
    if node.params.segwit_height <= node.chain_height + 1 and "segwit" not in rules:
        raise RPCError(
            RPCErrorCode.INVALID_PARAMETER,
            'getblocktemplate must be called with the segwit rule set (call with {"rules": ["segwit"]})',
        )
    longpollid = req.get("longpollid")
    if longpollid is not None:
        if not isinstance(longpollid, str):
            raise RPCError(RPCErrorCode.TYPE_ERROR, "longpollid must be a string")
        # Wait until the tip changes, or the mempool changes and a minute has passed (Core).
        deadline = time.monotonic() + LONGPOLL_MEMPOOL_SECONDS
        work_id = node.work_id
        while True:
            current = await node.call(lambda: _template(node).longpollid)
            tip_part = current[:64]
            if tip_part != longpollid[:64]:
                break
            if current != longpollid and time.monotonic() >= deadline:
                break
            work_id = await node.wait_for_new_work(work_id, max(0.5, deadline - time.monotonic()))
    return await node.call(lambda: _template_json(_template(node)))


def submitblock(node: Node, hexdata: str, dummy: Any = None) -> Any:
    """submitblock "hexdata": null if accepted, else "duplicate", "inconclusive" or the reason."""
    try:
        raw = parse_hex(hexdata, "hexdata")
        decoded = Block.from_bytes(raw)
    except (DeserializationError, RPCError):
        raise RPCError(RPCErrorCode.DESERIALIZATION_ERROR, "Block decode failed") from None
    if not decoded.vtx or not decoded.vtx[0].is_coinbase():
        raise RPCError(RPCErrorCode.DESERIALIZATION_ERROR, "Block does not start with a coinbase")
    block = _add_witness_nonce(decoded)
    try:
        # the submitted bytes are stored as they are unless the witness nonce had to be added
        result = chain_of(node).process_block(block, raw if block is decoded else None)
    except BlockValidationError as e:
        if e.reason == "duplicate-invalid":
            return "duplicate-invalid"
        return e.reason
    return result


def submitheader(node: Node, hexdata: str) -> None:
    try:
        header = BlockHeader.from_bytes(parse_hex(hexdata, "hexdata"))
    except (DeserializationError, RPCError):
        raise RPCError(RPCErrorCode.DESERIALIZATION_ERROR, "Block header decode failed") from None
    c = chain_of(node)
    if header.prev_hash not in c.index:
        raise RPCError(RPCErrorCode.VERIFY_ERROR, "Must submit previous header (" + header.prev_hash[::-1].hex() + ") first")
    try:
        c.accept_header(header)
    except BlockValidationError as e:
        raise RPCError(RPCErrorCode.VERIFY_ERROR, e.reason) from None


def _networkhashps(node: Node, nblocks: int, height: int) -> float:
    c = chain_of(node)
    tip = c.active[height] if 0 <= height <= c.height else c.tip
    if tip.height == 0:
        return 0.0
    if nblocks <= 0:
        interval = node.params.difficulty_adjustment_interval
        nblocks = tip.height % interval + 1
    nblocks = min(nblocks, tip.height)
    first = c.active[tip.height - nblocks]
    times = [c.active[h].header.time for h in range(first.height, tip.height + 1)]
    span = max(times) - min(times)
    if span == 0:
        return 0.0
    return (tip.chainwork - first.chainwork) / span


def getnetworkhashps(node: Node, nblocks: int = 120, height: int = -1) -> float:
    return _networkhashps(node, nblocks, height)


def getmininginfo(node: Node) -> dict[str, Any]:
    c = chain_of(node)
    tip = c.tip
    next_bits = c.next_bits(tip, max(tip.median_time_past() + 1, int(time.time())))
    cached = node.assembler.last_template
    return {
        "blocks": c.height,
        "currentblockweight": sum(t.weight for t in cached.transactions) + 4000 if cached else 0,
        "currentblocktx": len(cached.transactions) if cached else 0,
        "bits": f"{tip.header.bits:08x}",
        "difficulty": difficulty(tip.header.bits),
        "target": target_hex(tip.header.bits),
        "networkhashps": _networkhashps(node, 120, -1),
        "pooledtx": len(node.mempool),
        "chain": chain_name(node),
        "next": {
            "height": c.height + 1,
            "bits": f"{next_bits:08x}",
            "difficulty": difficulty(next_bits),
            "target": target_hex(next_bits),
        },
        "warnings": [],
    }


def _require_test_network(node: Node) -> None:
    if node.params.name not in GENERATE_NETWORKS:
        raise RPCError(
            RPCErrorCode.METHOD_NOT_FOUND,
            f"block generation is only for {', '.join(sorted(GENERATE_NETWORKS))} (this is {node.params.name})",
        )


def _output_script(node: Node, output: str) -> bytes:
    body = output.split("#", 1)[0]
    if body.startswith("addr(") and body.endswith(")"):
        body = body[5:-1]
    elif body.startswith("raw(") and body.endswith(")"):
        try:
            return bytes.fromhex(body[4:-1])
        except ValueError:
            raise RPCError(RPCErrorCode.INVALID_ADDRESS_OR_KEY, "Invalid raw() descriptor") from None
    try:
        return address_to_script(body, node.params)
    except AddressError as e:
        raise RPCError(RPCErrorCode.INVALID_ADDRESS_OR_KEY, f"Error: Invalid address: {e}") from None


def _mine_one(node: Node, script: bytes, txs: list[Transaction] | None, max_tries: int, submit: bool = True) -> Block | None:
    c = chain_of(node)
    t = node.assembler.create_template(script)
    if txs is not None:
        t = replace(t, transactions=(), fees=0)
        coinbase = t.coinbase(script)
        base = template_to_block(t, coinbase)
        block = _rebuild_with(base, txs, t, script)
    else:
        block = template_to_block(t)
    found = _grind(block, node, max_tries)
    if found is None:
        return None
    if submit:
        try:
            result = c.process_block(found)
        except BlockValidationError as e:
            raise RPCError(RPCErrorCode.VERIFY_ERROR, f"generated block rejected: {e.reason}") from None
        if result is not None:
            raise RPCError(RPCErrorCode.INTERNAL_ERROR, f"generated block not connected: {result}")
    return found


def _rebuild_with(base: Block, txs: list[Transaction], t: BlockTemplate, script: bytes) -> Block:
    coinbase = base.vtx[0]
    if t.segwit_active:
        root, _ = merkle_root([b"\x00" * 32, *(tx.wtxid for tx in txs)])
        commitment = TxOut(0, witness_commitment_script(witness_commitment(root)))
        coinbase = replace(coinbase, vout=(coinbase.vout[0], commitment))
    vtx = (coinbase, *txs)
    root, _ = merkle_root([tx.txid for tx in vtx])
    return Block(replace(base.header, merkle_root=root), vtx)


def generatetoaddress(node: Node, nblocks: int, address: str, maxtries: int = 1_000_000) -> list[str]:
    _require_test_network(node)
    if nblocks < 0:
        raise RPCError(RPCErrorCode.INVALID_PARAMETER, "nblocks must be non-negative")
    script = _output_script(node, address)
    hashes = []
    for _ in range(nblocks):
        block = _mine_one(node, script, None, maxtries)
        if block is None:
            break
        hashes.append(block.hash_hex)
    return hashes


def generateblock(node: Node, output: str, transactions: list[Any], submit: bool = True) -> dict[str, Any]:
    _require_test_network(node)
    script = _output_script(node, output)
    txs: list[Transaction] = []
    for item in transactions:
        if not isinstance(item, str):
            raise RPCError(RPCErrorCode.TYPE_ERROR, "transactions must be txids or raw transactions")
        if len(item) == 64:
            entry = node.mempool.get(parse_hash(item, "txid"))
            if entry is None:
                raise RPCError(RPCErrorCode.INVALID_ADDRESS_OR_KEY, f"Transaction {item} not in mempool.")
            txs.append(entry.tx)
        else:
            try:
                txs.append(Transaction.from_bytes(parse_hex(item)))
            except (DeserializationError, RPCError):
                raise RPCError(RPCErrorCode.DESERIALIZATION_ERROR, f"Transaction decode failed for {item}") from None
    block = _mine_one(node, script, txs, 1_000_000_000, submit)
    if block is None:
        raise RPCError(RPCErrorCode.MISC_ERROR, "Failed to make block.")
    out: dict[str, Any] = {"hash": block.hash_hex}
    if not submit:
        out["hex"] = block.serialize().hex()
    return out


def estimatesmartfee(node: Node, conf_target: int, estimate_mode: str = "conservative") -> dict[str, Any]:
    if estimate_mode.lower() not in ("unset", "economical", "conservative"):
        raise RPCError(RPCErrorCode.INVALID_PARAMETER, "Invalid estimate_mode parameter, must be one of: \"unset\", \"economical\", \"conservative\"")
    if not 1 <= conf_target <= 1008:
        raise RPCError(RPCErrorCode.INVALID_PARAMETER, "Invalid conf_target, must be between 1 and 1008")
    est = node.mempool.estimate_smart_fee(conf_target, estimate_mode.lower() == "conservative")
    out: dict[str, Any] = {}
    if est.sat_per_kvb is not None:
        out["feerate"] = amount(est.sat_per_kvb)
    else:
        out["errors"] = list(est.errors) or ["Insufficient data or no feerate found"]
    out["blocks"] = est.blocks
    return out


RPCS: dict[str, Callable[..., Any]] = {
    "getblocktemplate": getblocktemplate,
    "submitblock": submitblock,
    "submitheader": submitheader,
    "getmininginfo": getmininginfo,
    "getnetworkhashps": getnetworkhashps,
    "generatetoaddress": generatetoaddress,
    "generateblock": generateblock,
    "estimatesmartfee": estimatesmartfee,
}
