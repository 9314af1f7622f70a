"""`/v1/chain`: the node's chain, read over JSON-RPC (tip, blocks, transactions, mempool, history)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from hashforge.httpedge.access import ReadAccess
from hashforge.httpedge.lookups import NodeDep
from hashforge.services.chain import history_points
from hashforge.services.chain_models import (
    Block,
    BlockSummary,
    HistoryPoint,
    MempoolEntry,
    MempoolSummary,
    Mining,
    Tip,
    Transaction,
    TxInput,
    TxOutput,
    TxRef,
)
from hashforge.services.node import Header, to_sat
from hashforge.services.paging import Page, cursor_int, cursor_str, decode_cursor, encode_cursor

from ..deps import SettingsDep
from ..errors import BadCursor, problem_responses
from ..pagination import Cursor, Limit

router = APIRouter(prefix="/chain", tags=["chain"], responses=problem_responses(502, 503))

BlockRef = Annotated[
    str,
    Path(pattern=r"^([0-9]{1,9}|[0-9a-fA-F]{64})$", description="A height (decimal) or a block hash (64 hex)."),
]
TxId = Annotated[str, Path(pattern=r"^[0-9a-fA-F]{64}$", description="Transaction id (64 hex).")]
Window = Annotated[int, Query(ge=2, le=720, description="Blocks each hash-rate estimate spans.")]


def _summary(h: Header) -> BlockSummary:
    return BlockSummary(height=h.height, hash=h.hash, time=h.time, tx_count=h.n_tx, difficulty=h.difficulty, bits=h.bits)


@router.get("/tip", summary="The best chain's tip")
async def tip(_: ReadAccess, node: NodeDep) -> Tip:
    h = await node.tip()
    return Tip(height=h.height, hash=h.hash, time=h.time, median_time=h.mediantime, difficulty=h.difficulty,
               bits=h.bits, chainwork=f"{h.chainwork:064x}")


@router.get("/mining", summary="Difficulty and network hash rate now")
async def mining(
    _: ReadAccess, node: NodeDep, settings: SettingsDep,
    window: Annotated[int | None, Query(ge=1, le=2016, description="Blocks the hash-rate estimate spans.")] = None,
) -> Mining:
    w = window or settings.network_hashrate_window
    info = await node.mining_info()
    nxt = info.get("next")
    return Mining(
        height=int(info["blocks"]),
        difficulty=float(info["difficulty"]),
        next_difficulty=float(nxt["difficulty"]) if isinstance(nxt, dict) and "difficulty" in nxt else None,
        network_hashrate_hps=max(0.0, await node.network_hashps(w)),
        window=w,
        mempool_tx=int(info.get("pooledtx", 0)),
    )


@router.get("/blocks", summary="Blocks of the best chain, newest first", responses=problem_responses(400))
async def blocks(_: ReadAccess, node: NodeDep, cursor: Cursor = None, limit: Limit = 20) -> Page[BlockSummary]:
    if cursor is None:
        start = (await node.tip()).height
    else:
        start = cursor_int(decode_cursor("blocks", cursor), "h", -1)
    headers = await node.headers_down(start, limit) if start >= 0 else []
    nxt = headers[-1].height - 1 if headers else -1
    return Page[BlockSummary](
        items=[_summary(h) for h in headers],
        limit=limit,
        next_cursor=encode_cursor("blocks", h=nxt) if nxt >= 0 and len(headers) == limit else None,
    )


@router.get("/blocks/{ref}", summary="One block by height or hash", responses=problem_responses(404))
async def block(_: ReadAccess, node: NodeDep, ref: BlockRef) -> Block:
    body = await node.block(await node.resolve(ref))
    h = body.header
    return Block(
        height=h.height, hash=h.hash, time=h.time, tx_count=len(body.txids), difficulty=h.difficulty, bits=h.bits,
        version=h.version, previous_hash=h.prev, merkle_root=h.merkleroot, nonce=h.nonce, median_time=h.mediantime,
        chainwork=f"{h.chainwork:064x}", size=body.size, stripped_size=body.stripped_size, weight=body.weight,
        confirmations=body.confirmations,
    )


@router.get(
    "/blocks/{ref}/transactions", summary="A block's transaction ids, in block order",
    responses=problem_responses(400, 404),
)
async def block_transactions(
    _: ReadAccess, node: NodeDep, ref: BlockRef, cursor: Cursor = None, limit: Limit = 20
) -> Page[TxRef]:
    block_hash = await node.resolve(ref)
    start = 0
    if cursor is not None:
        pos = decode_cursor("block-tx", cursor)
        if cursor_str(pos, "b") != block_hash:
            raise BadCursor("The cursor belongs to another block.")
        start = cursor_int(pos, "i")
    body = await node.block(block_hash)
    chunk = body.txids[start:start + limit]
    end = start + len(chunk)
    return Page[TxRef](
        items=[TxRef(index=start + i, txid=t) for i, t in enumerate(chunk)],
        limit=limit,
        next_cursor=encode_cursor("block-tx", b=block_hash, i=end) if end < len(body.txids) else None,
    )


@router.get("/transactions/{txid}", summary="A transaction (confirmed: needs the node's txindex)",
            responses=problem_responses(404))
async def transaction(_: ReadAccess, node: NodeDep, txid: TxId) -> Transaction:
    raw = await node.transaction(txid)
    block_hash = raw.get("blockhash")
    height = None
    fee = None
    if block_hash:
        height = (await node.header(block_hash)).height
    else:
        entry = await node.mempool_entry(txid)
        if entry is not None:
            fee = to_sat(entry["fees"]["base"])
    return Transaction(
        txid=raw["txid"], wtxid=raw.get("hash", raw["txid"]), version=int(raw["version"]), locktime=int(raw["locktime"]),
        size=int(raw["size"]), vsize=int(raw["vsize"]), weight=int(raw["weight"]),
        inputs=[_input(v) for v in raw["vin"]], outputs=[_output(o) for o in raw["vout"]],
        status="confirmed" if block_hash else "mempool", block_hash=block_hash, block_height=height,
        confirmations=max(0, int(raw.get("confirmations", 0))), fee_sat=fee,
    )


def _input(v: dict[str, Any]) -> TxInput:
    witness = [str(w) for w in v.get("txinwitness", [])]
    if "coinbase" in v:
        return TxInput(coinbase=v["coinbase"], script_sig=v["coinbase"], witness=witness, sequence=int(v["sequence"]))
    return TxInput(txid=v["txid"], vout=int(v["vout"]), script_sig=v.get("scriptSig", {}).get("hex", ""),
                   witness=witness, sequence=int(v["sequence"]))


def _output(o: dict[str, Any]) -> TxOutput:
    spk = o.get("scriptPubKey", {})
    return TxOutput(n=int(o["n"]), value_sat=to_sat(o["value"]), script_pubkey=spk.get("hex", ""),
                    type=str(spk.get("type", "nonstandard")), address=spk.get("address"))


@router.get("/mempool", summary="Mempool summary")
async def mempool(_: ReadAccess, node: NodeDep) -> MempoolSummary:
    info = await node.mempool_info()
    return MempoolSummary(
        tx_count=int(info["size"]), vbytes=int(info["bytes"]), usage_bytes=int(info.get("usage", 0)),
        total_fee_sat=to_sat(info.get("total_fee", 0)), max_bytes=int(info.get("maxmempool", 0)),
        min_fee_rate_sat_vb=to_sat(info.get("mempoolminfee", 0)) / 1000,
    )


@router.get("/mempool/transactions", summary="Mempool entries, highest fee rate first",
            responses=problem_responses(400))
async def mempool_transactions(
    _: ReadAccess, node: NodeDep, cursor: Cursor = None, limit: Limit = 20
) -> Page[MempoolEntry]:
    raw = await node.mempool_entries()
    rows: list[tuple[int, str, MempoolEntry]] = []
    for txid, e in raw.items():
        fee = to_sat(e["fees"]["base"])
        vsize = max(1, int(e["vsize"]))
        rows.append((-(fee * 1000 // vsize), txid, MempoolEntry(
            txid=txid, vsize=vsize, weight=int(e.get("weight", vsize * 4)), fee_sat=fee, fee_rate_sat_vb=fee / vsize,
            time=int(e["time"]), height=int(e["height"]), ancestor_count=int(e["ancestorcount"]),
            descendant_count=int(e["descendantcount"]),
        )))
    rows.sort(key=lambda r: (r[0], r[1]))
    if cursor is not None:
        pos = decode_cursor("mempool", cursor)
        after = (cursor_int(pos, "r", -(2**62), 2**62), cursor_str(pos, "t"))
        rows = [r for r in rows if (r[0], r[1]) > after]
    page = rows[:limit]
    more = len(rows) > limit
    return Page[MempoolEntry](
        items=[r[2] for r in page], limit=limit,
        next_cursor=encode_cursor("mempool", r=page[-1][0], t=page[-1][1]) if more else None,
    )


@router.get("/history", summary="Difficulty and network hash rate per block, newest first",
            responses=problem_responses(400))
async def history(
    _: ReadAccess, node: NodeDep, cursor: Cursor = None, limit: Limit = 20, window: Window = 120
) -> Page[HistoryPoint]:
    start = (await node.tip()).height if cursor is None else cursor_int(decode_cursor("history", cursor), "h", -1)
    points = await history_points(node, start, limit, window)
    nxt = points[-1].height - 1 if points else -1
    return Page[HistoryPoint](
        items=points, limit=limit,
        next_cursor=encode_cursor("history", h=nxt) if nxt >= 0 and len(points) == limit else None,
    )
