"""Test harness: a pool (stratifier + connector + recorder on SQLite) without a node, a Stratum
client over real TCP, and a share grinder."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hashforge.consensus.address import p2tr_script, script_to_address
from hashforge.consensus.params import REGTEST, PowAlgorithm, get_params
from hashforge.pool.config import (
    AccountingConfig,
    ConnectorConfig,
    PoolConfig,
    RecorderConfig,
    Scheme,
    VardiffConfig,
)
from hashforge.pool.connector import Connector
from hashforge.pool.db import make_engine, migrate
from hashforge.pool.recorder import ShareRecorder
from hashforge.pool.records import BlockFound
from hashforge.pool.service import pow_function
from hashforge.pool.stratifier import Stratifier
from hashforge.pool.template import Template
from hashforge.stratum import Job, difficulty_to_target
from tests.helpers.txbuilder import Key

MINER = Key.from_int(0xA11CE)
POOL = Key.from_int(0xB0B)
MINER_ADDR = script_to_address(MINER.p2wpkh, REGTEST) or ""
POOL_ADDR = script_to_address(POOL.p2wpkh, REGTEST) or ""
TAPROOT_ADDR = script_to_address(p2tr_script(bytes(range(1, 33))), REGTEST) or ""
HARD_BITS = 0x1D00FFFF  # difficulty 1: test shares at 1e-8 are never blocks


def template(height: int = 200, prev: bytes = b"\x11" * 32, bits: int = HARD_BITS, curtime: int | None = None) -> Template:
    now = int(time.time()) if curtime is None else curtime
    return Template(height=height, version=0x20000000, prev_hash=prev, bits=bits, curtime=now, mintime=now - 600,
                    coinbase_value=50_0000_0000, transactions=(), txids=(), wtxids=(), segwit=True,
                    coinbase_flags=b"", longpollid=None)


@dataclass
class FakeNode:
    blocks: list[str] = field(default_factory=list)

    async def submit_block(self, block_hex: str) -> Any:
        self.blocks.append(block_hex)
        return None


async def validate(address: str) -> bytes | None:
    return await validator("regtest")(address)


def validator(network: str) -> Callable[[str], Awaitable[bytes | None]]:
    """The pool's local address check for `network`."""
    from hashforge.consensus.address import address_to_script

    params = get_params(network)

    async def check(address: str) -> bytes | None:
        try:
            return address_to_script(address, params)
        except ValueError:
            return None

    return check


@dataclass
class Harness:
    stratifier: Stratifier
    connector: Connector
    recorder: ShareRecorder
    node: FakeNode
    found: list[BlockFound]
    engine: Any

    @property
    def port(self) -> int:
        return self.connector.ports[0]

    def share_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM shares").scalar() or 0)


def pool_config(tmp: Path, scheme: Scheme = Scheme.PPLNS, **connector: Any) -> PoolConfig:
    return PoolConfig(
        network="regtest", datadir=tmp,
        connector=ConnectorConfig(port=0, **connector),
        vardiff=VardiffConfig(start_difficulty=1e-8, min_difficulty=1e-8, retarget_window=3600,
                              retarget_shares=10_000, idle_decay_after=3600),
        accounting=AccountingConfig(scheme=scheme, pool_address=POOL_ADDR),
        recorder=RecorderConfig(database_url=f"sqlite:///{tmp / 'pool.sqlite3'}"),
    ).validate()


