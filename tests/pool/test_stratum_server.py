"""Stratum server contract over real TCP: the happy path, every rejection, bad input."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

from hashforge.stratum import StratumErrorCode

from .harness import (
    MINER_ADDR,
    TAPROOT_ADDR,
    Client,
    grind,
    pool_config,
    running_pool,
    submit_params,
    template,
)

USER = MINER_ADDR + ".rig1"


def run(coro: object) -> None:
    asyncio.run(asyncio.wait_for(coro, 60))  # type: ignore[arg-type]


def test_subscribe_authorize_configure_submit_accepted(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_pool(tmp_path) as h:
            c = await Client.connect(h.port)
            await c.login(configure=True)
            assert c.mask == 0x1FFFE000  # pool mask AND client mask
            assert len(c.en1) == 4 and c.en1[0] == 0  # instance prefix 0
            assert c.en2_size == 8
            assert c.job is not None
            en2 = (1).to_bytes(8, "big")
            ntime, nonce = grind(c.job, c.en1, en2, c.difficulty)
            r = await c.call("mining.submit", submit_params(USER, c.job, en2, ntime, nonce))
            assert r["result"] is True and r["error"] is None
            assert h.share_count() == 1  # acknowledged only after the commit
            # duplicate
            r = await c.call("mining.submit", submit_params(USER, c.job, en2, ntime, nonce))
            assert r["error"][0] == StratumErrorCode.DUPLICATE_SHARE
            # version rolling inside the mask is accepted, outside it is not
            en2 = (2).to_bytes(8, "big")
            ntime, nonce = grind(c.job, c.en1, en2, c.difficulty, version=c.job.version | 0x2000)
            r = await c.call("mining.submit", submit_params(USER, c.job, en2, ntime, nonce, 0x2000))
            assert r["result"] is True, r
            r = await c.call("mining.submit", submit_params(USER, c.job, en2, ntime, nonce + 1, 0x1))
            assert r["error"][0] == StratumErrorCode.OTHER and "mask" in r["error"][1]
            # low difficulty
            c2 = (3).to_bytes(8, "big")
            ntime, nonce = grind(c.job, c.en1, c2, c.difficulty, want_low=True)
            r = await c.call("mining.submit", submit_params(USER, c.job, c2, ntime, nonce))
            assert r["error"][0] == StratumErrorCode.LOW_DIFFICULTY_SHARE
            # bad hex / wrong sizes / ntime out of range / wrong types
            for bad in (
                [USER, c.job.job_id, "zz" * 8, f"{ntime:08x}", "00000000"],
                [USER, c.job.job_id, "00" * 4, f"{ntime:08x}", "00000000"],
                [USER, c.job.job_id, "00" * 8, "0000", "00000000"],
                [USER, c.job.job_id, "00" * 8, f"{c.job.time - 1:08x}", "00000000"],
                [USER, c.job.job_id, "00" * 8, f"{c.job.time + 99999:08x}", "00000000"],
                [USER, c.job.job_id, 5, f"{ntime:08x}", "00000000"],
                "notalist",
            ):
                r = await c.call("mining.submit", bad)  # type: ignore[arg-type]
                assert r["error"][0] == StratumErrorCode.OTHER, (bad, r)
            # unknown worker, unknown job
            r = await c.call("mining.submit", submit_params(MINER_ADDR + ".other", c.job, en2, ntime, nonce))
            assert r["error"][0] == StratumErrorCode.UNAUTHORIZED_WORKER
            r = await c.call("mining.submit", [USER, "nope", "00" * 8, f"{ntime:08x}", "00000000"])
            assert r["error"][0] == StratumErrorCode.JOB_NOT_FOUND
            assert h.share_count() == 2  # never a bad share recorded as good
            c.close()

    run(main())


def test_stale_after_new_tip_and_difficulty_in_force_per_job(tmp_path: Path) -> None:
    cfg = pool_config(tmp_path)  # no grace for the previous tip (tests/pool/test_share_difficulty.py has it)
    cfg = replace(cfg, stratifier=replace(cfg.stratifier, previous_tip_grace=0.0))

    async def main() -> None:
        async with running_pool(tmp_path, cfg) as h:
            c = await Client.connect(h.port)
            await c.login()
            old = c.job
            assert old is not None
            en2 = (7).to_bytes(8, "big")
            ntime, nonce = grind(old, c.en1, en2, c.difficulty)
            # raise the difficulty: the old job keeps the old difficulty
            r = await c.call("mining.suggest_difficulty", [1e-6])
            assert r["result"] is True
            note = await c.wait_note("mining.set_difficulty")
            assert note["params"] == [1e-6]
            alias = (await c.wait_note("mining.notify"))["params"]
            assert alias[0] != old.job_id and alias[8] is False
            r = await c.call("mining.submit", submit_params(USER, old, en2, ntime, nonce))
            assert r["result"] is True
            # a new tip: clean_jobs, the old job is stale
            h.stratifier.set_template(template(height=201, prev=b"\x22" * 32))
            note = await c.wait_note("mining.notify")
            assert note["params"][8] is True
            en2 = (8).to_bytes(8, "big")
            ntime, nonce = grind(old, c.en1, en2, 1e-8)
            r = await c.call("mining.submit", submit_params(USER, old, en2, ntime, nonce))
            assert r["error"][0] == StratumErrorCode.JOB_NOT_FOUND
            c.close()

    run(main())


def test_order_of_operations_and_bad_methods(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_pool(tmp_path) as h:
            c = await Client.connect(h.port)
            r = await c.call("mining.submit", [USER, "1", "00" * 8, "00000000", "00000000"])
            assert r["error"][0] == StratumErrorCode.NOT_SUBSCRIBED
            r = await c.call("mining.authorize", [USER, "x"])
            assert r["error"][0] == StratumErrorCode.NOT_SUBSCRIBED
            r = await c.call("mining.subscribe", ["x"])
            en1 = r["result"][1]
            r = await c.call("mining.submit", [USER, "1", "00" * 8, "00000000", "00000000"])
            assert r["error"][0] == StratumErrorCode.UNAUTHORIZED_WORKER
            r = await c.call("mining.authorize", ["notanaddress.w", "x"])
            assert r["error"][0] == StratumErrorCode.UNAUTHORIZED_WORKER
            r = await c.call("mining.authorize", ["bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.w", "x"])  # mainnet
            assert r["error"][0] == StratumErrorCode.UNAUTHORIZED_WORKER
            r = await c.call("mining.authorize", [TAPROOT_ADDR + ".tr", "d=0.5"])  # P2TR is fine
            assert r["result"] is True
            assert (await c.wait_note("mining.set_difficulty"))["params"] == [0.5]  # password d=
            r = await c.call("mining.unknown", [])
            assert r["error"][0] == StratumErrorCode.OTHER
            r = await c.call("mining.extranonce.subscribe", [])
            assert r["result"] is True
            r = await c.call("mining.suggest_difficulty", ["abc"])
            assert r["error"][0] == StratumErrorCode.OTHER
            # the pool can move a session to a new extranonce1
            session = next(iter(h.stratifier.sessions))
            assert h.stratifier.reassign_extranonce(session)
            note = await c.wait_note("mining.set_extranonce")
            assert note["params"][0] != en1 and note["params"][1] == 8
            c.close()

    run(main())


def test_bad_input_policy(tmp_path: Path) -> None:
    async def main() -> None:
        cfg = pool_config(tmp_path, max_protocol_errors=3, max_connections_per_ip=4)
        async with running_pool(tmp_path, cfg) as h:
            c = await Client.connect(h.port)
            await c.send_raw(b"this is not json\n")
            msg = await c.read()
            assert msg["error"][0] == StratumErrorCode.OTHER and msg["id"] is None
            await c.send_raw(b"[1,2]\n")
            assert (await c.read())["error"][0] == StratumErrorCode.OTHER
            await c.send_raw(b'{"method": 5}\n')
            assert (await c.read())["error"][0] == StratumErrorCode.OTHER
            assert await c.reader.read() == b""  # third malformed line: disconnected
            # an over-long line: error reply, then disconnect
            c = await Client.connect(h.port)
            await c.send_raw(b'{"id":1,"method":"mining.subscribe","params":["' + b"a" * 17000 + b'"]}\n')
            msg = await c.read()
            assert "exceeds" in msg["error"][1]
            assert await c.reader.read() == b""
            # per-IP limit: the 5th connection is refused
            clients = [await Client.connect(h.port) for _ in range(4)]
            await asyncio.sleep(0.1)
            extra = await Client.connect(h.port)
            assert await asyncio.wait_for(extra.reader.read(), 5) == b""
            for x in clients:
                await x.call("mining.subscribe", [])
                x.close()
            assert h.share_count() == 0

    run(main())


def test_share_flood_is_rate_limited_then_disconnected(tmp_path: Path) -> None:
    async def main() -> None:
        cfg = pool_config(tmp_path, submit_rate=5.0, submit_burst=5.0, max_rate_violations=20)
        async with running_pool(tmp_path, cfg) as h:
            c = await Client.connect(h.port)
            await c.login()
            assert c.job is not None
            line = json.dumps({"id": 9, "method": "mining.submit",
                               "params": [USER, c.job.job_id, "00" * 8, "00000000", "00000000"]}).encode() + b"\n"
            await c.send_raw(line * 200)
            errors = []
            try:
                while True:
                    msg = await c.read()
                    if msg.get("id") == 9:
                        errors.append(msg["error"][1])
            except ConnectionError:
                pass
            assert "rate limited" in errors
            assert len(errors) < 200  # disconnected before the flood was served
            assert h.share_count() == 0
            # the server is still fine
            c2 = await Client.connect(h.port)
            await c2.login()
            c2.close()

    run(main())


def test_session_resume_and_reconnect_on_shutdown(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_pool(tmp_path) as h:
            c = await Client.connect(h.port)
            r = await c.call("mining.subscribe", ["x"])
            sid = r["result"][1]
            c.close()
            await asyncio.sleep(0.1)
            c = await Client.connect(h.port)
            r = await c.call("mining.subscribe", ["x", sid])
            assert r["result"][1] == sid  # same extranonce1 back
            c2 = await Client.connect(h.port)
            r = await c2.call("mining.subscribe", ["x", sid])
            assert r["result"][1] != sid  # in use: a fresh one
            h.stratifier.shutdown_notice()
            assert (await c.wait_note("client.reconnect"))["method"] == "client.reconnect"
            c.close()
            c2.close()

    run(main())
