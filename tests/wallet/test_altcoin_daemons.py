"""The wallet on Litecoin and Dogecoin, against the real daemons on regtest: mine coinbases to a
wallet address, let them mature, scan, send to an outside address; the daemon accepts the
transaction into its mempool and a block, and the balances add up to the satoshi.

- Litecoin Core 0.21: the chain is first replayed past MWEB activation (432, with a peg-in), so
  the wallet scans MWEB blocks (HogEx included); it spends both its P2WPKH (rltc1) and its BIP44
  P2PKH coins, and the raw-block reader is cross-checked with `getblock HASH 2` on MWEB blocks.
- Dogecoin Core 1.14: P2PKH only, raw blocks (AuxPoW ones from height 20) read as releases
  without `getblock` verbosity 2 need, fees and dust in Dogecoin's units (`getnetworkinfo`'s relayfee and
  softdustlimit).

litecoind and dogecoind come from ../shared/bin or PATH (skipped with a message otherwise); their
fixtures are tests/integration/test_altcoin_daemons.py's (see conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from hashforge.consensus.address import p2pkh_script, script_to_address
from hashforge.consensus.hashes import hash160
from hashforge.consensus.params import COIN, DOGECOIN_REGTEST, LITECOIN_REGTEST, ChainParams
from hashforge.consensus.tx import Transaction
from hashforge.wallet import FeeRateError, Wallet
from hashforge.wallet.keys import ScriptType
from hashforge.wallet.rawblocks import read_block
from tests.helpers.peers import requires_peer
from tests.integration.test_altcoin_daemons import Daemon
from tests.integration.test_litecoin_pool import MWEB_CHAIN, replay_mweb_chain
from tests.wallet.conftest import FAST_KDF

OUTSIDE = p2pkh_script(hash160(b"\x02" + bytes(range(32))))  # nobody's wallet here


def _sats(value: object) -> int:
    return int(Decimal(str(value)) * COIN)


def _coinbase_value(daemon: Daemon, height: int) -> int:
    """The first output of the coinbase at `height`, as the daemon's UTXO set has it."""
    block = daemon.call("getblock", daemon.call("getblockhash", height), True)
    out = daemon.call("gettxout", block["tx"][0], 0)
    return _sats(out["value"])


def _send_and_confirm(w: Wallet, daemon: Daemon, params: ChainParams, amount: int, miner_addr: str) -> None:
    """Sends `amount` to OUTSIDE; the daemon takes it into its mempool, then into a block."""
    before = w.balance().confirmed
    outside = script_to_address(OUTSIDE, params)
    assert outside is not None
    txid = w.send(outside, amount)
    assert txid in daemon.call("getrawmempool")
    entry = next(h for h in w.history() if h.txid == txid)
    assert entry.fee is not None and entry.fee > 0
    daemon.call("generatetoaddress", 1, miner_addr)
    report = w.sync()
    assert txid not in daemon.call("getrawmempool")
    row = next(h for h in w.history() if h.txid == txid)
    assert row.confirmations == 1 and row.amount == -(amount + row.fee)  # type: ignore[operator]
    tx_row = w.db.tx(txid)
    assert tx_row is not None and tx_row.raw is not None
    n = next(i for i, o in enumerate(Transaction.from_bytes(tx_row.raw).vout) if o.script_pubkey == OUTSIDE)
    utxo = daemon.call("gettxout", txid, n)  # the daemon's UTXO set has the payment, confirmed
    assert _sats(utxo["value"]) == amount and utxo["confirmations"] == 1
    assert utxo["scriptPubKey"]["hex"] == OUTSIDE.hex()
    assert w.balance().confirmed == before - amount - row.fee  # type: ignore[operator]
    assert report.tip_height == int(daemon.call("getblockcount"))


