"""Both ledgers of merged mining on the real daemons (regtest): one hashforge pool (PPLNS, 1% fee)
mines Litecoin on `litecoind` and Dogecoin on `dogecoind` with two hashforge miners, each naming
its DOGE payout address in the Stratum password (`doge=ADDR`). Blocks land on both chains, each
coinbase pays the pool's address of its coin, and the pool's books credit both miners in LTC and in
DOGE (each DOGE block's credits sum to the coinbase value `dogecoind` holds, less the fee); an aux
block orphaned on `dogecoind` (invalidateblock) has its DOGE credits reversed, LTC untouched; the
rest mature after Dogecoin regtest's 60 confirmations (chainparams.cpp: nCoinbaseMaturity = 60)
and become payable. The pool API and `hashforge pool balances|blocks --json` show it per coin.
Last, the pool's DOGE payout run pays those balances to the miners' DOGE addresses in one
transaction `dogecoind` accepts and mines, spending the pool's DOGE coinbases.

A PPS pool credits DOGE only for shares whose job carried DOGE work: none while `dogecoind` is
unreachable (a TCP relay between them, cut), every share in LTC.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from hashforge.consensus.address import address_to_script, script_to_address
from hashforge.consensus.params import DOGECOIN_REGTEST, LITECOIN_REGTEST
from hashforge.consensus.tx import OutPoint, TxOut
from hashforge.pool.apiguard import COOKIE_FILE, read_cookie
from hashforge.pool.db import LedgerRepository, make_engine
from hashforge.pool.payouts import BuiltTransaction, PayoutProcessor
from tests.helpers.nodeproc import free_port
from tests.helpers.peers import requires_peer
from tests.helpers.relay import TcpRelay
from tests.helpers.txbuilder import Key, Utxo, sign_tx
from tests.integration.test_altcoin_daemons import Daemon
from tests.integration.test_litecoin_pool import stop_process, wait_listening
from tests.integration.test_merged_mining import AUXPOW_START, OTHER_DOGE, daemons
from tests.pool.harness import Client

__all__ = ["daemons"]

POOL_LTC_KEY, POOL_DOGE_KEY = Key.from_int(0x9001), Key.from_int(0x9002)
POOL_LTC = script_to_address(POOL_LTC_KEY.p2wpkh, LITECOIN_REGTEST) or ""
POOL_DOGE = script_to_address(POOL_DOGE_KEY.p2pkh, DOGECOIN_REGTEST) or ""
MINERS = {  # LTC address (the miner at the pool) -> its DOGE payout address
    script_to_address(Key.from_int(0xA1).p2wpkh, LITECOIN_REGTEST) or "":
        script_to_address(Key.from_int(0xA2).p2pkh, DOGECOIN_REGTEST) or "",
    script_to_address(Key.from_int(0xB1).p2wpkh, LITECOIN_REGTEST) or "":
        script_to_address(Key.from_int(0xB2).p2pkh, DOGECOIN_REGTEST) or "",
}
DOGE = "dogecoin-regtest"
FEE_PERCENT = 1
DOGE_BLOCKS_WANTED = 4
DEADLINE = 240.0

pytestmark = [requires_peer("litecoind", "merged-mining accounting on Litecoin Core + Dogecoin Core"),
              requires_peer("dogecoind", "merged-mining accounting on Litecoin Core + Dogecoin Core")]


def _sats(amount: Any) -> int:
    return int(Decimal(str(amount)) * 100_000_000)


def _query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # not migrated yet
            return []


def _wait(what: str, check: Callable[[], bool], logs: Callable[[], str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}:\n{logs()}"
        time.sleep(0.5)


def _hashforge(*args: str) -> Any:
    proc = subprocess.run([sys.executable, "-m", "hashforge", *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


class CoinbaseWallet:
    """The pool's DOGE wallet for this test: one P2PKH key, its coins the mature coinbases of the
    pool's DOGE blocks (dogecoind has no wallet and no scantxoutset), spends signed by txbuilder."""

    __test__ = False
    FEE = 100_000_000  # 1 DOGE: above Dogecoin Core 1.14's relay minimum for a small transaction

    def __init__(self, key: Key, dogecoind: Daemon, coinbases: list[str]) -> None:
        self.key, self.node, self.coinbases = key, dogecoind, coinbases

    async def build_batch(self, outputs: Any) -> BuiltTransaction:
        coins = []
        for txid in self.coinbases:
            out = self.node.call("gettxout", txid, 0)
            if out and out["confirmations"] >= DOGECOIN_REGTEST.coinbase_maturity:
                coins.append(Utxo(OutPoint(bytes.fromhex(txid)[::-1], 0), TxOut(_sats(out["value"]), self.key.p2pkh),
                                  self.key))
        change = sum(c.value for c in coins) - sum(v for _, v in outputs) - self.FEE
        assert change >= 0, "the pool's mature DOGE coinbases cover its payable DOGE balances"
        outs = [TxOut(v, address_to_script(a, DOGECOIN_REGTEST)) for a, v in outputs]
        tx = sign_tx(coins, [*outs, TxOut(change, self.key.p2pkh)], version=1)
        return BuiltTransaction(tx.serialize().hex(), tx.txid_hex)

    async def broadcast(self, tx: BuiltTransaction) -> str:
        return str(self.node.call("sendrawtransaction", tx.raw_hex))

    async def confirmations(self, txid: str) -> int:
        out = self.node.call("gettxout", txid, 0)
        return int(out["confirmations"]) if out else 0


