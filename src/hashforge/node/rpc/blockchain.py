"""Blockchain RPCs: chain state, blocks, headers, tips, UTXO lookups, and manual invalidation."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hashforge.consensus.block import Block
from hashforge.consensus.coins import Coin
from hashforge.consensus.pow import block_subsidy, difficulty
from hashforge.consensus.tx import OutPoint, Transaction

from ..chain import STATUS_HAVE_DATA, STATUS_VALID_SCRIPTS, BlockIndex, ChainManager
from ..chainstate import deserialize_undo
from .deployments import Deployments
from .errors import RPCError, RPCErrorCode
from .format import amount, hash_hex, parse_hash, script_pubkey_json, target_hex, tx_json

if TYPE_CHECKING:
    from ..service import Node

CORE_CHAIN_NAMES = {"mainnet": "main", "testnet3": "test"}


def chain_name(node: Node) -> str:
    return CORE_CHAIN_NAMES.get(node.params.name, node.params.name)


# Core's PER_UTXO_OVERHEAD: sizeof(COutPoint) + sizeof(uint32_t) + sizeof(bool)
PER_UTXO_OVERHEAD = 36 + 4 + 1
MAX_SCRIPT_SIZE = 10_000
WITNESS_SCALE_FACTOR = 4


def truncated_median(values: list[int]) -> int:
    """Core's CalculateTruncatedMedian: the middle value, or the floor of the two middle ones' mean."""
    if not values:
        return 0
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) // 2


def feerate_percentiles(scores: list[tuple[int, int]], total_weight: int) -> list[int]:
    """Core's CalculatePercentilesByWeight: the 10/25/50/75/90th fee rates (sat/vB), weighted by weight."""
    result = [0] * 5
    if not scores:
        return result
    ordered = sorted(scores)
    marks = [total_weight / 10.0, total_weight / 4.0, total_weight / 2.0, total_weight * 3.0 / 4.0,
             total_weight * 9.0 / 10.0]
    nxt = cumulative = 0
    for rate, weight in ordered:
        cumulative += weight
        while nxt < 5 and cumulative >= marks[nxt]:
            result[nxt] = rate
            nxt += 1
    for i in range(nxt, 5):
        result[i] = ordered[-1][0]
    return result


def chain_of(node: Node) -> ChainManager:
    """The node's chain manager (set once the node has started, before any RPC is served)."""
    assert node.chain is not None
    return node.chain


def _lookup(node: Node, hash_value: Any, name: str = "blockhash") -> BlockIndex:
    entry = chain_of(node).index.get(parse_hash(hash_value, name))
    if entry is None:
        raise RPCError(RPCErrorCode.INVALID_ADDRESS_OR_KEY, "Block not found")
    return entry


def _header_json(node: Node, entry: BlockIndex) -> dict[str, Any]:
    c = chain_of(node)
    h = entry.header
    active = c.in_active_chain(entry)
    out: dict[str, Any] = {
        "hash": entry.header.hash_hex,
        "confirmations": c.height - entry.height + 1 if active else -1,
        "height": entry.height,
        "version": h.version,
        "versionHex": f"{h.version & 0xFFFFFFFF:08x}",
        "merkleroot": hash_hex(h.merkle_root),
        "time": h.time,
        "mediantime": entry.median_time_past(),
        "nonce": h.nonce,
        "bits": f"{h.bits:08x}",
        "target": target_hex(h.bits),
        "difficulty": difficulty(h.bits),
        "chainwork": f"{entry.chainwork:064x}",
        "nTx": entry.n_tx,
    }
    if entry.prev is not None:
        out["previousblockhash"] = entry.prev.header.hash_hex
    if active and entry.height < c.height:
        out["nextblockhash"] = c.active[entry.height + 1].header.hash_hex
    return out


def getblockchaininfo(node: Node) -> dict[str, Any]:
    c = chain_of(node)
    tip = c.tip
    best_header = c.best_header or tip
    size = sum(f.stat().st_size for f in (node.datadir / "blocks").glob("blk*.dat"))
    return {
        "chain": chain_name(node),
        "blocks": c.height,
        "headers": best_header.height,
        "bestblockhash": tip.header.hash_hex,
        "bits": f"{tip.header.bits:08x}",
        "target": target_hex(tip.header.bits),
        "difficulty": difficulty(tip.header.bits),
        "time": tip.header.time,
        "mediantime": tip.median_time_past(),
        "verificationprogress": c.verification_progress(tip, best_header.height),
        "initialblockdownload": c.is_initial_block_download(),
        "chainwork": f"{tip.chainwork:064x}",
        "size_on_disk": size,
        "pruned": False,
        "warnings": [],
    }


