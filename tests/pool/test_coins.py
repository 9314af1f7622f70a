"""Per-coin template handling: the getblocktemplate request per backend and Litecoin's MWEB tail
(tests/integration/test_litecoin_pool.py runs the same against a real litecoind)."""

from __future__ import annotations

from typing import Any

import pytest

from hashforge.consensus.params import get_params
from hashforge.pool.coins import gbt_request, mweb_tail
from hashforge.pool.template import Template, make_job

SCRIPT = bytes.fromhex("0014") + bytes(range(20))


@pytest.mark.parametrize(("network", "rules"), [
    ("regtest", ["segwit"]),
    ("scryptnet", ["segwit"]),
    ("litecoin", ["mweb", "segwit"]),
    ("litecoin-testnet4", ["mweb", "segwit"]),
    ("litecoin-regtest", ["mweb", "segwit"]),
])
def test_gbt_request_per_coin(network: str, rules: list[str]) -> None:
    assert gbt_request(get_params(network))["rules"] == rules


def _gbt(**extra: Any) -> dict[str, Any]:
    # the HogEx as Litecoin Core lists it: no inputs marker, flag 0x08, one output, no MWEB tx (0x00)
    hogex = "02000000" "0008" "00" "01" + "00e1f50500000000" + "22" + "5820" + "ab" * 32 + "00" + "00000000"
    return {
        "height": 438, "version": 0x20000000, "previousblockhash": "11" * 32, "bits": "207fffff",
        "curtime": 1_700_000_000, "coinbasevalue": 50 * 10**8, "rules": ["csv", "!segwit", "mweb"],
        "transactions": [{"data": hogex, "txid": "22" * 32, "hash": "33" * 32}], **extra,
    }


def _block(t: Template) -> bytes:
    pj = make_job(t, 1, "1", [(SCRIPT, t.coinbase_value)], b"/t/", 8, clean=True)
    return pj.block(b"\x00" * 4, b"\x00" * 8, b"\x00" * 80)


def test_mweb_block_follows_the_transactions() -> None:
    mweb = bytes.fromhex("c0ffee" * 10)
    t = Template.from_gbt(_gbt(mweb=mweb.hex()))
    assert t.mweb == mweb
    block = _block(t)
    hogex = bytes.fromhex(_gbt()["transactions"][0]["data"])
    # ... | HogEx (last transaction) | 0x01 | MWEB block
    assert block.endswith(hogex + b"\x01" + mweb)
    assert mweb_tail(None) == b"" and mweb_tail(mweb) == b"\x01" + mweb


def test_no_mweb_field_no_tail() -> None:
    t = Template.from_gbt(_gbt())
    assert t.mweb is None
    hogex = bytes.fromhex(_gbt()["transactions"][0]["data"])
    assert _block(t).endswith(hogex)


def test_bad_mweb_hex_is_a_backend_error() -> None:
    from hashforge.pool.errors import BackendError

    with pytest.raises(BackendError, match="bad getblocktemplate reply"):
        Template.from_gbt(_gbt(mweb="zz"))
