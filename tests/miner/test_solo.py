"""Solo mining end to end on a real regtest node process: getblocktemplate -> blocks -> submitblock.

The first blocks pay a bech32 (P2WPKH) address; after they mature, a segwit transaction spending
one of them sits in the mempool and the miner's next blocks - paying a bech32m (P2TR) address -
must carry it with a correct witness commitment, or the node would reject them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from hashforge.consensus.address import AddressType, Destination, encode_address
from hashforge.consensus.block import WITNESS_COMMITMENT_HEADER, Block
from hashforge.consensus.params import REGTEST
from hashforge.consensus.pow import decode_bip34_height
from hashforge.consensus.tx import OutPoint, Transaction
from hashforge.miner import SoloSource
from hashforge.miner.errors import ConfigError
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Key, Utxo, spend

from .helpers import make_miner, until

TAPROOT_KEY = bytes.fromhex("a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    n = NodeProcess(tmp_path_factory.mktemp("solo") / "node", network="regtest").start()
    yield n
    n.stop()


def _mine(node: NodeProcess, address: str, blocks: int) -> SoloSource:
    async def go() -> SoloSource:
        src = SoloSource(0, node.url, address, cookie=node.datadir / ".cookie", backoff=(0.05, 0.3))
        miner = make_miner([src])
        start = node.call("getblockcount")
        task = asyncio.create_task(miner.run())
        try:
            await until(lambda: src.shares.accepted >= blocks, timeout=30, what=f"{blocks} blocks")
        finally:
            miner.quit()
            await asyncio.wait_for(task, 15)
        assert node.call("getblockcount") >= start + blocks
        assert miner.totals.shares.rejected == 0
        return src

    return asyncio.run(go())


def _block(node: NodeProcess, height: int) -> Block:
    return Block.from_bytes(bytes.fromhex(node.call("getblock", node.call("getblockhash", height), 0)))


def test_solo_mining_pays_bech32_then_bech32m_with_segwit_transactions(node: NodeProcess) -> None:
    key = Key.from_int(0xC0FFEE)
    bech32 = encode_address(Destination(AddressType.P2WPKH, key.p2wpkh[2:], 0), REGTEST)
    assert bech32.startswith("bcrt1q")
    start = node.call("getblockcount")
    src = _mine(node, bech32, 3)
    assert src.current_height >= start + 3
    mined = [h for h in range(start + 1, node.call("getblockcount") + 1)
             if _block(node, h).vtx[0].vout[0].script_pubkey == key.p2wpkh]
    assert len(mined) >= 3
    for h in mined:
        cb = _block(node, h).vtx[0]
        assert decode_bip34_height(cb.vin[0].script_sig) == h  # BIP34
        assert b"/hashforge/" in cb.vin[0].script_sig
        assert any(o.script_pubkey[2:6] == WITNESS_COMMITMENT_HEADER for o in cb.vout)

    # mature the first miner block's coinbase, then put a segwit spend of it in the mempool
    node.call("generatetoaddress", 100, encode_address(Destination(AddressType.P2WPKH, b"\x01" * 20, 0), REGTEST))
    coinbase = _block(node, mined[0]).vtx[0]
    tx = spend(Utxo(OutPoint(coinbase.txid, 0), coinbase.vout[0], key), key, fee=5000)
    assert node.call("sendrawtransaction", tx.serialize().hex()) == tx.txid_hex

    taproot = encode_address(Destination(AddressType.P2TR, TAPROOT_KEY, 1), REGTEST)
    assert taproot.startswith("bcrt1p")
    start = node.call("getblockcount")
    _mine(node, taproot, 2)
    blocks = [_block(node, h) for h in range(start + 1, node.call("getblockcount") + 1)]
    ours = [b for b in blocks if b.vtx[0].vout[0].script_pubkey == b"\x51\x20" + TAPROOT_KEY]
    assert len(ours) >= 2
    carrying = [b for b in ours if any(t.txid == tx.txid for t in b.vtx[1:])]
    assert carrying, "the miner's block carries the mempool's segwit transaction"
    b = carrying[0]
    assert b.vtx[0].vin[0].witness == (b"\x00" * 32,)  # the witness reserved value
    subsidy = 50_0000_0000 >> ((start + 1) // 150)
    assert b.vtx[0].vout[0].value >= subsidy + 5000 - 1  # the fee goes to the miner's address
    assert node.call("getmempoolinfo")["size"] == 0


def test_solo_refuses_an_address_of_another_network(node: NodeProcess) -> None:
    async def go() -> None:
        src = SoloSource(0, node.url, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", cookie=node.datadir / ".cookie")
        with pytest.raises(ConfigError, match="payout address"):
            await src.prepare()
        miner = make_miner([SoloSource(0, node.url, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
                                       cookie=node.datadir / ".cookie")])
        with pytest.raises(ConfigError):
            await asyncio.wait_for(miner.run(), 15)

    asyncio.run(go())


def test_assembled_block_round_trips(tmp_path: Path) -> None:
    from hashforge.miner.sources.solo import Template, assemble_block, coinbase_parts

    t = Template(5, 0x20000000, bytes(32), 0x207FFFFF, 1 << 255, 0, 50_0000_0000, (), (),
                 bytes.fromhex("6a24aa21a9ed") + bytes(32), None)
    c1, c2 = coinbase_parts(t, b"\x51\x20" + TAPROOT_KEY)
    coinbase = c1 + b"\x11" * 12 + c2
    tx = Transaction.from_bytes(coinbase)
    assert decode_bip34_height(tx.vin[0].script_sig) == 5 and tx.vout[0].value == 50_0000_0000
    raw = assemble_block(bytes(80), coinbase, t)
    block = Block.from_bytes(raw)
    assert block.vtx[0].txid == tx.txid and block.vtx[0].vin[0].witness == (bytes(32),)