@requires_peer("litecoind", "the wallet on Litecoin Core")
@pytest.mark.skipif(not MWEB_CHAIN.exists(), reason=f"{MWEB_CHAIN} not found (../shared/bin)")
def test_wallet_on_litecoind_across_mweb(tmp_path: Path, litecoind: Daemon) -> None:
    params = LITECOIN_REGTEST
    height = replay_mweb_chain(litecoind)
    assert height >= 432  # MWEB is active: every block from here on ends in a HogEx
    for h in (432, height):  # our raw reader agrees with Litecoin Core on MWEB blocks
        bh = litecoind.call("getblockhash", h)
        ours = read_block(bytes.fromhex(litecoind.call("getblock", bh, 0)), params)
        theirs = litecoind.call("getblock", bh, 2)
        assert [t["txid"] for t in ours["tx"]] == [t["txid"] for t in theirs["tx"]]
        assert [[_sats(o["value"]) for o in t["vout"]] for t in ours["tx"]] == \
            [[_sats(o["value"]) for o in t["vout"]] for t in theirs["tx"]]

    w, _ = Wallet.create(tmp_path / "ltc", params, "pw", rpc=litecoind.rpc, kdf=FAST_KDF, birth_height=425)
    with w:
        segwit = w.new_address()
        legacy = w.new_address(ScriptType.P2PKH)
        assert segwit.startswith("rltc1q") and legacy[0] in "mn"
        litecoind.call("generatetoaddress", 2, segwit)
        litecoind.call("generatetoaddress", 1, legacy)
        miner = script_to_address(OUTSIDE, params)
        assert miner is not None
        litecoind.call("generatetoaddress", 100, miner)
        w.sync()
        tip = int(litecoind.call("getblockcount"))
        expected = sum(_coinbase_value(litecoind, h) for h in range(height + 1, height + 4))
        bal = w.balance()
        assert (bal.confirmed, bal.immature, bal.tip_height) == (expected, 0, tip)
        # spends all three coinbases (P2WPKH and P2PKH inputs in one transaction)
        _send_and_confirm(w, litecoind, params, expected - COIN, miner)
        assert {u.address[0] for u in w.utxos()} <= {"r"}  # the change went to rltc1