def test_both_ledgers_credit_the_miners_and_an_orphaned_aux_block_is_reversed(
        tmp_path: Path, daemons: tuple[Daemon, Daemon]) -> None:
    litecoind, dogecoind = daemons
    litecoind.call("generatetoaddress", 1, POOL_LTC)
    dogecoind.call("generatetoaddress", AUXPOW_START - 1, OTHER_DOGE)  # legacy blocks, up to 19
    ltc_start = int(litecoind.call("getblockcount"))

    stratum, api = free_port(), free_port()
    pool_dir = tmp_path / "pool"
    db = pool_dir / "pool.sqlite3"
    config = tmp_path / "pool.toml"
    # regtest difficulties are ~1e-5 share units: a window of 1e6 x that spans both miners' shares
    config.write_text("[accounting]\npplns_factor = 1000000.0\n")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs: list[subprocess.Popen[bytes]] = []
    pool_log = tmp_path / "pool.log"

    def logs() -> str:
        return (f"--- pool\n{pool_log.read_text(errors='replace')[-5000:]}\n"
                f"--- dogecoind\n{dogecoind.tail()[-1500:]}")

    def get(path: str) -> Any:
        r = httpx.get(f"http://127.0.0.1:{api}/v1/pool{path}", timeout=10, auth=read_cookie(pool_dir / COOKIE_FILE))
        assert r.status_code == 200, r.text
        return r.json()

    try:
        with open(pool_log, "ab") as f:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "hashforge", "pool", "--config", str(config), "--network", "litecoin-regtest",
                 "--node-rpc", f"http://hf:hf-pass@127.0.0.1:{litecoind.port}/",
                 "--aux-chain", f"{DOGE},http://hf:hf-pass@127.0.0.1:{dogecoind.port}/,{POOL_DOGE}",
                 "--stratum-port", str(stratum), "--stratum-host", "127.0.0.1", "--scheme", "pplns",
                 "--pool-address", POOL_LTC, "--fee", str(FEE_PERCENT), "--api-port", str(api),
                 "--datadir", str(pool_dir)],
                stdout=f, stderr=subprocess.STDOUT, env=env))
        wait_listening(stratum, procs[0], pool_log)
        miners = []
        for i, (ltc, doge) in enumerate(MINERS.items()):
            with open(tmp_path / f"miner{i}.log", "ab") as f:
                miners.append(subprocess.Popen(
                    [sys.executable, "-m", "hashforge", "mine", "-a", "scrypt", "-t", "1",
                     "-o", f"stratum+tcp://127.0.0.1:{stratum}", "-u", f"{ltc}.rig{i}", "-p", f"d=0.001,doge={doge}",
                     "--quiet", "--api-listen", f"127.0.0.1:{free_port()}"],
                    stdout=f, stderr=subprocess.STDOUT, env=env))
        procs += miners

        def mined() -> bool:
            """DOGE_BLOCKS_WANTED DOGE blocks credited, and on each chain one found once both miners
            had shares in (so both are in its PPLNS window)."""
            assert all(p.poll() is None for p in procs), logs()
            firsts = _query(db, "SELECT min(id) FROM shares GROUP BY address")
            if len(firsts) < len(MINERS) or int(litecoind.call("getblockcount")) <= ltc_start:
                return False
            both_in = max(i for (i,) in firsts)
            count = "SELECT count(*) FROM blocks WHERE status = 'pending' AND credited AND share_id >= ? AND "
            return (_query(db, count + "chain = ?", 0, DOGE)[0][0] >= DOGE_BLOCKS_WANTED
                    and _query(db, count + "chain = ?", both_in, DOGE)[0][0] >= 1
                    and _query(db, count + "chain IS NULL", both_in)[0][0] >= 1)

        _wait("blocks on both chains, credited", mined, logs, DEADLINE)
        for m in miners:  # no new blocks from here on: the books against the chains as they stand
            stop_process(m)
        _wait("every found block credited", lambda: not _query(
            db, "SELECT id FROM blocks WHERE status = 'pending' AND NOT credited"), logs)
        assert not _query(db, "SELECT chain, submit_result FROM blocks WHERE status = 'rejected'"), logs()

        # a miner's DOGE address sticks: another one for the same LTC address is refused, as is a bad one
        async def authorize(user: str, password: str) -> dict[str, Any]:
            c = await Client.connect(stratum)
            try:
                await c.call("mining.subscribe", ["test/1.0"])
                return await c.call("mining.authorize", [user, password])
            finally:
                c.close()

        (ltc_a, doge_a), (_, doge_b) = MINERS.items()
        r = asyncio.run(authorize(f"{ltc_a}.thief", f"doge={doge_b}"))
        assert r["error"][0] == 24 and f"DOGE payout address of {ltc_a} is {doge_a}" in r["error"][1], r
        r = asyncio.run(authorize(f"{ltc_a}.typo", f"doge={POOL_LTC}"))
        assert r["error"][0] == 24 and "invalid DOGE address" in r["error"][1], r
        assert asyncio.run(authorize(f"{ltc_a}.again", f"d=1,doge={doge_a}"))["result"] is True
        assert _query(db, "SELECT address, aux_address FROM aux_addresses ORDER BY address") == sorted(MINERS.items())

        # each coin's coinbase pays the pool's address of that coin, with the reward the books credit
        doge_blocks = _query(db, "SELECT id, height, hash, reward FROM blocks WHERE chain = ? ORDER BY height", DOGE)
        paid_in_doge: set[str] = set()
        for block_id, height, block_hash, reward in doge_blocks:
            assert dogecoind.call("getblockhash", height) == block_hash, height
            coinbase_txid = dogecoind.call("getblock", block_hash)["tx"][0]
            out = dogecoind.call("gettxout", coinbase_txid, 0)
            assert out["scriptPubKey"]["hex"] == POOL_DOGE_KEY.p2pkh.hex() and out["coinbase"], out
            assert _sats(out["value"]) == reward, (height, out)
            credited = _query(db, "SELECT address, chain, sum(amount) FROM credits WHERE block_id = ? "
                                  "GROUP BY address, chain", block_id)
            paid_in_doge |= {a for a, _, _ in credited}
            assert {c for _, c, _ in credited} == {DOGE}, credited
            assert sum(v for _, _, v in credited) == reward - reward * FEE_PERCENT // 100, (credited, reward)
        assert paid_in_doge == set(MINERS)  # the miners, by their LTC address; not the pool
        for (block_hash,) in _query(db, "SELECT hash FROM blocks WHERE chain IS NULL"):
            coinbase = litecoind.call("getblock", block_hash, 2)["tx"][0]
            assert coinbase["vout"][0]["scriptPubKey"]["hex"] == POOL_LTC_KEY.p2wpkh.hex(), coinbase

        # the pool's view per coin: each miner's LTC and DOGE balances, and where its DOGE goes
        views = {ltc: get(f"/miners/{ltc}") for ltc in MINERS}
        for ltc, view in views.items():
            by_coin = {b["coin"]: b for b in view["balances"]}
            assert set(by_coin) == {"LTC", "DOGE"}, view["balances"]
            assert by_coin["DOGE"]["network"] == DOGE and by_coin["DOGE"]["payout_address"] == MINERS[ltc]
            assert by_coin["DOGE"]["immature"] > 0 and by_coin["DOGE"]["payable"] == 0, by_coin
            assert by_coin["LTC"]["immature"] > 0 and view["balance"] == {k: by_coin["LTC"][k]
                                                                         for k in ("payable", "immature", "paid")}
        stats = get("/stats")
        coins = {c["coin"]: c for c in stats["coins"]}
        assert coins["DOGE"]["blocks"].get("pending") == len(doge_blocks), stats
        assert coins["LTC"]["network"] == "litecoin-regtest" and coins["LTC"]["blocks"].get("pending"), stats
        assert {b["coin"] for b in get("/blocks?coin=doge&limit=500")} == {"DOGE"}

        # orphan the pool's last DOGE block: Dogecoin Core forgets it, three blocks go past its height
        last_id, last_height, last_hash, _ = doge_blocks[-1]
        before = {ltc: {b["coin"]: b for b in views[ltc]["balances"]} for ltc in MINERS}
        its_credits = dict(_query(db, "SELECT address, sum(amount) FROM credits WHERE block_id = ? GROUP BY address",
                                  last_id))
        dogecoind.call("invalidateblock", last_hash)
        dogecoind.call("generatetoaddress", 4, OTHER_DOGE)
        assert dogecoind.call("getblockhash", last_height) != last_hash
        _wait("the orphaned aux block's credits reversed", lambda: _query(
            db, "SELECT status FROM blocks WHERE id = ?", last_id) == [("orphaned",)], logs)
        reversals = dict(_query(db, "SELECT address, sum(amount) FROM credits WHERE block_id = ? AND kind = 'reversal'"
                                    " AND chain = ? GROUP BY address", last_id, DOGE))
        assert reversals == {a: -v for a, v in its_credits.items()}, (reversals, its_credits)
        for ltc in MINERS:
            now = {b["coin"]: b for b in get(f"/miners/{ltc}")["balances"]}
            assert now["DOGE"]["immature"] == before[ltc]["DOGE"]["immature"] - its_credits.get(ltc, 0), (now, before)
            assert now["LTC"] == before[ltc]["LTC"]  # the parent's books do not move

        # the others mature after 60 confirmations on Dogecoin and become payable in DOGE
        dogecoind.call("generatetoaddress", 60, OTHER_DOGE)
        _wait("the aux blocks confirmed", lambda: {s for (s,) in _query(
            db, "SELECT status FROM blocks WHERE chain = ? AND id != ?", DOGE, last_id)} == {"confirmed"}, logs)
        for ltc in MINERS:
            now = {b["coin"]: b for b in get(f"/miners/{ltc}")["balances"]}
            assert now["DOGE"]["payable"] == before[ltc]["DOGE"]["immature"] - its_credits.get(ltc, 0) > 0, now
            assert now["DOGE"]["immature"] == 0 and now["LTC"] == before[ltc]["LTC"], now
    finally:
        for p in reversed(procs):
            stop_process(p)

    # the same books from the command line, without the pool
    rows = _hashforge("pool", "balances", "--datadir", str(pool_dir), "--coin", "DOGE", "--json")
    assert {r["address"]: r["payout_address"] for r in rows} == MINERS, rows
    assert all(r["coin"] == "DOGE" and r["network"] == DOGE and r["payable"] > 0 for r in rows), rows
    ltc_rows = _hashforge("pool", "balances", "--datadir", str(pool_dir), "--coin", "ltc", "--json")
    assert {r["address"] for r in ltc_rows} == set(MINERS) and all(r["immature"] > 0 for r in ltc_rows), ltc_rows
    found = _hashforge("pool", "blocks", "--datadir", str(pool_dir), "--coin", "DOGE", "--limit", "1000", "--json")
    assert sorted((b["height"], b["status"]) for b in found) == sorted(
        (h, "orphaned" if i == last_id else "confirmed") for i, h, _, _ in doge_blocks), found

    # DOGE payouts: the payable balances, to each miner's DOGE address, from the pool's coinbases
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            due = LedgerRepository.payable_balances(conn, DOGE)
        coinbases = [dogecoind.call("getblock", h)["tx"][0]
                     for (h,) in _query(db, "SELECT hash FROM blocks WHERE chain = ? AND status = 'confirmed'", DOGE)]
        payouts = PayoutProcessor(engine, CoinbaseWallet(POOL_DOGE_KEY, dogecoind, coinbases), 100_000,
                                  exclude=[POOL_LTC], chain=DOGE)
        txid = asyncio.run(payouts.run_once())
        assert txid is not None and txid in dogecoind.call("getrawmempool")
        dogecoind.call("generatetoaddress", 1, OTHER_DOGE)
        assert asyncio.run(payouts.run_once()) == txid  # its confirmation
        with engine.connect() as conn:
            assert LedgerRepository.payable_balances(conn, DOGE) == {a: 0 for a in MINERS}
            for ltc in MINERS:
                assert LedgerRepository.balance(conn, ltc, DOGE)["paid"] == due[ltc] > 0
                assert LedgerRepository.balance(conn, ltc)["paid"] == 0  # no LTC moved
    finally:
        engine.dispose()
    assert _query(db, "SELECT status, chain FROM payouts") == [("confirmed", DOGE)]
    paid = dogecoind.call("getrawtransaction", txid, 1)
    assert paid["confirmations"] == 1
    got = {o["scriptPubKey"]["hex"]: _sats(o["value"]) for o in paid["vout"]}
    for ltc, doge in MINERS.items():  # each miner's DOGE address got its DOGE balance
        assert got[address_to_script(doge, DOGECOIN_REGTEST).hex()] == due[ltc], (got, due)
    assert {r["address"]: r["paid"] for r in _hashforge("pool", "balances", "--datadir", str(pool_dir),
                                                        "--coin", "DOGE", "--json")} == due


