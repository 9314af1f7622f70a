"""Chaos against a whole `hashforge up`: kill -9 random parts, attack its listeners, then count what
was lost. Shared by the CI test (tests/integration/test_chaos.py, a few minutes) and the long run
(bench/chaos.py, e.g. an hour), which print the same counts.

What is counted at the end:
- blocks: every block the pool recorded as found is on the node's active chain, or orphaned (off
  it, known to the node), or rejected with the node's own reason; "lost" is anything else (a block
  the node never heard of, or a rejection that was really a transport or auth failure);
- shares: every share our own Stratum client saw acknowledged is in the pool's share log (by hash);
- payouts: no payout transaction pays twice (each recorded payout's txid at most once on the chain,
  and no other chain transaction spends pool coins to a payout address), and no address is paid
  more than it was credited;
- liveness: `up` still runs and every part is alive; restarts as `up` reported them; RSS per part.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from hashforge.consensus.address import script_to_address
from hashforge.consensus.params import DEVNET
from hashforge.rpcclient import RPCClient, RPCClientError
from tests.helpers.nodeproc import free_port
from tests.helpers.stratumclient import Disconnected, Share, StratumClient, StratumError
from tests.helpers.txbuilder import Key

PREMINE = 101
# Our own Stratum client mines for a customer of the pool (not the operator's address, which the
# pool never pays out to itself), so its PPLNS credits are paid out during the run.
CUSTOMER_ADDRESS = script_to_address(Key.from_int(0xC4A05).p2wpkh, DEVNET)
PARTS = ("node", "pool", "mine", "api")  # the `hashforge <command>` of each part `up` runs
PART_NAMES = {"node": "node", "pool": "pool", "mine": "miner", "api": "api"}
# Transport and auth failures are never a node's verdict on a block.
NOT_A_VERDICT = ("HTTP 401", "authorization failed", "connection", "Connection", "timed out", "refused",
                 "unreachable", "transport")


@dataclass
class ChaosReport:
    seconds: float = 0.0
    kills: dict[str, int] = field(default_factory=dict)
    restarts_reported: int = 0
    up_errors: list[str] = field(default_factory=list)
    blocks_found: int = 0
    blocks_on_chain: int = 0
    blocks_orphaned: int = 0
    blocks_rejected: int = 0
    blocks_lost: list[str] = field(default_factory=list)
    shares_acknowledged: int = 0
    shares_stored: int = 0
    shares_lost: list[str] = field(default_factory=list)
    payouts: int = 0
    payouts_paid_twice: list[str] = field(default_factory=list)
    overpaid_addresses: list[str] = field(default_factory=list)
    attacks: dict[str, str] = field(default_factory=dict)  # name -> "held" or what went wrong
    up_alive: bool = False
    parts_alive: dict[str, bool] = field(default_factory=dict)
    rss_kb: dict[str, dict[str, int]] = field(default_factory=dict)
    chain_height: int = 0

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class UpProcess:
    """`hashforge up --json` on free ports in `root`, with its JSON events read on a thread."""

    PORT_FLAGS = ("--rpc-port", "--stratum-port", "--api-port", "--pool-api-port", "--miner-api-port", "--ws-port")

    def __init__(self, root: Path, network: str = "devnet", scheme: str = "pplns", threads: int = 1,
                 pool_toml: str = "", *, port_flags: Sequence[str] = PORT_FLAGS, extra: Sequence[str] = ()) -> None:
        self.root = root
        self.datadir = root / "up"
        self.datadir.mkdir(parents=True, exist_ok=True)
        if pool_toml:
            (self.datadir / "pool.toml").write_text(pool_toml)
        self.ports = {flag: free_port() for flag in port_flags}
        args = ["--network", network, "--datadir", str(self.datadir), "--threads", str(threads), "--json",
                "--scheme", scheme, *extra]
        for flag, port in self.ports.items():
            args += [flag, str(port)]
        self.stderr = open(root / "up.stderr", "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen([sys.executable, "-m", "hashforge", "up", *args], stdout=subprocess.PIPE,
                                     stderr=self.stderr, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                with self._cond:
                    self.events.append(event)
                    self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_event(self, kind: str, timeout: float) -> dict[str, Any]:
        with self._cond:
            ok = self._cond.wait_for(
                lambda: any(e["event"] == kind for e in self.events) or self.proc.poll() is not None, timeout)
            for e in self.events:
                if e["event"] == kind:
                    return e
        tail = (self.root / "up.stderr").read_text(errors="replace")[-3000:]
        raise TimeoutError(f"no {kind!r} event from up (exited: {self.proc.poll()}, timed out: {not ok}):\n{tail}")

    def count(self, kind: str) -> int:
        with self._cond:
            return sum(1 for e in self.events if e["event"] == kind)

    def port(self, flag: str) -> int:
        return self.ports[flag]

    def rpc(self) -> RPCClient:
        return RPCClient(f"http://127.0.0.1:{self.port('--rpc-port')}/", cookie=self.datadir / "node" / ".cookie",
                         timeout=30)

    def parts(self) -> dict[str, int]:
        """{"node": pid, ...} for the parts `up` runs now (its child processes)."""
        children: list[int] = []
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{self.proc.pid}/task"):
                with contextlib.suppress(OSError):
                    children += [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{task}/children").read_text().split()]
        found: dict[str, int] = {}
        for pid in children:
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            words = [a.decode(errors="replace") for a in argv]
            if "hashforge" in words:
                command = words[words.index("hashforge") + 1] if words.index("hashforge") + 1 < len(words) else ""
                if command in PARTS:
                    found[command] = pid
        return found

    def stop(self, timeout: float = 60) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(10)  # the last events (stopping, stopped)
        self.stderr.close()
        return self.proc.returncode


def part_ready(up: UpProcess, part: str) -> bool:
    """Whether a part answers on its own port (what `up` itself waits for when it starts one)."""
    if part == "node":
        client = up.rpc()
        try:
            return int(client.call("getblockcount")) >= 0
        finally:
            client.close()
    if part == "api":
        return httpx.get(f"http://127.0.0.1:{up.port('--api-port')}/v1/health", timeout=2).status_code == 200
    port = up.port("--stratum-port" if part == "pool" else "--miner-api-port")
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        return True


def rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_for(what: str, predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


class ShareMiner(threading.Thread):
    """Our own plain Stratum miner on the pool: keeps (re)connecting and records every share the pool
    acknowledged, so that the end check can look each one up in the share log."""

    def __init__(self, port: int, user: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.user, self.stop_event = port, user, stop
        self.acknowledged: list[Share] = []
        self.errors: list[str] = []

    def run(self) -> None:
        client: StratumClient | None = None
        while not self.stop_event.is_set():
            try:
                if client is None or client.closed:
                    client = StratumClient(self.port)
                    client.handshake(self.user)
                    # as low as the pool allows: a share must cost little here
                    client.request("mining.suggest_difficulty", [0.001])
                share = client.mine_one(self.user, budget_s=10)
                if share is not None:
                    self.acknowledged.append(share)
            except (OSError, TimeoutError, Disconnected, StratumError, ValueError) as e:
                self.errors.append(str(e)[:200])
                if client is not None:
                    client.close()
                client = None
                self.stop_event.wait(0.5)
        if client is not None:
            client.close()


def attack_nested_json(up: UpProcess) -> str:
    payload = b'{"id":1,"method":"mining.subscribe","params":' + b"[" * 5000 + b"]" * 5000 + b"}\n"
    with socket.create_connection(("127.0.0.1", up.port("--stratum-port")), timeout=10) as s:
        s.sendall(payload)
        reply = s.recv(4096)
    if not reply:
        return "the pool closed the connection without a Stratum error reply"
    msg = json.loads(reply.split(b"\n", 1)[0])
    return "held" if msg.get("error") else f"no error in the reply: {msg}"


def attack_suggest_difficulty(up: UpProcess, user: str) -> str:
    client = StratumClient(up.port("--stratum-port"))
    try:
        client.handshake(user)
        client.wait_for_job()
        for _ in range(3):
            client.request("mining.suggest_difficulty", [1e-8])
        time.sleep(0.5)  # the pool answers a suggestion with set_difficulty; give it the round trip
        d = client.difficulty
        return "held" if d is not None and d > 1e-8 else f"difficulty went to {d}"
    finally:
        client.close()


def attack_pool_api_write(up: UpProcess) -> str:
    url = f"http://127.0.0.1:{up.port('--pool-api-port')}/v1/pool/contracts/farm"
    r = httpx.put(url, json={"addresses": [], "capacity_hps": 10**12}, timeout=10)
    held = r.status_code in (401, 403, 404, 405)
    cross = httpx.post(f"http://127.0.0.1:{up.port('--pool-api-port')}/v1/pool/contracts/1/cancel",
                       content=b"{}", headers={"Origin": "https://evil.example", "Content-Type": "text/plain"},
                       timeout=10)
    held = held and cross.status_code >= 400
    return "held" if held else f"unauthenticated write answered {r.status_code} / cross-site {cross.status_code}"


def attack_node_rpc_body(up: UpProcess) -> str:
    """A big unauthenticated body: the node must refuse it on the headers."""
    body = b"x" * (8 << 20)
    with socket.create_connection(("127.0.0.1", up.port("--rpc-port")), timeout=10) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        with contextlib.suppress(OSError):
            s.sendall(body[: 1 << 20])
        s.settimeout(10)
        try:
            reply = s.recv(256)
        except OSError:
            reply = b""
    return "held" if reply.startswith(b"HTTP/1.1 401") or reply.startswith(b"HTTP/1.0 401") else f"reply {reply[:60]!r}"


def attack_cgminer_addpool(up: UpProcess) -> str:
    with socket.create_connection(("127.0.0.1", up.port("--miner-api-port")), timeout=10) as s:
        s.sendall(json.dumps({"command": "addpool", "parameter": "stratum+tcp://127.0.0.1:9,attacker.w,x"}).encode())
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    text = reply.rstrip(b"\0").decode(errors="replace")
    status = json.loads(text).get("STATUS", [{}])[0]
    return "held" if status.get("STATUS") == "E" else f"addpool answered {status}"


ATTACKS: dict[str, Callable[..., str]] = {
    "nested_json_stratum": attack_nested_json,
    "suggest_difficulty_1e-8": attack_suggest_difficulty,
    "pool_api_unauthenticated_write": attack_pool_api_write,
    "node_rpc_big_unauthenticated_body": attack_node_rpc_body,
    "cgminer_addpool": attack_cgminer_addpool,
}


def run_chaos(root: Path, seconds: float, seed: int = 1, kill_every: tuple[float, float] = (10.0, 25.0),
              budget_per_part: int = 2, budget_window: float = 600.0,
              progress: Callable[[str], None] = lambda _m: None) -> ChaosReport:
    """Runs `up` for `seconds` under chaos and returns the counts. Each part is killed at most
    `budget_per_part` times per `budget_window` (below up's own restart budget: this run is about
    losing nothing across crashes, not about up giving up)."""
    rng = random.Random(seed)
    report = ChaosReport()
    pool_toml = "[accounting]\npayout_interval = 15\npayout_threshold = 10000\nmaturity = 3\n"
    up = UpProcess(root, pool_toml=pool_toml)
    stop = threading.Event()
    miner: ShareMiner | None = None
    started = time.monotonic()
    try:
        ready = up.wait_event("ready", 180)
        address = ready["address"]
        # Mature coins in the pool's wallet from the start, so payouts (of credits that mature after
        # `maturity` blocks, pool.toml) happen within minutes rather than after 100 devnet blocks.
        client = up.rpc()
        try:
            # in steps: devnet's difficulty doubles every 20 blocks mined ahead of its 30 s schedule
            while int(client.call("getblockcount")) < PREMINE:
                client.call("generatetoaddress", 5, address, 10**9)
        finally:
            client.close()
        start_parts = up.parts()
        report.rss_kb = {PART_NAMES[p]: {"start": rss_kb(pid)} for p, pid in start_parts.items()}
        assert CUSTOMER_ADDRESS is not None
        miner = ShareMiner(up.port("--stratum-port"), f"{CUSTOMER_ADDRESS}.chaos", stop)
        miner.start()
        kills: dict[str, list[float]] = {p: [] for p in PARTS}
        attack_names = list(ATTACKS)
        deadline = time.monotonic() + seconds  # the chaos itself, after start-up and the premine
        while time.monotonic() < deadline:
            time.sleep(min(rng.uniform(*kill_every), max(0.0, deadline - time.monotonic())))
            if time.monotonic() >= deadline:
                break
            now = time.monotonic()
            allowed = [p for p in PARTS if len([t for t in kills[p] if now - t < budget_window]) < budget_per_part]
            parts = up.parts()
            candidates = [p for p in allowed if p in parts]
            if candidates:
                victim = rng.choice(candidates)
                old = parts[victim]
                progress(f"kill -9 {PART_NAMES[victim]} (pid {old})")
                os.kill(old, signal.SIGKILL)
                kills[victim].append(now)
                report.kills[PART_NAMES[victim]] = report.kills.get(PART_NAMES[victim], 0) + 1
                wait_for(f"up to restart {victim}", lambda v=victim, o=old: up.parts().get(v, o) != o, 120)  # type: ignore[misc]
                wait_for(f"the restarted {victim} to answer", lambda v=victim: part_ready(up, v), 120)  # type: ignore[misc]
            name = attack_names[len(report.attacks) % len(attack_names)] if len(report.attacks) < len(attack_names) else None
            if name is not None:
                try:
                    fn = ATTACKS[name]
                    result = fn(up, f"{address}.attacker") if name == "suggest_difficulty_1e-8" else fn(up)
                except Exception as e:  # an attack that fails to run at all is a finding, not a crash of the test
                    result = f"{type(e).__name__}: {e}"
                report.attacks[name] = result
                progress(f"attack {name}: {result}")
        # let every part settle (restarted ones ready) before counting
        wait_for("every part running", lambda: set(up.parts()) == set(PARTS), 120)
        stop.set()
        miner.join(30)
        report.seconds = round(time.monotonic() - started, 1)
        final_parts = up.parts()
        report.parts_alive = {PART_NAMES[p]: p in final_parts for p in PARTS}
        for p, pid in final_parts.items():
            report.rss_kb.setdefault(PART_NAMES[p], {})["end"] = rss_kb(pid)
        report.up_alive = up.proc.poll() is None
        report.restarts_reported = up.count("restart")
        report.up_errors = [e.get("message", "") for e in up.events if e["event"] == "error"]
        _count(report, up, miner.acknowledged)
    finally:
        stop.set()
        up.stop()
    return report


def _count(report: ChaosReport, up: UpProcess, acknowledged: list[Share]) -> None:
    db = sqlite3.connect(f"file:{up.datadir / 'pool' / 'pool.sqlite3'}?mode=ro", uri=True, timeout=30)
    rpc = up.rpc()
    try:
        wait_for("the node's RPC", lambda: rpc.call("getblockcount") >= 0, 60)
        report.chain_height = int(rpc.call("getblockcount"))
        for block_hash, status, result in db.execute("SELECT hash, status, submit_result FROM blocks"):
            report.blocks_found += 1
            try:
                header = rpc.call("getblockheader", block_hash)
            except RPCClientError:
                header = None
            if status == "rejected":
                if header is None and result and not any(s in result for s in NOT_A_VERDICT):
                    report.blocks_rejected += 1
                else:
                    report.blocks_lost.append(f"{block_hash} rejected: {result}")
            elif header is None:
                report.blocks_lost.append(f"{block_hash} ({status}) unknown to the node")
            elif header["confirmations"] >= 0:
                report.blocks_on_chain += 1
            else:
                report.blocks_orphaned += 1
        report.shares_acknowledged = len(acknowledged)
        for share in acknowledged:
            if db.execute("SELECT 1 FROM shares WHERE hash = ?", (share.hash,)).fetchone():
                report.shares_stored += 1
            else:
                report.shares_lost.append(share.hash[::-1].hex())
        _count_payouts(report, db, rpc)
    finally:
        rpc.close()
        db.close()


def _count_payouts(report: ChaosReport, db: sqlite3.Connection, rpc: RPCClient) -> None:
    recorded = {txid for (txid,) in db.execute("SELECT txid FROM payouts")}
    report.payouts = len(recorded)
    payees = {a for (a,) in db.execute("SELECT DISTINCT address FROM payout_items")}
    seen: dict[str, int] = {}
    paid: dict[str, int] = {}
    for height in range(1, report.chain_height + 1):
        block = rpc.call("getblock", rpc.call("getblockhash", height), 2)
        for tx in block["tx"][1:]:
            to_payees = {o["scriptPubKey"].get("address") for o in tx["vout"]} & payees
            if not to_payees:
                continue
            if tx["txid"] in recorded:
                seen[tx["txid"]] = seen.get(tx["txid"], 0) + 1
                for o in tx["vout"]:
                    a = o["scriptPubKey"].get("address")
                    if a in payees:
                        paid[a] = paid.get(a, 0) + round(float(o["value"]) * 100_000_000)
    report.payouts_paid_twice = [t for t, n in seen.items() if n > 1]
    credited = dict(db.execute("SELECT address, SUM(amount) FROM credits WHERE kind IN ('block', 'pps', 'reversal', "
                               "'refund') GROUP BY address").fetchall())
    report.overpaid_addresses = [a for a, v in paid.items() if v > int(credited.get(a) or 0)]

