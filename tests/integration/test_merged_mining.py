"""Merged mining on the real daemons (regtest): one hashforge pool mines Litecoin (`litecoind`) as
the parent and Dogecoin (`dogecoind`) as an aux chain, one Stratum job for both, with hashforge's
scrypt miner (on a fresh chain) and minerd (past MWEB activation). Blocks land on both chains:
Litecoin's coinbase pays the LTC address and carries the merged-mining commitment; Dogecoin's
blocks are AuxPoW blocks whose own coinbase pays the DOGE address and whose parent is a Litecoin
header our miner found.

Dogecoin Core quirks (../shared/bin/README.md): its templates need a peer (a second dogecoind,
`addnode`), and AuxPoW blocks are accepted from height 20 only (legacy blocks below it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hashforge.consensus.address import script_to_address
from hashforge.consensus.auxpow import MERGED_MINING_HEADER, AuxPowHeader
from hashforge.consensus.params import DOGECOIN_REGTEST, LITECOIN_REGTEST
from hashforge.consensus.pow import bits_to_target
from hashforge.pool.apiguard import COOKIE_FILE, read_cookie
from tests.helpers.nodeproc import free_port
from tests.helpers.peers import find_peer, requires_peer
from tests.helpers.txbuilder import Key
from tests.integration.test_altcoin_daemons import Daemon
from tests.integration.test_litecoin_pool import (
    MWEB_CHAIN,
    MWEB_CHAIN_HEIGHT,
    rejected_blocks,
    replay_mweb_chain,
    shares_recorded,
    stop_process,
    wait_listening,
)

LTC_KEY = Key.from_int(0x17C0DE)
DOGE_KEY = Key.from_int(0xD06E)
LTC_ADDRESS = script_to_address(LTC_KEY.p2wpkh, LITECOIN_REGTEST) or ""
DOGE_ADDRESS = script_to_address(DOGE_KEY.p2pkh, DOGECOIN_REGTEST) or ""
OTHER_DOGE = script_to_address(Key.from_int(7).p2pkh, DOGECOIN_REGTEST) or ""
AUXPOW_START = 20
BLOCKS_WANTED = 2
DEADLINE = 150.0

pytestmark = [requires_peer("litecoind", "merged mining on Litecoin Core + Dogecoin Core"),
              requires_peer("dogecoind", "merged mining on Litecoin Core + Dogecoin Core")]


def _start(program: str, datadir: Path, extra: list[str]) -> Daemon:
    daemon = Daemon(program, datadir)
    daemon.extra_args = extra
    return daemon.start()


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[tuple[Daemon, Daemon]]:
    """litecoind, and a dogecoind with a peer (a second dogecoind it is connected to)."""
    ltc, doge = find_peer("litecoind"), find_peer("dogecoind")
    assert ltc is not None and doge is not None
    started: list[Daemon] = []
    try:
        started.append(_start(ltc, tmp_path / "litecoind", []))
        p2p = free_port()
        started.append(_start(doge, tmp_path / "dogecoind", ["-listen=1", "-bind=127.0.0.1", f"-port={p2p}",
                                                              "-txindex=1"]))
        started.append(_start(doge, tmp_path / "dogecoind-peer", []))
        started[2].call("addnode", f"127.0.0.1:{p2p}", "onetry")
        deadline = time.monotonic() + 30
        while started[1].call("getconnectioncount") < 1:
            assert time.monotonic() < deadline, "the two dogecoinds did not connect"
            time.sleep(0.2)
        yield started[0], started[1]
    finally:
        for d in reversed(started):
            d.stop()


def _miner(miner: str, stratum: int) -> list[str]:
    url, user = f"stratum+tcp://127.0.0.1:{stratum}", f"{LTC_ADDRESS}.w"
    if miner == "minerd":
        program = find_peer("minerd")
        assert program is not None
        return [program, "-a", "scrypt", "-t", "1", "-o", url, "-u", user, "-p", "x", "-D"]
    return [sys.executable, "-m", "hashforge", "mine", "-a", "scrypt", "-t", "1", "-o", url, "-u", user,
            "-p", "x", "--quiet", "--api-listen", f"127.0.0.1:{free_port()}"]


# hashforge's miner on a fresh Litecoin chain; minerd past MWEB activation (the parent block then
# carries the HogEx and the MWEB block besides the merged-mining commitment)
@pytest.mark.parametrize(("miner", "mweb"), [("hashforge", False), ("minerd", True)],
                         ids=["hashforge-before-mweb", "minerd-mweb"])
def test_merged_mining_litecoin_and_dogecoin(tmp_path: Path, daemons: tuple[Daemon, Daemon],
                                             miner: str, mweb: bool) -> None:
    if miner == "minerd" and find_peer("minerd") is None:
        pytest.skip("minerd not found in ../shared/bin or on PATH: put a build of it there to run minerd -a scrypt")
    litecoind, dogecoind = daemons
    if mweb:
        if not MWEB_CHAIN.exists():
            pytest.skip(f"{MWEB_CHAIN} not found: the raw Litecoin regtest chain past MWEB activation")
        assert replay_mweb_chain(litecoind) == MWEB_CHAIN_HEIGHT
    else:
        litecoind.call("generatetoaddress", 1, LTC_ADDRESS)
    dogecoind.call("generatetoaddress", AUXPOW_START - 1, OTHER_DOGE)  # legacy blocks, up to 19
    ltc_start, doge_start = int(litecoind.call("getblockcount")), int(dogecoind.call("getblockcount"))
    assert doge_start == AUXPOW_START - 1

    stratum, api = free_port(), free_port()
    pool_dir = tmp_path / "pool"
    pool_log, miner_log = tmp_path / "pool.log", tmp_path / "miner.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with open(pool_log, "ab") as f:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "hashforge", "pool", "--network", "litecoin-regtest",
                 "--node-rpc", f"http://hf:hf-pass@127.0.0.1:{litecoind.port}/",
                 "--aux-chain", f"dogecoin-regtest,http://hf:hf-pass@127.0.0.1:{dogecoind.port}/,{DOGE_ADDRESS}",
                 "--stratum-port", str(stratum), "--stratum-host", "127.0.0.1", "--scheme", "solo",
                 "--api-port", str(api), "--datadir", str(pool_dir)],
                stdout=f, stderr=subprocess.STDOUT, env=env))
        wait_listening(stratum, procs[0], pool_log)
        with open(miner_log, "ab") as f:
            procs.append(subprocess.Popen(_miner(miner, stratum), stdout=f, stderr=subprocess.STDOUT, env=env))

        def logs() -> str:
            return (f"--- miner\n{miner_log.read_text(errors='replace')[-2000:]}\n"
                    f"--- pool\n{pool_log.read_text(errors='replace')[-5000:]}\n"
                    f"--- dogecoind\n{dogecoind.tail()[-2000:]}")

        deadline = time.monotonic() + DEADLINE
        while True:
            assert all(p.poll() is None for p in procs), logs()
            assert not rejected_blocks(pool_dir / "pool.sqlite3"), logs()
            ltc_height, doge_height = int(litecoind.call("getblockcount")), int(dogecoind.call("getblockcount"))
            if (ltc_height >= ltc_start + BLOCKS_WANTED and doge_height >= doge_start + BLOCKS_WANTED
                    and shares_recorded(pool_dir / "pool.sqlite3", "w") >= 3):
                break
            assert time.monotonic() < deadline, f"LTC {ltc_height} (from {ltc_start}), " \
                f"DOGE {doge_height} (from {doge_start}):\n{logs()}"
            time.sleep(0.5)
        pool_text = pool_log.read_text(errors="replace")
        # the pool's own view, per coin (its REST API); a submitauxblock answer may trail the height by a moment
        deadline = time.monotonic() + 10
        while True:
            stats = httpx.get(f"http://127.0.0.1:{api}/v1/pool/stats", timeout=10,
                              auth=read_cookie(pool_dir / COOKIE_FILE)).json()
            if stats["aux_chains"][0]["blocks_accepted"] >= doge_height - doge_start or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        for p in reversed(procs):
            stop_process(p)

    # Litecoin: our blocks pay the LTC address and commit to the aux chain
    for h in range(ltc_start + 1, ltc_height + 1):
        coinbase = litecoind.call("getblock", litecoind.call("getblockhash", h), 2)["tx"][0]
        assert coinbase["vout"][0]["scriptPubKey"]["hex"] == LTC_KEY.p2wpkh.hex(), (h, coinbase)
        assert MERGED_MINING_HEADER in bytes.fromhex(coinbase["vin"][0]["coinbase"]), (h, coinbase)
        if mweb:
            assert "mweb" in litecoind.call("getblock", litecoind.call("getblockhash", h)), h
    # Dogecoin: AuxPoW blocks (chain ID 0x62) paying the DOGE address, their parent a Litecoin
    # header with a valid scrypt proof of work for the Dogecoin target, committed by our coinbase
    for h in range(doge_start + 1, doge_height + 1):
        block_hash = dogecoind.call("getblockhash", h)
        header = AuxPowHeader.from_bytes(bytes.fromhex(dogecoind.call("getblockheader", block_hash, False)))
        aux = header.auxpow
        assert aux is not None, h
        aux.check(header.header.hash, 0x62, True)
        assert int.from_bytes(aux.parent_pow_hash, "little") <= bits_to_target(header.header.bits), h
        assert b"/hashforge/" in aux.coinbase_tx.vin[0].script_sig, h
        block = dogecoind.call("getblock", block_hash)
        coinbase = dogecoind.call("getrawtransaction", block["tx"][0], 1)
        assert coinbase["vout"][0]["scriptPubKey"]["hex"] == DOGE_KEY.p2pkh.hex(), (h, coinbase)
    assert "aux block" in pool_text and "accepted" in pool_text, pool_text[-3000:]
    assert stats["coin"] == "LTC" and stats["network"] == "litecoin-regtest", stats
    (aux_stats,) = stats["aux_chains"]
    assert aux_stats["coin"] == "DOGE" and aux_stats["network"] == "dogecoin-regtest", stats
    assert aux_stats["blocks_accepted"] >= doge_height - doge_start and aux_stats["blocks_rejected"] == 0, stats
