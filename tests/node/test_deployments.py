"""The BIP9 state machine behind getdeploymentinfo (Core's versionbits.cpp), on a synthetic chain:
defined -> started -> locked_in -> (held back by min_activation_height) -> active, with Core's
"since", "height"/"active" and statistics rules. The regtest shapes are compared with a real
bitcoind in tests/node/test_rpc_core_parity.py and tests/integration/test_bitcoind.py."""

from __future__ import annotations

from typing import Any

from hashforge.consensus.block import BlockHeader
from hashforge.consensus.params import MAINNET, REGTEST
from hashforge.consensus.script_flags import ScriptFlags
from hashforge.node.chain import BlockIndex
from hashforge.node.rpc.deployments import (
    BIP9Deployment,
    Deployments,
    VersionBits,
    script_flag_names,
)

START = 1_000_000
DEP = BIP9Deployment(bit=5, start_time=START, timeout=2 * START, min_activation_height=35, threshold=8, period=10)


def chain(n: int, signals: Any = lambda h: 10 <= h < 20) -> list[BlockIndex]:
    out: list[BlockIndex] = []
    for h in range(n):
        version = 0x20000000 | ((1 << DEP.bit) if signals(h) else 0)
        prev = out[-1] if out else None
        header = BlockHeader(version, prev.hash if prev else b"\x00" * 32, h.to_bytes(32, "little"), START + h, 0, 0)
        out.append(BlockIndex(header, h, prev, h, h))
    return out


def ancestor(entry: BlockIndex, height: int) -> BlockIndex:
    return entry.ancestor(height)


def test_bip9_walks_through_every_state() -> None:
    blocks = chain(45)
    vb = VersionBits(DEP, ancestor)
    states = [vb.state_for(b.prev) for b in blocks]
    assert states[:10] == ["defined"] * 10
    assert states[10:20] == ["started"] * 10  # MTP of block 9 is past the start time
    assert states[20:40] == ["locked_in"] * 20  # 10 of 10 signalled; activation waits for height 35 ...
    assert states[40:] == ["active"] * 5  # ... so the first period that may activate starts at 40
    assert [vb.since_for(blocks[h].prev) for h in (5, 15, 25, 39, 44)] == [0, 10, 20, 20, 40]

    at_39 = vb.info(blocks[39])  # the next block activates: active "for the mempool and the next block"
    assert at_39["height"] == 40 and at_39["active"] is True
    assert at_39["bip9"]["status"] == "locked_in" and at_39["bip9"]["status_next"] == "active"
    assert at_39["bip9"]["statistics"] == {"period": 10, "elapsed": 10, "count": 0}  # locked in: no threshold
    assert at_39["bip9"]["signalling"] == "-" * 10
    assert "statistics" not in vb.info(blocks[44])["bip9"] and vb.info(blocks[44])["height"] == 40

    at_13 = vb.info(blocks[13])
    assert at_13["active"] is False and "height" not in at_13
    assert at_13["bip9"]["bit"] == 5 and at_13["bip9"]["signalling"] == "####"
    assert at_13["bip9"]["statistics"] == {"period": 10, "elapsed": 4, "count": 4, "threshold": 8, "possible": True}


def test_bip9_fails_after_timeout_without_signal() -> None:
    dep = BIP9Deployment(bit=5, start_time=START, timeout=START + 15, min_activation_height=0, threshold=8, period=10)
    blocks = chain(35, signals=lambda h: h % 2 == 0)
    vb = VersionBits(dep, ancestor)
    # the median time past of block 19 (START+14) is short of the timeout, that of block 29 is not
    assert [vb.state_for(blocks[h].prev) for h in (9, 10, 20, 29, 30, 34)] == [
        "defined", "started", "started", "started", "failed", "failed"]
    assert vb.since_for(blocks[34].prev) == 30
    at_12 = vb.info(blocks[12])["bip9"]
    assert at_12["signalling"] == "#-#" and at_12["statistics"]["possible"] is True


def test_mainnet_genesis_matches_core() -> None:
    """bitcoind v31.0 -chain=main, getdeploymentinfo at genesis (testdummy is NEVER_ACTIVE: omitted)."""
    genesis = BlockIndex(MAINNET.genesis.header, 0, None, 1, 0)
    info = Deployments(MAINNET, ancestor).info(genesis)
    assert info["deployments"] == {
        "bip34": {"type": "buried", "active": False, "height": 227931},
        "bip66": {"type": "buried", "active": False, "height": 363725},
        "bip65": {"type": "buried", "active": False, "height": 388381},
        "csv": {"type": "buried", "active": False, "height": 419328},
        "segwit": {"type": "buried", "active": False, "height": 481824},
        "taproot": {"type": "bip9", "active": False,
                    "bip9": {"start_time": 1619222400, "timeout": 1628640000, "min_activation_height": 709632,
                             "status": "defined", "since": 0, "status_next": "defined"}},
    }
    assert info["script_flags"] == ["P2SH", "TAPROOT", "WITNESS"]


def test_script_flag_names_are_cores() -> None:
    assert script_flag_names(ScriptFlags.NONE) == []
    assert script_flag_names(ScriptFlags.WITNESS | ScriptFlags.P2SH | ScriptFlags.DERSIG) == ["DERSIG", "P2SH", "WITNESS"]
    assert list(Deployments(REGTEST, ancestor).bip9) == ["testdummy", "taproot"]
