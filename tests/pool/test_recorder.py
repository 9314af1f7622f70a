"""The share pipeline: an acknowledged share survives kill -9; a failing database spills to a
file that is replayed exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine

from hashforge.pool.config import RecorderConfig
from hashforge.pool.db import make_engine, migrate
from hashforge.pool.recorder import ShareRecorder
from hashforge.pool.records import ShareRecord
from tests.vectorfiles import REPO_ROOT

from .harness import MINER_ADDR, Client, grind, submit_params

USER = MINER_ADDR + ".rig"


def test_acknowledged_shares_survive_kill_9(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "tests.pool.pool_child", str(tmp_path)], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())

        async def main() -> int:
            c = await Client.connect(port)
            await c.login(USER)
            assert c.job is not None
            lines = b""
            for i in range(60):
                en2 = i.to_bytes(8, "big")
                ntime, nonce = grind(c.job, c.en1, en2, c.difficulty)
                lines += json.dumps({"id": 1000 + i, "method": "mining.submit",
                                     "params": submit_params(USER, c.job, en2, ntime, nonce)}).encode() + b"\n"
            await c.send_raw(lines)  # pipelined: replies come back in order as commits finish
            acked = 0
            while acked < 60:
                msg = await c.read()
                if isinstance(msg.get("id"), int) and msg["id"] >= 1000:
                    assert msg["result"] is True, msg
                    acked += 1
            os.kill(proc.pid, signal.SIGKILL)  # right after the last acknowledgement
            return acked

        acked = asyncio.run(main())
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    engine = create_engine(f"sqlite:///{tmp_path / 'pool.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM shares").scalar() == acked == 60
    engine.dispose()


class BrokenEngine:
    def begin(self) -> object:
        raise OSError("database is down")


def _rec(i: int) -> ShareRecord:  # odd ones of a job that carried DOGE work (merged mining)
    return ShareRecord(time.time(), 0, "a", "w", 1.0, 2.0, 10.0, 5, 100, i.to_bytes(32, "big"), False,
                       ("dogecoin-regtest",) if i % 2 else ())


def test_spill_when_database_down_and_replay_once(tmp_path: Path) -> None:
    spill = tmp_path / "spill.jsonl"
    cfg = RecorderConfig(retries=2, retry_delay=0.01)

    async def down() -> None:
        r = ShareRecorder(BrokenEngine(), cfg, spill)  # type: ignore[arg-type]
        r._wake = asyncio.Event()
        r._task = asyncio.get_running_loop().create_task(r._run())
        acks: list[bool] = []
        for i in range(5):
            r.submit(_rec(i), acks.append)
        while len(acks) < 5:
            await asyncio.sleep(0.01)
        assert acks == [True] * 5  # acknowledged: they are in the fsync'ed spill file
        await r.stop()

    asyncio.run(down())
    assert len(spill.read_text().splitlines()) == 5
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    migrate(engine)
    # a replay that crashed after its commit but before removing the file must not double count
    r2 = ShareRecorder(engine, cfg, spill)
    text = spill.read_text()
    assert r2.replay_spill() == 5
    spill.write_text(text)
    r2.replay_spill()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM shares").scalar() == 5
        assert [a for (a,) in conn.exec_driver_sql("SELECT aux_chains FROM shares ORDER BY id")] == [
            "", ",dogecoin-regtest,", "", ",dogecoin-regtest,", ""]  # what each served, through the spill file
    assert not spill.exists()
    engine.dispose()
