"""Share difficulty over real TCP: a plain miner at any speed is never thrown off for sending the
shares it was asked for (issue 16 s.3), and the operator's minimum share difficulty holds against
re-sent mining.suggest_difficulty (issue 17 item 9)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hashforge.consensus.address import script_to_address
from hashforge.consensus.params import get_params
from hashforge.kernels import scan_scrypt, scan_sha256d
from hashforge.pool.config import (
    AccountingConfig,
    ConnectorConfig,
    PoolConfig,
    RecorderConfig,
    VardiffConfig,
    load_config,
)
from hashforge.pool.errors import ConfigError
from hashforge.pool.hashrate import share_scale
from hashforge.pool.vardiff import Vardiff
from hashforge.stratum import Job, StratumErrorCode, difficulty_to_target
from hashforge.stratum.work import target_to_difficulty

from .harness import MINER, POOL_ADDR, Client, running_pool, submit_params, template

BITS = {"regtest": 0x207FFFFF, "devnet": 0x1E3FFFFF, "scryptnet": 0x1F1FFFFF, "mainnet": 0x1D00FFFF}


def run(coro: Any, timeout: float = 90) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout))


def config(tmp: Path, network: str, connector: ConnectorConfig | None = None, **vardiff: Any) -> PoolConfig:
    return PoolConfig(
        network=network, datadir=tmp,
        connector=connector or ConnectorConfig(port=0),
        vardiff=VardiffConfig(**vardiff),
        accounting=AccountingConfig(pool_address=POOL_ADDR),
        recorder=RecorderConfig(database_url=f"sqlite:///{tmp / 'pool.sqlite3'}"),
    ).validate()


def user(network: str, worker: str = "w") -> str:
    return f"{script_to_address(MINER.p2wpkh, get_params(network))}.{worker}"


def network_difficulty(network: str) -> float:
    scrypt = network == "scryptnet"
    bits = BITS[network]
    target = (bits & 0xFFFFFF) << (8 * ((bits >> 24) - 3))
    return target_to_difficulty(target) * share_scale(scrypt)  # share units, as the pool reports


def find_shares(job: Job, en1: bytes, en2: bytes, difficulty: float, count: int, *, scrypt: bool = False,
                start: int = 0) -> list[int]:
    """Nonces (from `start`) whose hash meets `difficulty`, with the native kernel."""
    prefix = job.header(en1, en2, job.time, 0)[:76]
    target = difficulty_to_target(difficulty, scrypt=scrypt)
    scan = scan_scrypt if scrypt else scan_sha256d
    found: list[int] = []
    step = 1 << 16
    while len(found) < count:
        assert start < 1 << 32, "nonce space exhausted"
        found += scan(prefix, target, start, start + step).nonces
        start += step
    return found[:count]


class PlainMiner:
    """A plain Stratum v1 miner, as cpuminer: subscribe and authorize, no suggestion, no version
    rolling. It hashes `hashrate` nonces a second (native kernel) and submits every one that meets
    the difficulty it was given, without waiting for replies; a new difficulty applies from the
    next job, which it switches to as soon as it arrives."""

    def __init__(self, port: int, username: str, hashrate: float, scrypt: bool) -> None:
        self.port, self.username, self.hashrate, self.scrypt = port, username, hashrate, scrypt
        self.en1 = b""
        self.en2 = 0
        self.job: Job | None = None
        self.difficulty = 0.0
        self.next_difficulty = 0.0
        self.changes: list[tuple[float, float]] = []  # (seconds since authorize, difficulty)
        self.submitted = 0
        self.accepted = 0
        self.errors: list[Any] = []
        self.closed = False
        self.authorized_at = 0.0
        self._ids = 100
        self._reading: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def run(self, done: Any, deadline: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)
        writer.write(b'{"id":1,"method":"mining.subscribe","params":["plain/1.0"]}\n'
                     + json.dumps({"id": 2, "method": "mining.authorize", "params": [self.username, "x"]}).encode()
                     + b"\n")
        self._reading = asyncio.get_running_loop().create_task(self._read(reader))
        self._writer = writer
        # the connection stays open after mining (replies still arrive) until close()
        while self.job is None:
            assert not self.closed and time.monotonic() < deadline, "no job"
            await asyncio.sleep(0.01)
        mining, nonce, last = "", 0, time.monotonic()
        while not self.closed and not done(self) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
            now = time.monotonic()
            n, last = int(self.hashrate * (now - last)), now
            job = self.job
            if job.job_id != mining:
                mining, nonce = job.job_id, 0
                self.en2 += 1
                self.difficulty = self.next_difficulty
            en2 = self.en2.to_bytes(8, "big")
            prefix = job.header(self.en1, en2, job.time, 0)[:76]
            scan = scan_scrypt if self.scrypt else scan_sha256d
            found = scan(prefix, difficulty_to_target(self.difficulty, scrypt=self.scrypt), nonce, nonce + n).nonces
            nonce += n
            lines = []
            for nn in found:
                self._ids += 1
                lines.append(json.dumps({"id": self._ids, "method": "mining.submit",
                                         "params": submit_params(self.username, job, en2, job.time, nn)}).encode())
            if lines:
                self.submitted += len(lines)
                writer.write(b"\n".join(lines) + b"\n")
                await writer.drain()

    def close(self) -> None:
        if self._reading is not None and self._writer is not None:
            self._reading.cancel()
            self._writer.close()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            line = await reader.readline()
            if not line:
                self.closed = True
                return
            msg = json.loads(line)
            method = msg.get("method")
            if method == "mining.notify":
                self.job = Job.from_notify(msg["params"])
            elif method == "mining.set_difficulty":
                self.next_difficulty = float(msg["params"][0])
                if self.authorized_at:
                    self.changes.append((time.monotonic() - self.authorized_at, self.next_difficulty))
            elif msg.get("id") == 1:
                self.en1 = bytes.fromhex(msg["result"][1])
            elif msg.get("id") == 2:
                assert msg["result"] is True, msg
                self.authorized_at = time.monotonic()
            elif msg.get("result") is True:
                self.accepted += 1
            elif msg.get("error"):
                self.errors.append(msg["error"])


@pytest.mark.parametrize(("network", "hashrate", "floor"), [
    ("regtest", 1e6, 2e-8),  # ~11,600 shares/s at the first difficulty
    ("devnet", 1e6, 2e-8),
    # ~460 shares/s, over the 200/s submit budget: the pool checks a scrypt share in ~1.3 ms
    # (hashlib), on the event loop this miner shares with it, so 10,000/s would measure the test
    ("scryptnet", 3e3, 1e-4),
    ("mainnet", 1e6, 2e-8),  # a real network: the network difficulty (1 here) stays the ceiling
])
def test_a_fast_plain_miner_stays_connected_and_its_difficulty_rises(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, network: str, hashrate: float, floor: float) -> None:
    caplog.set_level(logging.INFO, logger="hashforge.pool")
    cfg = config(tmp_path, network, start_difficulty=floor, min_difficulty=floor)
    scrypt = network == "scryptnet"
    net = network_difficulty(network)
    test_network = network != "mainnet"

    async def main() -> None:
        async with running_pool(tmp_path, cfg, template(bits=BITS[network])) as h:

            def settled(m: PlainMiner) -> bool:  # 1000x up; on test networks above the network's, a block found
                if not test_network:
                    return m.next_difficulty >= 1000 * floor
                return m.next_difficulty >= 1000 * floor and m.next_difficulty > net and bool(h.node.blocks)

            miner = PlainMiner(h.port, user(network), hashrate, scrypt)
            try:
                await miner.run(settled, time.monotonic() + 30)
                assert not miner.closed and miner.changes, (miner.changes, miner.errors)
                assert miner.changes[0][1] == floor  # what it was told first
                rises = [(t, d) for t, d in miner.changes if d > floor]
                assert rises and rises[0][0] < 2.0, miner.changes  # the first rise within seconds
                assert settled(miner) and miner.changes[-1][0] < 10.0, miner.changes
                # every share it sent at the difficulty it was told is accepted, none rate limited
                await _until(lambda: miner.accepted + len(miner.errors) >= miner.submitted)
                # a fast miner: many shares before vardiff settles it (scrypt's are fewer: the pool
                # checks each with scrypt, ~1.3 ms, and on a loaded 2-core machine settles it after 9-15)
                assert miner.errors == [] and miner.accepted >= (5 if scrypt else 24), (miner.errors[:3], miner.accepted)
                assert len(h.stratifier.sessions) == 1
                session = next(iter(h.stratifier.sessions))
                assert session.rate_violations == 0 and not session.closed
                if test_network:
                    assert h.node.blocks  # shares above the network difficulty are blocks
                else:
                    assert session.difficulty <= net and not h.node.blocks
            finally:
                miner.close()

    run(main())
    above = [r for r in caplog.records if "above the network difficulty" in r.getMessage()]
    assert len(above) == (1 if test_network else 0)


async def _until(cond: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_valid_shares_over_the_submit_budget_raise_the_difficulty_not_a_disconnect(tmp_path: Path) -> None:
    """Vardiff held still (a huge retarget window): only the flood path can react. 300 valid shares
    at once against a budget of 20: all accepted, the difficulty raised, the connection kept."""
    connector = ConnectorConfig(port=0, submit_rate=20.0, submit_burst=20.0, max_rate_violations=5)
    cfg = config(tmp_path, "regtest", connector, start_difficulty=1e-8, min_difficulty=1e-8,
                 retarget_window=3600, retarget_shares=1 << 30)

    async def main() -> None:
        async with running_pool(tmp_path, cfg, template()) as h:
            c = await Client.connect(h.port)
            await c.login(user("regtest"))
            authorized = time.monotonic()
            assert c.job is not None and c.difficulty == 1e-8
            en2 = (1).to_bytes(8, "big")
            nonces = find_shares(c.job, c.en1, en2, c.difficulty, 300)
            lines = [json.dumps({"id": 1000 + i, "method": "mining.submit",
                                 "params": submit_params(user("regtest"), c.job, en2, c.job.time, n)}).encode()
                     for i, n in enumerate(nonces)]
            # the raise waits `flood_raise_after` from the last difficulty change
            await asyncio.sleep(max(0.0, cfg.vardiff.flood_raise_after - (time.monotonic() - authorized)))
            await c.send_raw(b"\n".join(lines) + b"\n")
            replies: list[dict[str, Any]] = []
            while len(replies) < len(lines):
                msg = await c.read()
                if "method" not in msg:
                    replies.append(msg)
            assert all(r["result"] is True for r in replies), [r for r in replies if r["error"]][:3]
            assert c.difficulty >= 64 * 1e-8  # raised instead of limited or thrown off
            r = await c.call("mining.extranonce.subscribe", [])
            assert r["result"] is True  # still connected
            assert next(iter(h.stratifier.sessions)).rate_violations == 0
            c.close()

    run(main())


def test_re_sent_suggest_difficulty_cannot_make_shares_free(tmp_path: Path) -> None:
    """The attack: after authorize, mining.suggest_difficulty [1e-8] again every 20 submits."""
    floor = 1e-7
    # a share every 50 ms, so vardiff settles where this test's grinding keeps up
    cfg = config(tmp_path, "regtest", start_difficulty=floor, min_difficulty=floor, target_interval=0.05)

    async def main() -> None:
        async with running_pool(tmp_path, cfg, template()) as h:
            u = user("regtest")
            c = await Client.connect(h.port)
            await c.login(u)
            en2n = 0
            for rnd in range(3):
                r = await c.call("mining.suggest_difficulty", [1e-8])
                if rnd == 0:
                    assert r["result"] is True
                    assert (await c.wait_note("mining.set_difficulty"))["params"] == [floor]  # not 1e-8
                    await c.wait_note("mining.notify")
                else:
                    assert r["error"][0] == StratumErrorCode.OTHER and "at most one per 60 s" in r["error"][1], r
                assert c.job is not None and c.difficulty >= floor
                # a share good for 1e-8 only is refused
                en2n += 1
                en2 = en2n.to_bytes(8, "big")
                cheap = next(n for n in find_shares(c.job, c.en1, en2, 1e-8, 200)
                             if not _meets(c.job, c.en1, en2, n, c.difficulty))
                r = await c.call("mining.submit", submit_params(u, c.job, en2, c.job.time, cheap))
                assert r["error"][0] == StratumErrorCode.LOW_DIFFICULTY_SHARE, r
                for _ in range(20):
                    en2n += 1
                    en2 = en2n.to_bytes(8, "big")
                    job, d = c.job, c.difficulty
                    (nonce,) = find_shares(job, c.en1, en2, d, 1)
                    r = await c.call("mining.submit", submit_params(u, job, en2, job.time, nonce))
                    assert r["result"] is True, r
            assert c.difficulty > floor  # vardiff moved up; the suggestions could not undo it
            c.close()
            with h.engine.connect() as conn:
                rows = conn.exec_driver_sql("SELECT min(difficulty), count(*) FROM shares").one()
            assert rows[1] == 60 and rows[0] >= floor

    run(main())


def _meets(job: Job, en1: bytes, en2: bytes, nonce: int, difficulty: float) -> bool:
    h = hashlib.sha256(hashlib.sha256(job.header(en1, en2, job.time, nonce)).digest()).digest()
    return int.from_bytes(h, "little") <= difficulty_to_target(difficulty)


def test_default_floor_per_network_and_suggestions_clamped_to_it(tmp_path: Path) -> None:
    cfg = config(tmp_path, "regtest")
    assert cfg.min_share_difficulty == 1e-5 and cfg.test_network
    assert config(tmp_path, "mainnet").min_share_difficulty == 1e-3
    assert not config(tmp_path, "mainnet").test_network

    async def main() -> None:
        async with running_pool(tmp_path, cfg, template(bits=BITS["regtest"])) as h:
            c = await Client.connect(h.port)
            r = await c.call("mining.subscribe", ["x"])
            c.en1 = bytes.fromhex(r["result"][1])
            r = await c.call("mining.suggest_difficulty", [1e-8])  # before authorize, as Bitaxe does
            assert r["result"] is True
            r = await c.call("mining.authorize", [user("regtest"), "d=1e-9"])
            assert r["result"] is True
            assert (await c.wait_note("mining.set_difficulty"))["params"] == [1e-5]
            assert h.stratifier.network_difficulty is not None and h.stratifier.network_difficulty < 1e-9
            c.close()

    run(main())


def test_min_difficulty_per_network_in_the_config_file(tmp_path: Path) -> None:
    f = tmp_path / "pool.toml"
    f.write_text('network = "devnet"\n[vardiff]\nstart_difficulty = 0.01\n'
                 "min_difficulty = {regtest = 1e-6, devnet = 2e-4}\n[accounting]\npool_address = \"x\"\n")
    assert load_config(f).min_share_difficulty == 2e-4
    assert load_config(f, network="regtest").min_share_difficulty == 1e-6
    assert load_config(f, network="scryptnet").min_share_difficulty == 1e-3  # not listed: the default
    assert load_config(f, **{"vardiff.min_difficulty": 0.005}).min_share_difficulty == 0.005
    f.write_text('[vardiff]\nmin_difficulty = "low"\n[accounting]\npool_address = "x"\n')
    with pytest.raises(ConfigError, match=r"pool.toml:vardiff.min_difficulty: Input should be a valid number"):
        load_config(f)
    with pytest.raises(ConfigError, match=r"min \(0.5\) <= start \(0.01\)"):
        load_config(None, **{"accounting.pool_address": "x", "vardiff.min_difficulty": 0.5,
                             "vardiff.start_difficulty": 0.01})


def test_vardiff_ceiling_is_the_network_difficulty_only_on_real_networks() -> None:
    cfg = VardiffConfig(retarget_shares=20, max_difficulty=1e6)
    real = Vardiff(cfg, 1.0, 0.0, floor=1e-3)
    test = Vardiff(cfg, 1.0, 0.0, floor=1e-3, above_network=True)
    for v in (real, test):
        changes = [v.on_share(1.0, 0.1 * (i + 1), network_difficulty=5.0) for i in range(20)]
        assert [c for c in changes if c is not None] == [5.0 if v is real else 64.0]
    # the start never exceeds the network difficulty; the floor gives way to it only on real networks
    assert real.start(1.0, 0.01) == 0.01 and test.start(1.0, 0.01) == 0.01
    assert real.start(1.0, 4.66e-10) == 4.66e-10 and test.start(1.0, 4.66e-10) == 1e-3
    assert real.clamp(1e-9, None) == 1e-3 and test.clamp(1e-9, 4.66e-10) == 1e-3
    # the flood path: one step up, then not again before `flood_raise_after`
    v = Vardiff(replace(cfg, flood_raise_after=0.5), 1e-3, 0.0, floor=1e-3, above_network=True)
    assert v.on_flood(0.6, None) == 0.064 and v.on_flood(0.7, None) is None and v.on_flood(1.2, None) == 4.096
    capped = Vardiff(cfg, 5.0, 0.0, floor=1e-3)
    assert capped.on_flood(10.0, 5.0) is None  # at the network difficulty of a real network


def test_cli_min_difficulty_flag_and_a_start_below_the_floor(tmp_path: Path) -> None:
    base = [sys.executable, "-m", "hashforge", "pool", "--network", "regtest", "--scheme", "solo",
            "--datadir", str(tmp_path), "--node-rpc", "http://u:p@127.0.0.1:9/", "--stratum-port", "0"]
    r = subprocess.run([*base, "--start-difficulty", "1e-9"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "error: bad configuration: --start-difficulty: vardiff needs 0 < min (1e-05) <= start (1e-09) "
        "<= max (2.81475e+14)"], r.stderr
    # with the floor lowered the same start is accepted: the pool goes on to ask the node (absent)
    r = subprocess.run([*base, "--start-difficulty", "1e-9", "--min-difficulty", "1e-9"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1] == "error: the node gave no block template", r.stderr


@pytest.mark.parametrize("network", ["regtest", "testnet4"])
def test_a_share_of_the_previous_tip_in_flight(tmp_path: Path, network: str) -> None:
    """Sent before the miner could see the new tip: on a test network (each share may be a block
    and a new tip) it is still a share for `previous_tip_grace`, never a block; on a real network
    it is stale."""
    cfg = config(tmp_path, network, start_difficulty=1e-8, min_difficulty=1e-8, retarget_shares=1 << 30)

    async def main() -> None:
        async with running_pool(tmp_path, cfg, template()) as h:
            u = user(network)
            c = await Client.connect(h.port)
            await c.login(u)
            old = c.job
            assert old is not None
            en2 = (5).to_bytes(8, "big")
            (nonce,) = find_shares(old, c.en1, en2, c.difficulty, 1)
            h.stratifier.set_template(template(height=201, prev=b"\x22" * 32))
            await c.wait_note("mining.notify")
            r = await c.call("mining.submit", submit_params(u, old, en2, old.time, nonce))
            if network == "regtest":
                assert r["result"] is True, r
                r = await c.call("mining.submit", submit_params(u, old, en2, old.time, nonce))
                assert r["error"][0] == StratumErrorCode.DUPLICATE_SHARE, r
                with h.engine.connect() as conn:
                    height, block = conn.exec_driver_sql("SELECT height, is_block FROM shares").one()
                assert height == 200 and not block and not h.node.blocks
            else:
                assert r["error"][0] == StratumErrorCode.JOB_NOT_FOUND, r
            c.close()

    run(main())