def test_pps_shares_made_while_dogecoind_is_unreachable_earn_ltc_but_no_doge(
        tmp_path: Path, daemons: tuple[Daemon, Daemon]) -> None:
    """A PPS pool reaches `dogecoind` through a TCP relay the test cuts: miner A mines while DOGE
    work is on the jobs, miner B only while `dogecoind` is unreachable (the pool drops its work and
    records B's shares without it). Once `dogecoind` answers again and the accounting runs have
    credited every share, A has LTC and DOGE, B has LTC and no DOGE."""
    litecoind, dogecoind = daemons
    litecoind.call("generatetoaddress", 1, POOL_LTC)
    dogecoind.call("generatetoaddress", AUXPOW_START - 1, OTHER_DOGE)
    (ltc_a, doge_a), (ltc_b, doge_b) = MINERS.items()
    stratum, api = free_port(), free_port()
    pool_dir = tmp_path / "pool"
    db = pool_dir / "pool.sqlite3"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    pool_log = tmp_path / "pool.log"
    procs: list[subprocess.Popen[bytes]] = []

    def logs() -> str:
        return f"--- pool\n{pool_log.read_text(errors='replace')[-5000:]}\n--- dogecoind\n{dogecoind.tail()[-1500:]}"

    def doge_height() -> int | None:
        if not (pool_dir / COOKIE_FILE).exists():
            return None  # the pool API writes its cookie once it listens, after Stratum
        r = httpx.get(f"http://127.0.0.1:{api}/v1/pool/stats", timeout=10, auth=read_cookie(pool_dir / COOKIE_FILE))
        assert r.status_code == 200, r.text
        return r.json()["aux_chains"][0]["height"]  # type: ignore[no-any-return]

    def miner(i: int, ltc: str, doge: str) -> subprocess.Popen[bytes]:
        with open(tmp_path / f"miner{i}.log", "ab") as f:
            return subprocess.Popen(
                [sys.executable, "-m", "hashforge", "mine", "-a", "scrypt", "-t", "1",
                 "-o", f"stratum+tcp://127.0.0.1:{stratum}", "-u", f"{ltc}.rig{i}", "-p", f"d=0.001,doge={doge}",
                 "--quiet", "--api-listen", f"127.0.0.1:{free_port()}"], stdout=f, stderr=subprocess.STDOUT, env=env)

    def shares(address: str) -> list[str]:
        return [a for (a,) in _query(db, "SELECT aux_chains FROM shares WHERE address = ?", address)]

    with TcpRelay(dogecoind.port) as relay:
        try:
            with open(pool_log, "ab") as f:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "hashforge", "pool", "--network", "litecoin-regtest",
                     "--node-rpc", f"http://hf:hf-pass@127.0.0.1:{litecoind.port}/",
                     "--aux-chain", f"{DOGE},http://hf:hf-pass@127.0.0.1:{relay.port}/,{POOL_DOGE}",
                     "--stratum-port", str(stratum), "--stratum-host", "127.0.0.1", "--scheme", "pps",
                     "--pool-address", POOL_LTC, "--fee", str(FEE_PERCENT), "--api-port", str(api),
                     "--datadir", str(pool_dir)], stdout=f, stderr=subprocess.STDOUT, env=env))
            wait_listening(stratum, procs[0], pool_log)
            _wait("DOGE work on the jobs", lambda: doge_height() is not None, logs)
            a = miner(0, ltc_a, doge_a)
            procs.append(a)
            _wait("miner A's shares with DOGE work", lambda: shares(ltc_a).count(f",{DOGE},") >= 2, logs)
            stop_process(a)

            relay.cut()  # dogecoind unreachable from the pool
            _wait("the pool dropped the DOGE work", lambda: doge_height() is None, logs)
            b = miner(1, ltc_b, doge_b)
            procs.append(b)
            _wait("miner B's shares", lambda: len(shares(ltc_b)) >= 3, logs)
            stop_process(b)
            assert set(shares(ltc_b)) == {""}  # none carried DOGE work

            relay.resume()
            _wait("DOGE work again", lambda: doge_height() is not None, logs)
            top = _query(db, "SELECT max(id) FROM shares")[0][0]

            def credited(key: str) -> bool:
                return any(int(v) >= top for (v,) in _query(db, "SELECT value FROM pool_state WHERE key = ?", key))

            _wait("every share credited in LTC and DOGE",
                  lambda: credited("pps_last_share_id") and credited(f"pps_last_share_id:{DOGE}"), logs)
        finally:
            for p in reversed(procs):
                stop_process(p)

    pps = dict(((address, chain), int(v)) for address, chain, v in _query(
        db, "SELECT address, chain, sum(amount) FROM credits WHERE kind = 'pps' GROUP BY address, chain"))
    assert pps.get((ltc_a, None), 0) > 0 and pps.get((ltc_a, DOGE), 0) > 0, pps
    assert pps.get((ltc_b, None), 0) > 0, pps  # B's shares earn LTC ...
    assert (ltc_b, DOGE) not in pps, pps  # ... and no DOGE
