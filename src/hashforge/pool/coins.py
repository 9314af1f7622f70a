"""What the pool does differently per coin: the getblocktemplate request each backend needs and
the block tail it expects.

Bitcoin Core (and hashforge's node) take `{"rules": ["segwit"]}`. Litecoin Core 0.21 refuses any
request without both `mweb` and `segwit` ("getblocktemplate must be called with the segwit & mweb
rule sets"). From MWEB activation on, its template carries:

- the HogEx ("integrating") transaction as the *last* entry of `transactions`, serialized with
  Litecoin's MWEB flag (0x08) and committing to the MWEB block: it is put in the block as given,
  after every other transaction, and its txid/wtxid enter the merkle trees like any other;
- `mweb`: the serialized MWEB block, which Litecoin Core reads after the transactions when the last
  transaction is a HogEx (`CBlock` serialization: `OptionalPtr` = 0x01 then the block).

A block without that tail is refused (the HogEx names an MWEB block the node cannot find).
"""

from __future__ import annotations

from typing import Any

from hashforge.consensus.params import ChainParams

BITCOIN_GBT_REQUEST: dict[str, Any] = {"rules": ["segwit"]}
LITECOIN_GBT_REQUEST: dict[str, Any] = {"rules": ["mweb", "segwit"]}

MWEB_PRESENT = b"\x01"  # Litecoin's OptionalPtr marker before the MWEB block


def gbt_request(params: ChainParams) -> dict[str, Any]:
    """The getblocktemplate request the backend of `params`' coin accepts."""
    if params.coin == "LTC":
        return LITECOIN_GBT_REQUEST
    return BITCOIN_GBT_REQUEST


def mweb_tail(mweb: bytes | None) -> bytes:
    """What follows the transactions of a block built from a template with this `mweb` field."""
    return MWEB_PRESENT + mweb if mweb else b""
