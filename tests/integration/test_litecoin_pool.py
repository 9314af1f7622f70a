"""hashforge's pool on Litecoin Core (`litecoind`, regtest) with a scrypt miner, hashforge's own
(`hashforge mine --algo scrypt`) and pooler's `minerd -a scrypt`: shares accepted (the pool's
durable share log), blocks accepted by litecoind, each coinbase paying the miner's rltc address
(SOLO) — before MWEB activation (a fresh chain) and after it, where every template carries the
HogEx transaction and the `mweb` block that must follow the transactions.

Past activation: litecoind is fed ../shared/bin/ltc_regtest_mweb_chain.hex (blocks 1..437, a
peg-in at 432) with submitblock; a wallet-less node cannot build block 432 itself.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hashforge.consensus.address import script_to_address
from hashforge.consensus.params import LITECOIN_REGTEST
from tests.helpers.nodeproc import free_port
from tests.helpers.peers import SHARED_BIN, find_peer, requires_peer
from tests.helpers.txbuilder import Key
from tests.integration.test_altcoin_daemons import Daemon

KEY = Key.from_int(0x17C0DE)
ADDRESS = script_to_address(KEY.p2wpkh, LITECOIN_REGTEST) or ""
MWEB_CHAIN = SHARED_BIN / "ltc_regtest_mweb_chain.hex"
MWEB_CHAIN_HEIGHT = 437
BLOCKS_WANTED = 2
SHARES_WANTED = 3
DEADLINE = 120.0  # two cores shared by several test runs: scrypt is slow there

pytestmark = requires_peer("litecoind", "hashforge pool on Litecoin Core")


@pytest.fixture
def litecoind(tmp_path: Path) -> Iterator[Daemon]:
    program = find_peer("litecoind")
    assert program is not None
    daemon = Daemon(program, tmp_path / "litecoind").start()
    try:
        yield daemon
    finally:
        daemon.stop()


def replay_mweb_chain(daemon: Daemon, path: Path = MWEB_CHAIN) -> int:
    """Submits the raw blocks of `path` (one hex block a line) in order; the height reached."""
    for n, line in enumerate(path.read_text().split(), start=1):
        result = daemon.call("submitblock", line)
        assert result is None, f"replayed block {n} refused: {result}"
    return int(daemon.call("getblockcount"))


def wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"pool did not listen on {port}:\n" + log.read_text(errors="replace")[-3000:])


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def shares_recorded(db: Path, worker: str) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM shares WHERE address = ? AND worker = ?",
                                    (ADDRESS, worker)).fetchone()[0])
        except sqlite3.OperationalError:  # not migrated yet
            return 0


def rejected_blocks(db: Path) -> list[str]:
    """submitblock answers of the blocks litecoind refused (the pool records each found block)."""
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        try:
            return [str(r[0]) for r in conn.execute("SELECT submit_result FROM blocks WHERE status = 'rejected'")]
        except sqlite3.OperationalError:  # not migrated yet
            return []


def _miner_command(miner: str, stratum: int, worker: str) -> list[str]:
    url = f"stratum+tcp://127.0.0.1:{stratum}"
    if miner == "minerd":
        program = find_peer("minerd")
        assert program is not None
        return [program, "-a", "scrypt", "-t", "1", "-o", url, "-u", f"{ADDRESS}.{worker}", "-p", "x", "-D"]
    return [sys.executable, "-m", "hashforge", "mine", "-a", "scrypt", "-t", "1", "-o", url,
            "-u", f"{ADDRESS}.{worker}", "-p", "x", "--quiet", "--api-listen", f"127.0.0.1:{free_port()}"]


@pytest.mark.parametrize("mweb", [False, True], ids=["before-mweb", "mweb"])
@pytest.mark.parametrize("miner", ["hashforge", "minerd"])
def test_pool_on_litecoind_scrypt(tmp_path: Path, litecoind: Daemon, miner: str, mweb: bool) -> None:
    if miner == "minerd" and find_peer("minerd") is None:
        pytest.skip("minerd not found in ../shared/bin or on PATH: put a build of it there to run minerd -a scrypt")
    if mweb:
        if not MWEB_CHAIN.exists():
            pytest.skip(f"{MWEB_CHAIN} not found: the raw Litecoin regtest chain past MWEB activation")
        assert replay_mweb_chain(litecoind) == MWEB_CHAIN_HEIGHT
        gbt = litecoind.call("getblocktemplate", {"rules": ["mweb", "segwit"]})
        assert "mweb" in gbt["rules"] and gbt.get("mweb"), "the template past activation carries an MWEB block"
    else:
        litecoind.call("generatetoaddress", 1, ADDRESS)
        gbt = litecoind.call("getblocktemplate", {"rules": ["mweb", "segwit"]})
        assert "mweb" not in gbt
    start = int(litecoind.call("getblockcount"))

    stratum = free_port()
    pool_dir = tmp_path / "pool"
    pool_log, miner_log = tmp_path / "pool.log", tmp_path / "miner.log"
    procs: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        with open(pool_log, "ab") as f:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "hashforge", "pool", "--network", "litecoin-regtest",
                 "--node-rpc", f"http://hf:hf-pass@127.0.0.1:{litecoind.port}/",
                 "--stratum-port", str(stratum), "--stratum-host", "127.0.0.1", "--scheme", "solo",
                 "--datadir", str(pool_dir)],
                stdout=f, stderr=subprocess.STDOUT, env=env))
        wait_listening(stratum, procs[0], pool_log)
        with open(miner_log, "ab") as f:
            procs.append(subprocess.Popen(_miner_command(miner, stratum, "w"), stdout=f,
                                          stderr=subprocess.STDOUT, env=env))

        def logs() -> str:
            return (f"--- miner\n{miner_log.read_text(errors='replace')[-3000:]}\n"
                    f"--- pool\n{pool_log.read_text(errors='replace')[-4000:]}\n"
                    f"--- litecoind\n{litecoind.tail()[-2000:]}")

        deadline = time.monotonic() + DEADLINE
        while True:
            assert all(p.poll() is None for p in procs), logs()
            assert not (refused := rejected_blocks(pool_dir / "pool.sqlite3")), f"litecoind refused: {refused}\n{logs()}"
            height = int(litecoind.call("getblockcount"))
            if height >= start + BLOCKS_WANTED and shares_recorded(pool_dir / "pool.sqlite3", "w") >= SHARES_WANTED:
                break
            assert time.monotonic() < deadline, f"height {height} (from {start}):\n{logs()}"
            time.sleep(0.5)
    finally:
        for p in reversed(procs):
            stop_process(p)

    # litecoind's view: the blocks it connected on top of `start` are ours, paying our address
    for h in range(start + 1, height + 1):
        block = litecoind.call("getblock", litecoind.call("getblockhash", h), 2)
        coinbase = block["tx"][0]
        assert coinbase["vout"][0]["scriptPubKey"]["hex"] == KEY.p2wpkh.hex(), (h, coinbase)
        assert b"/hashforge/" in bytes.fromhex(coinbase["vin"][0]["coinbase"]), (h, coinbase)
        if mweb:
            # the HogEx is the last transaction and the block carries its MWEB block
            assert "mweb" in block, (h, sorted(block))
            assert len(block["tx"]) >= 2
    # the pool's view: its found blocks were accepted (submit result null), none rejected
    with sqlite3.connect(pool_dir / "pool.sqlite3") as conn:
        statuses = [row[0] for row in conn.execute("SELECT status FROM blocks")]
    assert statuses and "rejected" not in statuses, (statuses, logs())
    if miner == "minerd":
        text = miner_log.read_text(errors="replace")
        assert "accepted:" in text and "(yay!!!)" in text, logs()
