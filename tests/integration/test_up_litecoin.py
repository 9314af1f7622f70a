"""`hashforge up --network litecoin-regtest` end to end on the real daemons: up starts litecoind and
dogecoind itself, mines Dogecoin's legacy blocks up to the AuxPoW start, and its pool + scrypt miner
then land blocks on both chains — checked from the daemons' own RPC: Litecoin blocks whose coinbase
pays up's wallet address and commits to the aux chain, Dogecoin AuxPoW blocks (chain ID 0x62)
whose coinbase pays the Dogecoin address — while up's API reports the node, pool and miner alive.
A dogecoind that dies is restarted (same credentials) and merged mining goes on; a clean stop
stops the daemons up started.

The Dogecoin address is up's own Dogecoin wallet's (DATADIR/wallet-dogecoin-regtest) on the fresh
chain, and one given with --aux-address on the replayed one.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hashforge.consensus.address import address_to_script, script_to_address
from hashforge.consensus.auxpow import MERGED_MINING_HEADER, AuxPowHeader
from hashforge.consensus.params import DOGECOIN_REGTEST, LITECOIN_REGTEST
from hashforge.rpcclient import RPCClient, RPCClientError, RPCTransportError
from tests.helpers.chaos import UpProcess
from tests.helpers.peers import find_peer, requires_peer
from tests.helpers.txbuilder import Key
from tests.integration.test_altcoin_daemons import Daemon
from tests.integration.test_litecoin_pool import MWEB_CHAIN, MWEB_CHAIN_HEIGHT

DOGE_KEY = Key.from_int(0xD06E)
DOGE_ADDRESS = script_to_address(DOGE_KEY.p2pkh, DOGECOIN_REGTEST) or ""
AUXPOW_START = 20
BLOCKS_WANTED = 2
DEADLINE = 100.0  # ready to both chains' blocks; two loaded cores mine regtest scrypt in seconds

pytestmark = [requires_peer("litecoind", "hashforge up on Litecoin Core + Dogecoin Core"),
              requires_peer("dogecoind", "hashforge up on Litecoin Core + Dogecoin Core")]


class Up(UpProcess):
    """`hashforge up --network litecoin-regtest --json` on free ports in `root`, its events read as they come."""

    def __init__(self, root: Path, *extra: str, aux_address: str | None = DOGE_ADDRESS) -> None:
        ports: tuple[str, ...] = ("--stratum-port", "--api-port", "--pool-api-port", "--miner-api-port", "--ws-port")
        if "--node-rpc" not in extra:  # daemons of up's own
            ports += ("--rpc-port", "--aux-rpc-port")
        super().__init__(root, "litecoin-regtest", "solo", port_flags=ports,
                         extra=[*(["--aux-address", aux_address] if aux_address else []), *extra])
        self.replayed = False

    @property
    def api_port(self) -> int:
        return self.ports["--api-port"]

    def logs(self) -> str:
        out = [f"--- up stderr\n{(self.root / 'up.stderr').read_text(errors='replace')[-2000:]}"]
        for name in ("pool", "miner", "litecoind", "dogecoind", "api"):
            log = self.datadir / "logs" / f"{name}.log"
            if log.exists():
                out.append(f"--- {name}\n{log.read_text(errors='replace')[-1500:]}")
        return "\n".join(out)

    def litecoind(self) -> RPCClient:
        return RPCClient(f"http://127.0.0.1:{self.ports['--rpc-port']}/",
                         cookie=self.datadir / "litecoind" / "regtest" / ".cookie", timeout=60)

    def dogecoind(self) -> RPCClient:
        """With the credentials up generated and wrote to its dogecoin.conf (0600)."""
        password = (self.datadir / "dogecoind.rpc-password").read_text().strip()
        conf = self.datadir / "dogecoind" / "dogecoin.conf"
        assert f"rpcpassword={password}" in conf.read_text() and conf.stat().st_mode & 0o077 == 0
        return RPCClient(f"http://127.0.0.1:{self.ports['--aux-rpc-port']}/", "hashforge", password, timeout=60)

    def daemon_pid(self, name: str) -> int:
        return int((self.datadir / name / "regtest" / f"{name}.pid").read_text())

    def stop(self, timeout: float = 120) -> int | None:  # up waits for the daemons to flush
        return super().stop(timeout)


@pytest.fixture(params=[False, True], ids=["mweb-off", "mweb-replayed"])
def up(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Up]:
    """up on a fresh chain: MWEB kept off, or the Litecoin chain past MWEB activation replayed first."""
    replay = ["--replay-blocks", str(MWEB_CHAIN)] if request.param else []
    if replay and not MWEB_CHAIN.exists():
        pytest.skip(f"{MWEB_CHAIN} not found: the raw Litecoin regtest chain past MWEB activation")
    running = Up(tmp_path, *replay, aux_address=DOGE_ADDRESS if replay else None)
    running.replayed = bool(replay)
    try:
        yield running
    finally:
        running.stop()


def _new_auxpow_tip(dogecoind: RPCClient, old_tip: str) -> bool:
    """True once dogecoind's tip is an AuxPoW block other than `old_tip`."""
    try:
        tip = dogecoind.call("getbestblockhash")
        raw = bytes.fromhex(dogecoind.call("getblockheader", tip, False))
    except (RPCClientError, RPCTransportError):  # restarting
        return False
    return tip != old_tip and AuxPowHeader.from_bytes(raw).auxpow is not None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_up_runs_merged_litecoin_and_dogecoin(up: Up) -> None:
    replayed = up.replayed
    ready = up.wait_event("ready", 120)
    ltc_address = ready["address"]
    ltc_script = address_to_script(ltc_address, LITECOIN_REGTEST).hex()
    doge_address = ready["chains"][1]["address"]
    assert [(c["coin"], c["address"]) for c in ready["chains"]] == [("LTC", ltc_address), ("DOGE", doge_address)]
    if replayed:
        assert doge_address == DOGE_ADDRESS
    else:  # no --aux-address: up's own Dogecoin wallet made it (a P2PKH address: no segwit on Dogecoin)
        assert doge_address != DOGE_ADDRESS and (up.datadir / "wallet-dogecoin-regtest").is_dir()
    doge_script = address_to_script(doge_address, DOGECOIN_REGTEST).hex()
    assert doge_script.startswith("76a914"), doge_address
    litecoind, dogecoind = up.litecoind(), up.dogecoind()
    pids = {name: up.daemon_pid(name) for name in ("litecoind", "dogecoind")}
    # dogecoind's RPC password reaches the pool in a 0600 cookie file, on no process's command line
    password = (up.datadir / "dogecoind.rpc-password").read_text().strip()
    assert password and not [c for c in _command_lines() if password in c]
    assert (up.datadir / "dogecoin-regtest.rpc-cookie").stat().st_mode & 0o077 == 0
    try:
        # up brought Dogecoin to the AuxPoW start with legacy blocks paying the operator (and the
        # replayed Litecoin chain past MWEB activation)
        legacy = dogecoind.call("getblock", dogecoind.call("getblockhash", AUXPOW_START - 1), 2)
        assert legacy["tx"][0]["vout"][0]["scriptPubKey"]["hex"] == doge_script
        ltc_start = MWEB_CHAIN_HEIGHT if replayed else 0
        assert int(litecoind.call("getblockcount")) >= ltc_start
        deadline = time.monotonic() + DEADLINE
        while True:
            assert up.proc.poll() is None, up.logs()
            ltc_height, doge_height = int(litecoind.call("getblockcount")), int(dogecoind.call("getblockcount"))
            if ltc_height >= ltc_start + BLOCKS_WANTED and doge_height >= AUXPOW_START - 1 + BLOCKS_WANTED:
                break
            assert time.monotonic() < deadline, f"LTC {ltc_height}, DOGE {doge_height}\n{up.logs()}"
            time.sleep(0.5)

        # Litecoin: up's blocks pay up's wallet address and commit to the aux chain (MWEB blocks when replayed)
        for h in range(ltc_start + 1, ltc_height + 1):
            block = litecoind.call("getblock", litecoind.call("getblockhash", h), 2)
            coinbase = block["tx"][0]
            assert coinbase["vout"][0]["scriptPubKey"]["hex"] == ltc_script, (h, coinbase)
            assert MERGED_MINING_HEADER in bytes.fromhex(coinbase["vin"][0]["coinbase"]), (h, coinbase)
            assert ("mweb" in block) == replayed, (h, sorted(block))
        # Dogecoin: AuxPoW blocks from 20 on, the parent a Litecoin header, the coinbase paying the DOGE address
        for h in range(AUXPOW_START, doge_height + 1):
            block_hash = dogecoind.call("getblockhash", h)
            header = AuxPowHeader.from_bytes(bytes.fromhex(dogecoind.call("getblockheader", block_hash, False)))
            assert header.auxpow is not None, h
            header.auxpow.check(header.header.hash, 0x62, True)
            assert b"/hashforge/" in header.auxpow.coinbase_tx.vin[0].script_sig, h
            coinbase = dogecoind.call("getblock", block_hash, 2)["tx"][0]
            assert coinbase["vout"][0]["scriptPubKey"]["hex"] == doge_script, (h, coinbase)

        # up's API: the node (litecoind), the pool and the miner are alive
        api = f"http://127.0.0.1:{up.api_port}/v1"
        assert httpx.get(f"{api}/health", timeout=10).json()["status"] == "ok"
        tip = httpx.get(f"{api}/chain/tip", timeout=10).json()
        assert tip["height"] >= ltc_height and tip["hash"] == litecoind.call("getblockhash", tip["height"])
        stats = _answer(f"{api}/pool/stats")  # (a 503 while the pool's API is slow to answer on a loaded machine)
        assert stats["network"] == "litecoin-regtest" and stats["workers"] >= 1 and stats["hashrate_hps"] > 0, stats
        miner = httpx.get(f"{api}/miner/summary", timeout=10).json()
        assert miner["accepted"] >= 1 and miner["hashrate"]["average_hps"] > 0, miner
        # up reported the blocks of both coins as found by the operation (it polls each node once a second)
        deadline = time.monotonic() + 30
        while not {("LTC", True), ("DOGE", True)} <= {(e["coin"], e["ours"]) for e in list(up.events)
                                                      if e["event"] == "block"}:
            assert time.monotonic() < deadline, up.events[-10:]
            time.sleep(0.5)

        if not replayed:
            # a dogecoind that dies is restarted like any part, with the same credentials; killed, it
            # may come back without its unflushed blocks (even below the AuxPoW start), so up
            # prepares its chain again, and the pool merge-mines on it again
            tip_before = dogecoind.call("getbestblockhash")
            os.kill(pids["dogecoind"], signal.SIGKILL)
            restart = up.wait_event("restart", 30)
            assert restart["part"] == "dogecoind", restart
            up.wait_event("restarted", 30)
            deadline = time.monotonic() + 90
            while not _new_auxpow_tip(dogecoind, tip_before):
                assert up.proc.poll() is None and time.monotonic() < deadline, up.logs()
                time.sleep(0.5)
            pids["dogecoind"] = up.daemon_pid("dogecoind")
    finally:
        litecoind.close()
        dogecoind.close()

    assert up.stop() == 0, up.logs()
    stopped = next(e for e in up.events if e["event"] == "stopped")
    assert stopped["exit_codes"]["litecoind"] == 0 and stopped["exit_codes"]["dogecoind"] == 0, stopped
    assert not any(_pid_alive(pid) for pid in pids.values()), pids