@asynccontextmanager
async def running_pool(tmp: Path, cfg: PoolConfig | None = None, tmpl: Template | None = None) -> AsyncIterator[Harness]:
    """A pool for `cfg.network` (regtest by default): its addresses, its proof of work."""
    cfg = cfg or pool_config(tmp)
    params = get_params(cfg.network)
    scrypt = params.pow_algorithm is PowAlgorithm.SCRYPT
    engine = make_engine(cfg.database_url)
    await asyncio.to_thread(migrate, engine)
    recorder = ShareRecorder(engine, cfg.recorder, tmp / "spill.jsonl")
    await recorder.start()
    node = FakeNode()
    found: list[BlockFound] = []

    async def on_block(b: BlockFound) -> None:
        found.append(b)

    strat = Stratifier(cfg, recorder, node, validator(cfg.network), on_block, pool_script=POOL.p2wpkh,
                       pow_fn=pow_function(params), scrypt=scrypt)
    strat.set_template(tmpl or template())
    conn = Connector(cfg.connector, strat)
    await conn.start()
    try:
        yield Harness(strat, conn, recorder, node, found, engine)
    finally:
        await conn.stop()
        await recorder.stop()
        engine.dispose()


class Client:
    """A minimal Stratum client over TCP that keeps notifications apart from replies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.notes: list[dict[str, Any]] = []
        self._id = 0
        self.en1 = b""
        self.en2_size = 8
        self.difficulty = 1.0
        self.job: Job | None = None
        self.mask = 0

    @classmethod
    async def connect(cls, port: int) -> Client:
        r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        return cls(r, w)

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read(self, timeout: float = 5.0) -> dict[str, Any]:
        line = await asyncio.wait_for(self.reader.readline(), timeout)
        if not line:
            raise ConnectionError("closed")
        msg: dict[str, Any] = json.loads(line)
        if msg.get("method") == "mining.notify":
            self.job = Job.from_notify(msg["params"])
        elif msg.get("method") == "mining.set_difficulty":
            self.difficulty = float(msg["params"][0])
        elif msg.get("method") == "mining.set_extranonce":
            self.en1 = bytes.fromhex(msg["params"][0])
        return msg

    async def call(self, method: str, params: list[Any], timeout: float = 5.0) -> dict[str, Any]:
        self._id += 1
        mid = self._id
        await self.send_raw(json.dumps({"id": mid, "method": method, "params": params}).encode() + b"\n")
        while True:
            msg = await self.read(timeout)
            if msg.get("id") == mid and "method" not in msg:
                return msg
            self.notes.append(msg)

    async def wait_note(self, method: str, timeout: float = 5.0) -> dict[str, Any]:
        for i, n in enumerate(self.notes):
            if n.get("method") == method:
                return self.notes.pop(i)
        while True:
            msg = await self.read(timeout)
            if msg.get("method") == method:
                return msg
            self.notes.append(msg)

    async def login(self, user: str = MINER_ADDR + ".rig1", configure: bool = False) -> None:
        if configure:
            r = await self.call("mining.configure", [["version-rolling"], {"version-rolling.mask": "ffffffff"}])
            self.mask = int(r["result"]["version-rolling.mask"], 16)
        r = await self.call("mining.subscribe", ["test/1.0"])
        self.en1 = bytes.fromhex(r["result"][1])
        self.en2_size = r["result"][2]
        r = await self.call("mining.authorize", [user, "x"])
        assert r["result"] is True, r
        await self.wait_note("mining.notify")
        self.notes.clear()

    def close(self) -> None:
        self.writer.close()


def grind(job: Job, en1: bytes, en2: bytes, difficulty: float, *, want_low: bool = False,
          version: int | None = None, start: int = 0) -> tuple[int, int]:
    """(ntime, nonce) of a header meeting `difficulty` (or, with want_low, one that does not)."""
    target = difficulty_to_target(difficulty)
    for nonce in range(start, start + 1_000_000):
        h = hashlib.sha256(hashlib.sha256(job.header(en1, en2, job.time, nonce, version)).digest()).digest()
        ok = int.from_bytes(h, "little") <= target
        if ok != want_low:
            return job.time, nonce
    raise AssertionError("no nonce found")


def submit_params(user: str, job: Job, en2: bytes, ntime: int, nonce: int, version_bits: int | None = None) -> list[str]:
    p = [user, job.job_id, en2.hex(), f"{ntime:08x}", f"{nonce:08x}"]
    if version_bits is not None:
        p.append(f"{version_bits:08x}")
    return p

