"""Bitcoin Core interop on regtest: our blocks are Core's blocks, and Core's are ours.

Runs when `bitcoind` is in ../shared/bin (where CI has it) or on PATH, skips otherwise
(tests.helpers.peers). Core runs with `-regtest -listen=0 -disablewallet` and RPC on
loopback; both nodes start from the same genesis (identical regtest rules), so:
- blocks our node mines with `generatetoaddress` (including ones with P2WPKH and P2PKH spends,
  whose signatures Core verifies) are accepted by Core's `submitblock` (result null);
- blocks Core mines with `generatetoaddress` on top are accepted by ours;
- afterwards both report the same best block and the same `gettxoutsetinfo` (txouts, total_amount
  and hash_serialized_3, which our node computes with Core's serialization);
- Core 30+/31 RPC and policy side by side: the same relay fee floor (0.1 sat/vB) and verdicts on
  either side of it, a floor-rate transaction relayed from ours to Core over P2P, the same
  `getblock` at verbosity 1 and 3 (prevouts, coinbase_tx) and the same `getdeploymentinfo` (less
  the deployments the Core in front of us no longer lists, see DROPPED_BY_CORE).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hashforge.consensus.address import script_to_address
from hashforge.consensus.block import Block
from hashforge.consensus.params import REGTEST
from hashforge.rpcclient import RPCClientError
from tests.helpers.bitcoind import BitcoinCore, requires_bitcoind
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Key, Utxo, outputs_of, spend

pytestmark = [requires_bitcoind("the Bitcoin Core interop tests"), pytest.mark.slow]

OURS = Key.from_int(0x0C0DE)
CORES = Key.from_int(0xC02E)
OUR_ADDRESS = script_to_address(OURS.p2wpkh, REGTEST)
CORE_ADDRESS = script_to_address(CORES.p2wpkh, REGTEST)
RPC_USER, RPC_PASSWORD = "interop", "interop-password"
# Deployments Core stopped listing in getdeploymentinfo, by the first `getnetworkinfo` version that
# does not: taproot is enforced from genesis either way (script_flags says TAPROOT on both), and
# bitcoin/bitcoin#26201 dropped its BIP9 entry on master after v31 (31.99, slated for v32). Our node
# answers as the released Core does: clients such as lnd read deployments.taproot from Core < 31.
DROPPED_BY_CORE = {"taproot": 319900}


@pytest.fixture
def core(tmp_path: Path) -> Iterator[BitcoinCore]:
    with BitcoinCore(tmp_path / "core", "-listen=0", "-debug=0", user=RPC_USER, password=RPC_PASSWORD) as c:
        yield c


@pytest.fixture
def ours(tmp_path: Path) -> Iterator[NodeProcess]:
    n = NodeProcess(tmp_path / "ours" / "regtest").start()
    yield n
    n.stop()


def _same_genesis(core: BitcoinCore, ours: NodeProcess) -> None:
    assert core.call("getblockhash", 0) == ours.call("getblockhash", 0) == REGTEST.genesis.hash_hex


def _sats(value: Any) -> int:
    return int(Decimal(str(value)) * 100_000_000)


def _assert_same_state(core: BitcoinCore, ours: NodeProcess) -> None:
    assert core.call("getbestblockhash") == ours.call("getbestblockhash")
    assert core.call("getblockcount") == ours.call("getblockcount")
    theirs, mine = core.call("gettxoutsetinfo"), ours.call("gettxoutsetinfo")
    assert theirs["txouts"] == mine["txouts"]
    assert _sats(theirs["total_amount"]) == _sats(mine["total_amount"])
    if core.call("getnetworkinfo")["version"] >= 260000:  # older Cores say hash_serialized_2
        assert theirs["hash_serialized_3"] == mine["hash_serialized_3"]
    # getblock verbosity 2 describes the tip's transactions alike (hex and fee included)
    best = core.call("getbestblockhash")
    keys = ("txid", "hash", "hex", "size", "vsize", "weight", "fee")
    theirs_txs, our_txs = (n.call("getblock", best, 2)["tx"] for n in (core, ours))
    assert [[t.get(k) for k in keys] for t in theirs_txs] == [[t.get(k) for k in keys] for t in our_txs]


def _assert_same_deployments(core: BitcoinCore, ours: NodeProcess, block: str) -> None:
    """getdeploymentinfo alike, except deployments this Core version dropped (which ours must still
    report, active, while Core's script_flags show the rule enforced)."""
    version = core.call("getnetworkinfo")["version"]
    # a master build from before the change still lists them: only "may", from that version on
    may_drop = {name for name, since in DROPPED_BY_CORE.items() if version >= since}
    theirs, mine = core.call("getdeploymentinfo", block), ours.call("getdeploymentinfo", block)
    dropped = set(mine["deployments"]) - set(theirs["deployments"])
    assert dropped <= may_drop, (version, block, dropped)
    for name in dropped:
        assert mine["deployments"].pop(name)["active"] is True
        assert name.upper() in theirs["script_flags"]
    assert theirs == mine, (version, block)


def _relay(src: Any, dst: Any, first: int, last: int, side_branch: bool = False) -> None:
    """Hands blocks first..last from `src` to `dst` through submitblock; each must be accepted (a
    valid block that does not become the tip is "inconclusive", in Core as in ours)."""
    ok = (None, "inconclusive") if side_branch else (None,)
    for h in range(first, last + 1):
        raw = src.call("getblock", src.call("getblockhash", h), 0)
        assert dst.call("submitblock", raw) in ok, f"block {h} refused"


def _coinbase_utxo(node: Any, height: int, key: Key) -> Any:
    raw = node.call("getblock", node.call("getblockhash", height), 0)
    return outputs_of(Block.from_bytes(bytes.fromhex(raw)).vtx[0], key)[0]


def test_core_accepts_our_blocks_and_we_accept_cores(core: BitcoinCore, ours: NodeProcess) -> None:
    _same_genesis(core, ours)
    # ours mines 101 blocks, then blocks with P2WPKH and P2PKH spends from the mempool
    ours.call("generatetoaddress", 101, OUR_ADDRESS)
    tx1 = spend(_coinbase_utxo(ours, 1, OURS), OURS, fee=10_000, n_outputs=3)
    ours.call("sendrawtransaction", tx1.serialize().hex())
    tx2 = spend(outputs_of(tx1, OURS)[1], CORES, fee=5_000, p2pkh=True)
    ours.call("sendrawtransaction", tx2.serialize().hex())
    ours.call("generatetoaddress", 1, OUR_ADDRESS)
    assert ours.call("getrawmempool") == []
    _relay(ours, core, 1, ours.call("getblockcount"))
    _assert_same_state(core, ours)
    # Core mines on top (a few empty blocks, then one with a transaction of ours it relays into
    # its mempool); our node accepts every one
    tip = core.call("getblockcount")
    core.call("generatetoaddress", 5, CORE_ADDRESS)
    tx3 = spend(_coinbase_utxo(ours, 2, OURS), CORES, fee=20_000)
    assert core.call("sendrawtransaction", tx3.serialize().hex()) == tx3.txid_hex
    (with_tx,) = core.call("generatetoaddress", 1, CORE_ADDRESS)
    assert tx3.txid_hex in core.call("getblock", with_tx, 1)["tx"]
    _relay(core, ours, tip + 1, core.call("getblockcount"))
    _assert_same_state(core, ours)


def test_competing_branches_resolve_the_same_way(core: BitcoinCore, ours: NodeProcess) -> None:
    """Both nodes share 20 blocks; each mines its own branch; after exchanging them, both follow
    the longer one (ours: 3 blocks, Core's: 2) and agree on the UTXO set."""
    ours.call("generatetoaddress", 20, OUR_ADDRESS)
    _relay(ours, core, 1, 20)
    ours.call("generatetoaddress", 3, OUR_ADDRESS)
    core.call("generatetoaddress", 2, CORE_ADDRESS)
    core_branch = [core.call("getblock", core.call("getblockhash", h), 0) for h in (21, 22)]
    for raw in core_branch:
        assert ours.call("submitblock", raw) in (None, "inconclusive")
    _relay(ours, core, 21, 23, side_branch=True)
    _assert_same_state(core, ours)
    assert ours.call("getblockcount") == 23


def _wait(ready: Any, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def _at_rate(utxo: Utxo, sat_per_kvb: int, minus: int = 0) -> Any:
    """A spend paying exactly CFeeRate(sat_per_kvb).GetFee(vsize) - `minus` satoshis."""
    fee = 0
    for _ in range(5):
        tx = spend(utxo, CORES, fee)
        needed = -(-sat_per_kvb * tx.vsize // 1000) - minus
        if needed == fee:
            return tx
        fee = needed
    raise AssertionError("fee did not settle")


def test_core_31_policy_and_rpc_side_by_side(core: BitcoinCore, ours: NodeProcess) -> None:
    # relay fee floor: 100 sat/kvB on both (Core 30+), shown as BTC/kvB
    for method, fields in (("getnetworkinfo", ("relayfee", "incrementalfee")),
                           ("getmempoolinfo", ("minrelaytxfee", "incrementalrelayfee", "mempoolminfee"))):
        theirs, mine = core.call(method), ours.call(method)
        for f in fields:
            assert _sats(theirs[f]) == _sats(mine[f]) == 100, (method, f)
    ours.call("generatetoaddress", 101, OUR_ADDRESS)
    _relay(ours, core, 1, 101)
    # the same verdicts on either side of 0.1 sat/vB
    below, floor = _at_rate(_coinbase_utxo(ours, 1, OURS), 100, 1), _at_rate(_coinbase_utxo(ours, 1, OURS), 100)
    for tx, allowed in ((below, False), (floor, True)):
        [theirs], [mine] = (n.call("testmempoolaccept", [tx.serialize().hex()]) for n in (core, ours))
        assert theirs["allowed"] is mine["allowed"] is allowed
        assert theirs.get("reject-reason") == mine.get("reject-reason")
    assert core.call("testmempoolaccept", [below.serialize().hex()])[0]["reject-reason"] == "min relay fee not met"
    # relayed: Core connects to us and gets the floor-rate transaction over P2P
    core.call("addnode", ours.p2p_addr, "onetry")
    # both sides past the handshake (each has the other's feefilter) before the transaction exists
    _wait(lambda: any(p["minfeefilter"] for p in core.call("getpeerinfo"))
          and any(p["minfeefilter"] for p in ours.call("getpeerinfo")), "no P2P handshake")
    assert ours.call("sendrawtransaction", floor.serialize().hex()) == floor.txid_hex
    child = spend(outputs_of(floor, CORES)[0], OURS, fee=3_000, p2pkh=True)
    ours.call("sendrawtransaction", child.serialize().hex())
    _wait(lambda: {floor.txid_hex, child.txid_hex} <= set(core.call("getrawmempool")),
          "Core never received the floor-rate transaction")
    # ... and mined (ours mines; Core gets the block over P2P, or else by submitblock)
    (block_hash,) = ours.call("generatetoaddress", 1, OUR_ADDRESS)
    if core.call("getbestblockhash") != block_hash:
        core.call("submitblock", ours.call("getblock", block_hash, 0))
    assert core.call("getbestblockhash") == block_hash
    for verbosity in (1, 2, 3):
        theirs, mine = (n.call("getblock", block_hash, verbosity) for n in (core, ours))
        # Core prints doubles with 16 significant digits, Python's repr with up to 17
        assert theirs.pop("difficulty") == pytest.approx(mine.pop("difficulty"), rel=1e-15)
        assert theirs == mine, verbosity
    for block in (REGTEST.genesis.hash_hex, block_hash):
        _assert_same_deployments(core, ours, block)
    theirs, mine = (n.call("getblock", REGTEST.genesis.hash_hex, 3) for n in (core, ours))
    assert theirs.pop("difficulty") == pytest.approx(mine.pop("difficulty"), rel=1e-15)
    assert theirs == mine
    # testdummy on regtest starts at 144; Core's blocks signal bit 28 from then on, ours do not
    tip = core.call("getblockcount")
    core.call("generatetoaddress", 150 - tip, CORE_ADDRESS)
    for h in range(tip + 1, 151):  # over P2P already, or by submitblock
        assert ours.call("submitblock", core.call("getblock", core.call("getblockhash", h), 0)) in (None, "duplicate")
    assert ours.call("getbestblockhash") == core.call("getbestblockhash")
    for h in (143, 144, 150):
        _assert_same_deployments(core, ours, core.call("getblockhash", h))


def test_chain_tx_stats_and_verification_progress_match_core(core: BitcoinCore, ours: NodeProcess) -> None:
    """The same blocks in both nodes (ours mines 104 blocks and blocks of 3 and 2 spends, then Core
    mines on top): `getchaintxstats` gives the same cumulative counts, windows (by median time
    past) and rates for every window asked, the same errors for windows past genesis, and
    `getblockchaininfo.verificationprogress` is the same (Core's regtest ChainTxData is zero: 1.0)."""
    ours.call("generatetoaddress", 104, OUR_ADDRESS)
    for heights in ((1, 2, 3), (4, 5)):
        for h in heights:
            ours.call("sendrawtransaction", spend(_coinbase_utxo(ours, h, OURS), CORES, fee=10_000).serialize().hex())
        ours.call("generatetoaddress", 1, OUR_ADDRESS)
        ours.call("generatetoaddress", 1, OUR_ADDRESS)  # one more block so each adds to the next MTP
    _relay(ours, core, 1, ours.call("getblockcount"))
    tip = core.call("getblockcount")
    core.call("generatetoaddress", 6, CORE_ADDRESS)
    _relay(core, ours, tip + 1, tip + 6)
    _assert_same_state(core, ours)
    height = core.call("getblockcount")
    at_50, at_1 = core.call("getblockhash", 50), core.call("getblockhash", 1)
    for params in ((), (0,), (1,), (10,), (height - 1,), (None, at_50), (7, at_50), (None, at_1)):
        theirs, mine = core.call("getchaintxstats", *params), ours.call("getchaintxstats", *params)
        assert set(theirs) == set(mine), params
        if "txrate" in theirs:
            assert mine.pop("txrate") == pytest.approx(theirs.pop("txrate"), rel=1e-15), params
        assert theirs == mine, params
    assert core.call("getchaintxstats")["txcount"] == height + 1 + 5  # every coinbase, genesis's too, and 5 spends
    for bad in ((height,), (-1,), (50, at_50)):
        errors = []
        for n in (core, ours):
            with pytest.raises(RPCClientError) as e:
                n.call("getchaintxstats", *bad)
            errors.append((e.value.code, e.value.message))
        assert errors[0] == errors[1] == (-8, "Invalid block count: should be between 0 and the block's height - 1"), bad
    theirs, mine = (n.call("getblockchaininfo")["verificationprogress"] for n in (core, ours))
    assert theirs == mine == 1
