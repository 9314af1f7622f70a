"""Raw blocks as the wallet's scanner reads them, for nodes whose `getblock` has no verbosity 2.

Dogecoin Core releases whose `getblock` takes a bool `verbose` (not Bitcoin Core's numeric
verbosity; the 1.14 line got verbosity 2 late) answer `getblock HASH 2` with a type error, so the
wallet asks such a node for the raw block (`getblock HASH false`) and reads it here into the same shape
`getblock HASH 2` gives (txid, vin prevouts or coinbase, vout values and scripts). `Wallet.sync(
raw_blocks=True)` reads raw blocks from any node.

Two extensions of Bitcoin's block format are read past, never interpreted:
- Dogecoin's AuxPoW: a header whose version has the AuxPoW bit is followed by the parent chain's
  proof (`CAuxPow`) before the transaction count;
- Litecoin's MWEB: a transaction whose flag byte has bit 0x08 carries an optional MWEB
  transaction after its witnesses (an empty one, a single 0x00, marks the HogEx, the last
  transaction of an MWEB block); the MWEB block after the transactions is left unread.
  MWEB outputs are confidential and never the wallet's, so skipping them loses nothing.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any, BinaryIO

from hashforge.consensus.auxpow import AuxPow, is_auxpow_version
from hashforge.consensus.block import BlockHeader
from hashforge.consensus.params import COIN, ChainParams
from hashforge.consensus.serialize import (
    DeserializationError,
    deser_compact_size,
    deser_i32,
    deser_string_vector,
    deser_u32,
    read_exact,
)
from hashforge.consensus.tx import Transaction, TxIn, TxOut

WITNESS_FLAG = 0x01
MWEB_FLAG = 0x08  # Litecoin: an OptionalPtr<mw::Transaction> follows the witnesses


def read_transaction(f: BinaryIO) -> tuple[Transaction, bool]:
    """One transaction in Bitcoin's, BIP144's or Litecoin's MWEB-extended form; (tx, is_hogex).

    Raises DeserializationError for an MWEB transaction body inside the canonical list (Litecoin
    Core puts those in the MWEB block, not among the transactions) or unknown flag bits."""
    version = deser_i32(f)
    flags = 0
    n_in = deser_compact_size(f)
    if n_in == 0:  # extended form: the 0x00 marker was read as an empty input count
        flags = read_exact(f, 1)[0]
        if flags == 0:
            raise DeserializationError("transaction without inputs")
        n_in = deser_compact_size(f)
    vin = [TxIn.deserialize(f) for _ in range(n_in)]
    vout = [TxOut.deserialize(f) for _ in range(deser_compact_size(f))]
    if flags & WITNESS_FLAG:
        vin = [TxIn(i.prevout, i.script_sig, i.sequence, tuple(deser_string_vector(f))) for i in vin]
    hogex = False
    if flags & MWEB_FLAG:
        if read_exact(f, 1)[0] != 0:
            raise DeserializationError("an MWEB transaction body among a block's canonical transactions")
        hogex = True
    if flags & ~(WITNESS_FLAG | MWEB_FLAG):
        raise DeserializationError(f"unknown transaction flags 0x{flags:02x}")
    locktime = deser_u32(f)
    return Transaction(version, tuple(vin), tuple(vout), locktime), hogex


def _amount(sats: int) -> Decimal:
    return Decimal(sats) / COIN


def tx_json(tx: Transaction, coinbase: bool) -> dict[str, Any]:
    """The fields of `getrawtransaction TXID true` / `getblock HASH 2` the scanner reads."""
    vin: list[dict[str, Any]]
    if coinbase:
        vin = [{"coinbase": tx.vin[0].script_sig.hex(), "sequence": tx.vin[0].sequence}]
    else:
        vin = [{"txid": i.prevout.hash[::-1].hex(), "vout": i.prevout.n} for i in tx.vin]
    vout = [{"n": n, "value": _amount(o.value), "scriptPubKey": {"hex": o.script_pubkey.hex()}}
            for n, o in enumerate(tx.vout)]
    return {"txid": tx.txid_hex, "vin": vin, "vout": vout, "vsize": tx.vsize}


def read_block(raw: bytes, params: ChainParams) -> dict[str, Any]:
    """A raw block of `params`' network in `getblock HASH 2`'s shape (hash, previousblockhash,
    time, tx). The bytes after the transactions (Litecoin's MWEB block) are not read."""
    f = io.BytesIO(raw)
    header = BlockHeader.deserialize(f)
    if params.auxpow_chain_id is not None and is_auxpow_version(header.version):
        AuxPow.deserialize(f)  # the parent chain's proof: nothing in it is the wallet's
    txs = []
    for index in range(deser_compact_size(f)):
        tx, _hogex = read_transaction(f)
        txs.append(tx_json(tx, coinbase=index == 0))
    block: dict[str, Any] = {"hash": header.hash_hex, "time": header.time, "tx": txs}
    if header.prev_hash != b"\x00" * 32:
        block["previousblockhash"] = header.prev_hash[::-1].hex()
    return block