def test_up_attaches_to_running_daemons(tmp_path: Path) -> None:
    """--node-rpc/--aux-rpc: up mines on the operator's own litecoind and dogecoind (preparing
    Dogecoin's regtest chain all the same) and leaves them running when it stops."""
    ltc_program, doge_program = find_peer("litecoind"), find_peer("dogecoind")
    assert ltc_program is not None and doge_program is not None
    password = "attached-daemons-password"
    litecoind = Daemon(ltc_program, tmp_path / "litecoind", password).start()
    try:
        dogecoind = Daemon(doge_program, tmp_path / "dogecoind", password).start()
        try:
            up = Up(tmp_path, "--node-rpc", f"http://hf:{password}@127.0.0.1:{litecoind.port}/",
                    "--aux-rpc", f"http://hf:{password}@127.0.0.1:{dogecoind.port}/")
            try:
                ready = up.wait_event("ready", 120)
                assert ready["rpc"] == f"http://127.0.0.1:{litecoind.port}/"  # no password printed
                # nor passed on: the parts get it in 0600 cookie files, not on their command lines
                assert [c for c in _command_lines() if password in c and "-m hashforge up " not in c
                        and not c.startswith((ltc_program, doge_program))] == []
                deadline = time.monotonic() + DEADLINE
                while int(litecoind.call("getblockcount")) < 1 or int(dogecoind.call("getblockcount")) < AUXPOW_START:
                    assert up.proc.poll() is None and time.monotonic() < deadline, up.logs()
                    time.sleep(0.5)
                header = AuxPowHeader.from_bytes(bytes.fromhex(
                    dogecoind.call("getblockheader", dogecoind.call("getblockhash", AUXPOW_START), False)))
                assert header.auxpow is not None
            finally:
                assert up.stop() == 0, up.logs()
            stopped = next(e for e in up.events if e["event"] == "stopped")
            assert set(stopped["exit_codes"]) == {"api", "miner", "pool"}, stopped  # no daemon of up's
            assert not (tmp_path / "up" / "litecoind").exists() and not (tmp_path / "up" / "dogecoind").exists()
            # the operator's daemons still answer
            assert int(litecoind.call("getblockcount")) >= 1 and int(dogecoind.call("getblockcount")) >= AUXPOW_START
        finally:
            dogecoind.stop()
    finally:
        litecoind.stop()


def _command_lines() -> list[str]:
    lines = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                lines.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:  # gone meanwhile
                continue
    return lines


def _answer(url: str, timeout: float = 30.0) -> dict[str, Any]:
    """The first 200 answer of `url`: the API says 503 while a part it asks does not answer in time."""
    deadline = time.monotonic() + timeout
    while True:
        r = httpx.get(url, timeout=10)
        if r.status_code == 200 or time.monotonic() > deadline:
            assert r.status_code == 200, r.text
            return dict(r.json())
        time.sleep(0.5)
