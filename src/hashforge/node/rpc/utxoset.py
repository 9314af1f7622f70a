"""UTXO-set RPCs that read every coin: gettxoutsetinfo and scantxoutset.

They run on the event loop and wait: the chain thread only takes a snapshot of the UTXO set (see
node/utxoscan.py), the scan itself runs on a scan thread, so submitblock, getblockcount and the
rest are answered meanwhile. Every figure is of the snapshot's tip, even when blocks are connected
during the scan.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from hashforge.consensus.address import AddressError, address_to_script
from hashforge.consensus.params import ChainParams

from ..chain import BlockIndex
from ..utxoscan import (
    Row,
    ScanAborted,
    ScanInProgress,
    ScanState,
    Snapshot,
    find_by_scripts,
    take_snapshot,
    utxo_stats,
)
from .blockchain import chain_of
from .errors import RPCError, RPCErrorCode
from .format import amount, hash_hex

if TYPE_CHECKING:
    from ..service import Node

T = TypeVar("T")


def _open_snapshot(node: Node) -> tuple[Snapshot, BlockIndex]:
    """On the chain thread: the snapshot and the block index entry of its tip."""
    c = chain_of(node)
    # The chainstate's write-back cache goes to disk first (as Core's gettxoutsetinfo flushes):
    # the snapshot then holds the UTXO set of the current tip. Nothing pending, no flush (each
    # one fsyncs the block files and commits with synchronous=FULL).
    snapshot = take_snapshot(c.db.path, c.db.flush if c.db.dirty else None)
    tip = c.index.get(snapshot.tip_hash) if snapshot.tip_hash is not None else None
    if tip is None:
        snapshot.close()
        raise RPCError(RPCErrorCode.INTERNAL_ERROR, "Unable to read UTXO set")
    return snapshot, tip


async def _scan(node: Node, state: ScanState, scan: Callable[[Iterator[Row]], T]) -> tuple[T, BlockIndex]:
    """`scan` over a snapshot of the UTXO set, on a scan thread; its result and the snapshot's tip."""
    snapshot, tip = await node.call(lambda: _open_snapshot(node))
    scanner = node.utxo_scans

    def job() -> T:
        try:
            return scanner.run(state, lambda: scan(scanner.rows(snapshot, state)))
        finally:
            snapshot.close()

    return await asyncio.get_running_loop().run_in_executor(scanner.executor, job), tip


async def gettxoutsetinfo(node: Node, hash_type: str = "hash_serialized_3") -> dict[str, Any]:
    """gettxoutsetinfo: statistics of the whole UTXO set at the tip, with Core's hash_serialized_3."""
    try:
        stats, tip = await _scan(node, ScanState(), utxo_stats)
    except ScanAborted:
        raise RPCError(RPCErrorCode.INTERNAL_ERROR, "Unable to read UTXO set") from None
    return {
        "height": tip.height,
        "bestblock": tip.header.hash_hex,
        "txouts": stats["txouts"],
        "transactions": stats["transactions"],
        "bogosize": stats["bogosize"],
        "hash_serialized_3": stats["hash"],
        "total_amount": amount(int(stats["total_amount"])),
        "disk_size": os.path.getsize(chain_of(node).db.path),
    }


def _scan_scripts(scanobjects: list[Any], params: ChainParams) -> dict[bytes, str]:
    """scantxoutset's descriptors (addr(...), raw(...) or a plain address) by output script."""
    scripts: dict[bytes, str] = {}
    for obj in scanobjects:
        desc = obj.get("desc") if isinstance(obj, dict) else obj
        if not isinstance(desc, str):
            raise RPCError(RPCErrorCode.INVALID_PARAMETER, "Scan object needs to be either a string or an object")
        body = desc.split("#", 1)[0]
        try:
            if body.startswith("addr(") and body.endswith(")"):
                scripts[address_to_script(body[5:-1], params)] = desc
            elif body.startswith("raw(") and body.endswith(")"):
                scripts[bytes.fromhex(body[4:-1])] = desc
            else:
                scripts[address_to_script(body, params)] = desc
        except (AddressError, ValueError) as e:
            raise RPCError(RPCErrorCode.INVALID_ADDRESS_OR_KEY, f"Invalid descriptor {desc!r}: {e}") from None
    return scripts


def _scan_status(node: Node, action: str) -> Any:
    """Core's status (the running scan's progress, or null) and abort (whether one was running)."""
    running = node.utxo_scans.scantxoutset
    if action == "status":
        return None if running is None else {"progress": running.progress}
    if running is None:
        return False
    running.abort.set()
    return True


async def scantxoutset(node: Node, action: str, scanobjects: list[Any] | None = None) -> Any:
    """Scans the UTXO set for addr(...)/raw(...) descriptors or plain addresses (wallet recovery)."""
    if action in ("abort", "status"):
        return _scan_status(node, action)
    if action != "start":
        raise RPCError(RPCErrorCode.INVALID_PARAMETER, "Invalid action '" + action + "'")
    if scanobjects is None:
        raise RPCError(RPCErrorCode.MISC_ERROR, "scanobjects argument is required for the start action")
    scripts = _scan_scripts(scanobjects, node.params)
    try:
        state = node.utxo_scans.reserve_scantxoutset()
    except ScanInProgress:
        raise RPCError(RPCErrorCode.INVALID_PARAMETER, 'Scan already in progress, use action "abort" or "status"') from None
    try:
        (found, txouts), tip = await _scan(node, state, lambda rows: find_by_scripts(rows, scripts))
    except ScanAborted:
        return {"success": False}
    finally:
        node.utxo_scans.release_scantxoutset(state)
    c = chain_of(node)
    # Each coin's block in the snapshot tip's chain (the active chain may have moved on since).
    blocks = await node.call(lambda: {h: c.ancestor_of(tip, h).header.hash_hex for h in {coin.height for _, coin in found}})
    unspents = [
        {
            "txid": hash_hex(outpoint.hash),
            "vout": outpoint.n,
            "scriptPubKey": coin.out.script_pubkey.hex(),
            "desc": scripts[coin.out.script_pubkey],
            "amount": amount(coin.out.value),
            "coinbase": coin.is_coinbase,
            "height": coin.height,
            "blockhash": blocks[coin.height],
            "confirmations": tip.height - coin.height + 1,
        }
        for outpoint, coin in found
    ]
    return {
        "success": True,
        "txouts": txouts,
        "height": tip.height,
        "bestblock": tip.header.hash_hex,
        "unspents": unspents,
        "total_amount": amount(sum(coin.out.value for _, coin in found)),
    }


RPCS: dict[str, Callable[..., Any]] = {
    "gettxoutsetinfo": gettxoutsetinfo,
    "scantxoutset": scantxoutset,
}