def getchaintxstats(node: Node, nblocks: int | None = None, blockhash: str | None = None) -> dict[str, Any]:
    """Core's getchaintxstats: the chain's transaction count at a block (default: the tip) and the
    rate over the `nblocks` before it (default: a month of blocks), timed by median time past."""
    c = chain_of(node)
    if blockhash is None:
        entry = c.tip
    else:
        entry = _lookup(node, blockhash)
        if not c.in_active_chain(entry):
            raise RPCError(RPCErrorCode.INVALID_PARAMETER, "Block is not in main chain")
    if nblocks is None:
        count = max(0, min(30 * 24 * 60 * 60 // c.params.pow_target_spacing, entry.height - 1))
    else:
        count = nblocks
        if count < 0 or (count > 0 and count >= entry.height):
            raise RPCError(RPCErrorCode.INVALID_PARAMETER, "Invalid block count: should be between 0 and the block's height - 1")
    past = c.active[entry.height - count]
    out: dict[str, Any] = {"time": entry.time}
    if entry.chain_tx:
        out["txcount"] = entry.chain_tx
    out["window_final_block_hash"] = hash_hex(entry.hash)
    out["window_final_block_height"] = entry.height
    out["window_block_count"] = count
    if count > 0:
        interval = entry.median_time_past() - past.median_time_past()
        out["window_interval"] = interval
        if entry.chain_tx and past.chain_tx:
            window_tx = entry.chain_tx - past.chain_tx
            out["window_tx_count"] = window_tx
            if interval > 0:
                out["txrate"] = window_tx / interval
    return out


def getblockcount(node: Node) -> int:
    return int(chain_of(node).height)


def getbestblockhash(node: Node) -> str:
    return str(chain_of(node).tip.header.hash_hex)


def getblockhash(node: Node, height: int) -> str:
    c = chain_of(node)
    if height < 0 or height > c.height:
        raise RPCError(RPCErrorCode.INVALID_PARAMETER, "Block height out of range")
    return str(c.active[height].header.hash_hex)


def getblockheader(node: Node, blockhash: str, verbose: bool = True) -> Any:
    entry = _lookup(node, blockhash)
    if not verbose:
        return entry.header.serialize().hex()
    return _header_json(node, entry)


def _block_spent(node: Node, entry: BlockIndex, block: Block) -> list[list[Coin] | None]:
    """Each transaction's spent coins, from the block's undo data (None for the coinbase, and
    for every transaction when the block has none: genesis, or not in the active chain)."""
    undo_raw = chain_of(node).db.get_undo(entry.hash) if entry.height > 0 else None
    if undo_raw is None:
        return [None] * len(block.vtx)
    spent = iter(deserialize_undo(undo_raw))
    out: list[list[Coin] | None] = [None]
    for tx in block.vtx[1:]:
        out.append([next(spent)[1] for _ in tx.vin])
    return out


def _coinbase_tx_json(coinbase: Transaction) -> dict[str, Any]:
    """Core's coinbaseTxToJSON (getblock's "coinbase_tx", Core 31)."""
    vin0 = coinbase.vin[0]
    out: dict[str, Any] = {
        "version": coinbase.version,
        "locktime": coinbase.locktime,
        "sequence": vin0.sequence,
        "coinbase": vin0.script_sig.hex(),
    }
    if vin0.witness:
        out["witness"] = vin0.witness[0].hex()
    return out


def getblock(node: Node, blockhash: str, verbosity: int | bool = 1) -> Any:
    entry = _lookup(node, blockhash)
    if not entry.status & STATUS_HAVE_DATA:
        raise RPCError(RPCErrorCode.MISC_ERROR, "Block not available")
    verbosity = int(verbosity)
    raw = chain_of(node).get_block_raw(entry)
    if verbosity <= 0:
        return raw.hex()
    block = Block.from_bytes(raw)
    out = _header_json(node, entry)
    out["strippedsize"] = len(block.serialize_without_witness())
    out["size"] = len(raw)
    out["weight"] = block.weight
    out["coinbase_tx"] = _coinbase_tx_json(block.vtx[0])
    if verbosity == 1:
        out["tx"] = [tx.txid_hex for tx in block.vtx]
    else:
        out["tx"] = []
        for tx, coins in zip(block.vtx, _block_spent(node, entry, block), strict=True):
            fee = None if coins is None else sum(c.out.value for c in coins) - tx.value_out()
            # verbosity 3 (and more, as Core): each input's spent coin as "prevout"
            prevouts = coins if verbosity >= 3 else None
            # Core's blockToJSON calls TxToUniv with include_hex=true: each transaction's hex too
            tx_out = tx_json(tx, node.params, fee, prevouts)
            tx_out["hex"] = tx.serialize().hex()
            out["tx"].append(tx_out)
    # Core puts nTx/previous/next after the transactions; field order does not matter in JSON.
    return out

def getdeploymentinfo(node: Node, blockhash: str | None = None) -> dict[str, Any]:
    """Core's getdeploymentinfo: buried and version-bits deployments at a block (default: the tip)."""
    c = chain_of(node)
    entry = c.tip if blockhash is None else _lookup(node, blockhash)
    # Built per call: its version-bits cache fills in a few thousand index lookups even on mainnet.
    return Deployments(node.params, c.ancestor_of).info(entry)


def getblockstats(node: Node, hash_or_height: Any, stats: list[str] | None = None) -> dict[str, Any]:
    """Core's getblockstats: per-block fee, size and UTXO statistics, amounts in satoshis."""
    c = chain_of(node)
    if isinstance(hash_or_height, int) and not isinstance(hash_or_height, bool):
        if hash_or_height < 0:
            raise RPCError(RPCErrorCode.INVALID_PARAMETER, f"Target block height {hash_or_height} is negative")
        if hash_or_height > c.height:
            raise RPCError(RPCErrorCode.INVALID_PARAMETER,
                           f"Target block height {hash_or_height} after current tip {c.height}")
        entry = c.active[hash_or_height]
    else:
        entry = _lookup(node, hash_or_height, "hash_or_height")
    if stats is not None and (not isinstance(stats, list) or not all(isinstance(s, str) for s in stats)):
        raise RPCError(RPCErrorCode.TYPE_ERROR, "stats must be an array of strings")
    if not entry.status & STATUS_HAVE_DATA:
        raise RPCError(RPCErrorCode.MISC_ERROR, "Block not available")
    block = Block.from_bytes(chain_of(node).get_block_raw(entry))
    undo_raw = c.db.get_undo(entry.hash) if entry.height > 0 else b"\x00"
    if undo_raw is None:
        raise RPCError(RPCErrorCode.MISC_ERROR, "Undo data not available")
    result = _block_stats(node, entry, block, deserialize_undo(undo_raw))
    if not stats:
        return result
    out: dict[str, Any] = {}
    for name in stats:
        if name not in result:
            raise RPCError(RPCErrorCode.INVALID_PARAMETER, f"Invalid selected statistic '{name}'")
        out[name] = result[name]
    return out


def _block_stats(node: Node, entry: BlockIndex, block: Block, spent: list[tuple[OutPoint, Any]]) -> dict[str, Any]:
    # Follows Core's rpc/blockchain.cpp getblockstats line by line (same integer rounding).
    prevouts = iter(spent)
    ins = outs = utxos = 0
    total_out = total_size = total_weight = totalfee = 0
    utxo_size_inc = utxo_size_inc_actual = 0
    swtxs = swtotal_size = swtotal_weight = 0
    fees: list[int] = []
    sizes: list[int] = []
    feerates: list[tuple[int, int]] = []
    for tx in block.vtx:
        outs += len(tx.vout)
        tx_out = 0
        for o in tx.vout:
            tx_out += o.value
            size = len(o.serialize()) + PER_UTXO_OVERHEAD
            utxo_size_inc += size
            if o.script_pubkey[:1] == b"\x6a" or len(o.script_pubkey) > MAX_SCRIPT_SIZE:
                continue  # unspendable: never enters the UTXO set
            utxos += 1
            utxo_size_inc_actual += size
        if tx.is_coinbase():
            continue
        ins += len(tx.vin)
        total_out += tx_out
        size, weight = tx.total_size, tx.weight
        sizes.append(size)
        total_size += size
        total_weight += weight
        if tx.has_witness:
            swtxs += 1
            swtotal_size += size
            swtotal_weight += weight
        tx_in = 0
        for _ in tx.vin:
            prev = next(prevouts)[1].out
            tx_in += prev.value
            prev_size = len(prev.serialize()) + PER_UTXO_OVERHEAD
            utxo_size_inc -= prev_size
            utxo_size_inc_actual -= prev_size
        fee = tx_in - tx_out
        fees.append(fee)
        totalfee += fee
        feerates.append((fee * WITNESS_SCALE_FACTOR // weight if weight else 0, weight))
    n = len(block.vtx) - 1
    return {
        "avgfee": totalfee // n if n else 0,
        "avgfeerate": totalfee * WITNESS_SCALE_FACTOR // total_weight if total_weight else 0,
        "avgtxsize": total_size // n if n else 0,
        "blockhash": entry.header.hash_hex,
        "feerate_percentiles": feerate_percentiles(feerates, total_weight),
        "height": entry.height,
        "ins": ins,
        "maxfee": max(fees, default=0),
        "maxfeerate": max((r for r, _ in feerates), default=0),
        "maxtxsize": max(sizes, default=0),
        "medianfee": truncated_median(fees),
        "mediantime": entry.median_time_past(),
        "mediantxsize": truncated_median(sizes),
        "minfee": min(fees, default=0),
        "minfeerate": min((r for r, _ in feerates), default=0),
        "mintxsize": min(sizes, default=0),
        "outs": outs,
        "subsidy": block_subsidy(entry.height, node.params),
        "swtotal_size": swtotal_size,
        "swtotal_weight": swtotal_weight,
        "swtxs": swtxs,
        "time": entry.header.time,
        "total_out": total_out,
        "total_size": total_size,
        "total_weight": total_weight,
        "totalfee": totalfee,
        "txs": len(block.vtx),
        "utxo_increase": outs - ins,
        "utxo_size_inc": utxo_size_inc,
        "utxo_increase_actual": utxos - ins,
        "utxo_size_inc_actual": utxo_size_inc_actual,
    }


def getchaintips(node: Node) -> list[dict[str, Any]]:
    c = chain_of(node)
    tips: list[tuple[int, str, int, str]] = []
    for tip in c.tips():
        fork = c._find_fork(tip)
        branchlen = tip.height - fork.height
        if c.in_active_chain(tip):
            status = "active"
        elif tip.failed:
            status = "invalid"
        else:
            node_: BlockIndex | None = tip
            have_all = True
            while node_ is not None and node_ is not fork:
                if not node_.status & STATUS_HAVE_DATA:
                    have_all = False
                    break
                node_ = node_.prev
            if not have_all:
                status = "headers-only"
            else:
                status = "valid-fork" if tip.status & STATUS_VALID_SCRIPTS else "valid-headers"
        tips.append((tip.height, tip.header.hash_hex, branchlen, status))
    tips.sort(key=lambda t: (t[3] != "active", -t[0]))
    return [{"height": h, "hash": bh, "branchlen": bl, "status": st} for h, bh, bl, st in tips]


def getdifficulty(node: Node) -> float:
    return difficulty(chain_of(node).tip.header.bits)


def gettxout(node: Node, txid: str, n: int, include_mempool: bool = True) -> Any:
    outpoint = OutPoint(parse_hash(txid, "txid"), n)
    c = chain_of(node)
    coin = None
    if include_mempool:
        coin = node.mempool.get_coin(outpoint)  # None when a pool transaction spends it
    else:
        coin = c.get_coin(outpoint)
    if coin is None:
        return None
    confirmations = 0 if coin.height > c.height else c.height - coin.height + 1
    return {
        "bestblock": c.tip.header.hash_hex,
        "confirmations": confirmations,
        "value": amount(coin.out.value),
        "scriptPubKey": script_pubkey_json(coin.out.script_pubkey, node.params),
        "coinbase": coin.is_coinbase,
    }


def invalidateblock(node: Node, blockhash: str) -> None:
    entry = _lookup(node, blockhash)
    try:
        chain_of(node).invalidate_block(entry)
    except ValueError as e:
        raise RPCError(RPCErrorCode.INVALID_PARAMETER, str(e)) from None


def reconsiderblock(node: Node, blockhash: str) -> None:
    chain_of(node).reconsider_block(_lookup(node, blockhash))


def preciousblock(node: Node, blockhash: str) -> None:
    chain_of(node).precious_block(_lookup(node, blockhash))


RPCS: dict[str, Callable[..., Any]] = {
    "getblockchaininfo": getblockchaininfo,
    "getblockcount": getblockcount,
    "getchaintxstats": getchaintxstats,
    "getbestblockhash": getbestblockhash,
    "getblockhash": getblockhash,
    "getblockheader": getblockheader,
    "getblock": getblock,
    "getblockstats": getblockstats,
    "getdeploymentinfo": getdeploymentinfo,
    "getchaintips": getchaintips,
    "getdifficulty": getdifficulty,
    "gettxout": gettxout,
    "invalidateblock": invalidateblock,
    "reconsiderblock": reconsiderblock,
    "preciousblock": preciousblock,
}