@requires_peer("dogecoind", "the wallet on Dogecoin Core")
def test_wallet_on_dogecoind_raw_blocks_and_dogecoin_fees(tmp_path: Path, dogecoind: Daemon) -> None:
    params = DOGECOIN_REGTEST
    w, _ = Wallet.create(tmp_path / "doge", params, "pw", rpc=dogecoind.rpc, kdf=FAST_KDF, birth_height=0)
    with w:
        address = w.new_address()
        assert address[0] in "mn" and w.descriptors()[0].startswith("pkh([")
        # Dogecoin's relay policy comes from the node: 0.001 DOGE/kB, 0.01 DOGE soft dust limit.
        info = dogecoind.call("getnetworkinfo")
        policy = w.sender.policy
        assert policy.min_relay_fee.sat_per_kvb == _sats(info["relayfee"])
        assert policy.dust_floor == _sats(info["softdustlimit"]) == COIN // 100
        with pytest.raises(FeeRateError, match="minimum relay fee"):
            w.send(address, COIN, fee_rate=10)  # 10 sat/vB: fine on Bitcoin, far too low here

        miner = script_to_address(OUTSIDE, params)
        assert miner is not None
        dogecoind.call("generatetoaddress", 3, address)  # legacy blocks (below the AuxPoW start)
        dogecoind.call("generatetoaddress", 16, miner)
        dogecoind.call("generatetoaddress", 2, address, 1000, 1)  # AuxPoW blocks (20, 21)
        dogecoind.call("generatetoaddress", params.coinbase_maturity, miner, 1000, 1)
        w.sync()
        for h in (3, 21):  # our raw reader agrees with Dogecoin Core, AuxPoW block included
            bh = dogecoind.call("getblockhash", h)
            ours = read_block(bytes.fromhex(dogecoind.call("getblock", bh, False)), params)
            theirs = dogecoind.call("getblock", bh, 2)
            assert ("auxpow" in theirs) == (h >= 20)
            assert [t["txid"] for t in ours["tx"]] == [t["txid"] for t in theirs["tx"]]
            assert ours["previousblockhash"] == theirs["previousblockhash"]
        assert w.sender.policy is policy
        assert w.db.get_meta("network") == "dogecoin-regtest"
        our_heights = [1, 2, 3, 20, 21]
        expected = sum(_coinbase_value(dogecoind, h) for h in our_heights)
        bal = w.balance()
        assert (bal.confirmed, bal.immature) == (expected, 0)
        assert len(w.utxos()) == 5
        # The dust floor applies to what we pay: 0.005 DOGE is below Dogecoin's soft dust limit.
        with pytest.raises(Exception, match="dust"):
            w.send(miner, COIN // 200)
        _send_and_confirm(w, dogecoind, params, 1000 * COIN, miner)
        # A BIP125 fee bump pays at least Dogecoin Core's incremental relay fee more, and is accepted.
        first = w.send(miner, 10 * COIN)
        old_fee = next(h.fee for h in w.history() if h.txid == first)
        bumped = w.bump_fee(first)
        mempool = dogecoind.call("getrawmempool")
        assert bumped in mempool and first not in mempool
        new_fee = next(h.fee for h in w.history() if h.txid == bumped)
        assert old_fee is not None and new_fee is not None
        assert new_fee - old_fee >= policy.incremental_fee.fee(192) == _sats(info["incrementalfee"]) * 192 // 1000
        dogecoind.call("generatetoaddress", 1, miner, 1000, 1)
        w.sync()
        # The same keys restored and scanned from raw blocks (how the wallet reads a Dogecoin
        # Core whose getblock has no verbosity 2) see the same coins and the same spend.
        restored, _ = Wallet.create(tmp_path / "doge-raw", params, "pw", mnemonic=w.show_mnemonic("pw").mnemonic,
                                    rpc=dogecoind.rpc, kdf=FAST_KDF, birth_height=0)
        with restored:
            restored.sync(raw_blocks=True)
            assert restored.balance() == w.balance()
            assert sorted((u.txid, u.vout, u.value) for u in restored.utxos()) == \
                sorted((u.txid, u.vout, u.value) for u in w.utxos())
        fee = next(h.fee for h in w.history() if h.amount < 0)
        assert fee is not None and fee >= policy.fallback_fee.fee(192)  # at least 0.01 DOGE/kB for a 1-in tx

    # The CLI labels every amount with the coin and parses amounts in it (Dogecoin has no
    # 21-million cap: 30 million DOGE is a valid amount this wallet cannot afford).
    cli = [sys.executable, "-m", "hashforge.wallet.cli"]
    common = ["--network", "dogecoin-regtest", "--datadir", str(tmp_path / "doge"),
              "--node-rpc", f"http://hf:hf-pass@127.0.0.1:{dogecoind.port}/"]
    env = {**os.environ, "HASHFORGE_WALLET_PASSPHRASE": "pw"}
    as_json = subprocess.run([*cli, "balance", *common, "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["coin"] == "DOGE" and data["confirmed"] > 0 and data["immature"] == 0
    human = subprocess.run([*cli, "balance", *common, "--offline"], capture_output=True, text=True, env=env, timeout=120)
    assert human.returncode == 0 and f"{Decimal(data['confirmed']) / COIN:.8f} DOGE" in human.stdout
    too_much = subprocess.run([*cli, "send", miner, "30000000", *common], capture_output=True, text=True, env=env, timeout=120)
    assert too_much.returncode == 2 and "insufficient funds" in too_much.stderr and "Traceback" not in too_much.stderr
    cap = subprocess.run([*cli, "send", miner, "20000000000doge", *common], capture_output=True, text=True, env=env, timeout=120)
    assert cap.returncode == 2 and "10 billion DOGE" in cap.stderr
