"""Transaction and mempool RPCs: getrawtransaction, decoderawtransaction, sendrawtransaction,
testmempoolaccept, getmempoolinfo, getrawmempool, getmempoolentry."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hashforge.consensus.serialize import DeserializationError
from hashforge.consensus.tx import OutPoint, Transaction

from ..mempool import MempoolEntry
from ..mempool_accept import MempoolAcceptResult, TxResult
from .blockchain import chain_of
from .errors import RPCError, RPCErrorCode
from .format import amount, hash_hex, parse_amount, parse_hash, parse_hex, tx_json

if TYPE_CHECKING:
    from ..service import Node

DEFAULT_MAX_RAW_TX_FEE_RATE = Decimal("0.10")  # BTC/kvB, Core's sendrawtransaction default


def decode_tx(hexstring: Any) -> Transaction:
    try:
        return Transaction.from_bytes(parse_hex(hexstring))
    except (DeserializationError, RPCError):
        raise RPCError(
            RPCErrorCode.DESERIALIZATION_ERROR, "TX decode failed. Make sure the tx has at least one input."
        ) from None


def _fee_rate_limit(maxfeerate: Any) -> int:
    """maxfeerate (BTC/kvB) to sat/kvB; 0 disables the check."""
    return parse_amount(maxfeerate, "maxfeerate")


def _entry_json(node: Node, e: MempoolEntry) -> dict[str, Any]:
    pool = node.mempool
    return {
        "vsize": e.vsize,
        "weight": e.weight,
        "time": e.time,
        "height": e.height,
        "descendantcount": e.desc_count,
        "descendantsize": e.desc_size,
        "ancestorcount": e.anc_count,
        "ancestorsize": e.anc_size,
        "wtxid": e.tx.wtxid_hex,
        "fees": {
            "base": amount(e.fee),
            "modified": amount(e.fee),
            "ancestor": amount(e.anc_fee),
            "descendant": amount(e.desc_fee),
        },
        "depends": sorted(hash_hex(p) for p in e.parents),
        "spentby": sorted(hash_hex(c) for c in e.children),
        "bip125-replaceable": pool.signals_rbf(e.txid),
        "unbroadcast": False,
    }


def getmempoolinfo(node: Node) -> dict[str, Any]:
    info = node.mempool.info()
    return {
        "loaded": True,
        "size": info.size,
        "bytes": info.bytes,
        "usage": info.usage,
        "total_fee": amount(info.total_fee),
        "maxmempool": info.maxmempool,
        "mempoolminfee": amount(info.mempoolminfee),
        "minrelaytxfee": amount(info.minrelaytxfee),
        "incrementalrelayfee": amount(info.incrementalrelayfee),
        "unbroadcastcount": 0,
        "fullrbf": info.fullrbf,
    }


def getrawmempool(node: Node, verbose: bool = False, mempool_sequence: bool = False) -> Any:
    pool = node.mempool
    if verbose and mempool_sequence:
        raise RPCError(RPCErrorCode.INVALID_PARAMETER, "Verbose results cannot contain mempool sequence values.")
    if verbose:
        return {hash_hex(txid): _entry_json(node, e) for txid, e in pool.entries.items()}
    txids = [hash_hex(t) for t in pool.txids()]
    if mempool_sequence:
        return {"txids": txids, "mempool_sequence": pool.transactions_updated}
    return txids


def getmempoolentry(node: Node, txid: str) -> dict[str, Any]:
    e = node.mempool.get(parse_hash(txid, "txid"))
    if e is None:
        raise RPCError(RPCErrorCode.INVALID_ADDRESS_OR_KEY, "Transaction not in mempool")
    return _entry_json(node, e)


def getrawtransaction(node: Node, txid: str, verbose: int | bool = 0, blockhash: str | None = None) -> Any:
    h = parse_hash(txid, "parameter 1")
    c = chain_of(node)
    verbosity = int(verbose)
    tx: Transaction | None = None
    block_entry = None
    if blockhash is not None:
        block_entry = c.index.get(parse_hash(blockhash, "parameter 3"))
        if block_entry is None:
            raise RPCError(RPCErrorCode.INVALID_ADDRESS_OR_KEY, "Block hash not found")
    else:
        e = node.mempool.get(h)
        if e is not None:
            tx = e.tx
        else:
            in_block = c.db.tx_block(h)
            if in_block is not None:
                block_entry = c.index.get(in_block)
    if tx is None and block_entry is not None and block_entry.pos is not None:
        block = c.get_block(block_entry)
        tx = next((t for t in block.vtx if t.txid == h), None)
        if tx is None and blockhash is not None:
            raise RPCError(RPCErrorCode.INVALID_ADDRESS_OR_KEY, "No such transaction found in the provided block.")
    if tx is None:
        raise RPCError(RPCErrorCode.INVALID_ADDRESS_OR_KEY, "No such mempool or blockchain transaction.")
    if verbosity <= 0:
        return tx.serialize().hex()
    out = tx_json(tx, node.params)
    out["hex"] = tx.serialize().hex()
    if block_entry is not None:
        out["in_active_chain"] = c.in_active_chain(block_entry)
        out["blockhash"] = block_entry.header.hash_hex
        if c.in_active_chain(block_entry):
            out["confirmations"] = c.height - block_entry.height + 1
            out["time"] = block_entry.header.time
            out["blocktime"] = block_entry.header.time
        else:
            out["confirmations"] = 0
    return out


def decoderawtransaction(node: Node, hexstring: str, iswitness: bool | None = None) -> dict[str, Any]:
    try:
        data = parse_hex(hexstring)
        tx = Transaction.from_bytes(data, allow_witness=iswitness is not False)
    except (DeserializationError, RPCError):
        raise RPCError(RPCErrorCode.DESERIALIZATION_ERROR, "TX decode failed") from None
    return tx_json(tx, node.params)


def _too_expensive(result: MempoolAcceptResult, max_rate: int) -> bool:
    return max_rate > 0 and result.fee * 1000 > max_rate * result.vsize


def sendrawtransaction(node: Node, hexstring: str, maxfeerate: float | str = "0.10", maxburnamount: float | str = 0) -> str:
    tx = decode_tx(hexstring)
    max_rate = _fee_rate_limit(maxfeerate)
    max_burn = parse_amount(maxburnamount, "maxburnamount")
    for out in tx.vout:
        if out.script_pubkey[:1] == b"\x6a" and out.value > max_burn:
            raise RPCError(RPCErrorCode.VERIFY_REJECTED, "Unspendable output exceeds maximum configured by user (maxburnamount)")
    pool = node.mempool
    if pool.get(tx.txid) is not None:
        return tx.txid_hex
    c = chain_of(node)
    if any(c.get_coin(OutPoint(tx.txid, n)) is not None for n in range(len(tx.vout))):
        raise RPCError(RPCErrorCode.VERIFY_ALREADY_IN_CHAIN, "Transaction outputs already in utxo set")
    check = pool.accept(tx, test_only=True)
    if check.allowed and _too_expensive(check, max_rate):
        raise RPCError(RPCErrorCode.VERIFY_REJECTED, "Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)")
    result = pool.accept(tx) if check.allowed else check
    if not result.allowed:
        if result.result is TxResult.MISSING_INPUTS:
            raise RPCError(RPCErrorCode.VERIFY_ERROR, "bad-txns-inputs-missingorspent")
        if result.reject_reason == "txn-already-known":
            raise RPCError(RPCErrorCode.VERIFY_ALREADY_IN_CHAIN, "Transaction already in block chain")
        raise RPCError(RPCErrorCode.VERIFY_REJECTED, result.reject_message)
    node.notify_new_work()
    return tx.txid_hex


def testmempoolaccept(node: Node, rawtxs: list[Any], maxfeerate: float | str = "0.10") -> list[dict[str, Any]]:
    if not rawtxs:
        raise RPCError(RPCErrorCode.INVALID_PARAMETER, "Array must contain between 1 and 25 transactions.")
    if len(rawtxs) > 25:
        raise RPCError(RPCErrorCode.INVALID_PARAMETER, "Array must contain between 1 and 25 transactions.")
    if len(rawtxs) > 1:
        raise RPCError(RPCErrorCode.INVALID_PARAMETER, "package testing is not supported yet: pass one transaction")
    tx = decode_tx(rawtxs[0])
    max_rate = _fee_rate_limit(maxfeerate)
    result = node.mempool.accept(tx, test_only=True)
    out: dict[str, Any] = {"txid": tx.txid_hex, "wtxid": tx.wtxid_hex}
    if result.allowed and _too_expensive(result, max_rate):
        out.update({"allowed": False, "reject-reason": "max-fee-exceeded"})
    elif result.allowed:
        out.update(
            {
                "allowed": True,
                "vsize": result.vsize,
                "fees": {
                    "base": amount(result.fee),
                    "effective-feerate": amount(result.fee * 1000 // max(result.vsize, 1)),
                    "effective-includes": [tx.wtxid_hex],
                },
            }
        )
    else:
        out.update({"allowed": False, "reject-reason": result.reject_reason or "", "reject-details": result.reject_message})
    return [out]


RPCS: dict[str, Callable[..., Any]] = {
    "getmempoolinfo": getmempoolinfo,
    "getrawmempool": getrawmempool,
    "getmempoolentry": getmempoolentry,
    "getrawtransaction": getrawtransaction,
    "decoderawtransaction": decoderawtransaction,
    "sendrawtransaction": sendrawtransaction,
    "testmempoolaccept": testmempoolaccept,
}
