"""The miner against a test Stratum pool: shares, difficulty, clean jobs, reconnects, failover."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hashforge.miner import PoolStatus
from hashforge.miner.pools import Strategy
from hashforge.stratum import notification

from .helpers import Running, make_miner, run, stratum, until
from .stratum_server import StratumTestServer


def test_mines_valid_shares_with_version_rolling() -> None:
    async def go() -> None:
        server = await StratumTestServer(difficulty=1e-4, prefix="a").start()
        src = stratum(0, server.url, suggest_difficulty=0.0001)
        miner = make_miner([src])
        async with Running(miner):
            await until(lambda: len(server.accepted()) >= 5, what="5 accepted shares")
        await server.stop()
        methods = [m for m in server.all_methods if m != "mining.submit"]
        assert methods[:3] == ["mining.configure", "mining.subscribe", "mining.suggest_difficulty"]
        assert "mining.authorize" in methods and "mining.extranonce.subscribe" in methods
        assert all(s.ok for s in server.submissions), [s.reason for s in server.submissions if not s.ok]
        sub = server.accepted()[0].params
        assert len(sub) == 6 and int(sub[5], 16) & ~0x1FFFE000 == 0  # rolled bits within the pool's mask
        assert any(int(s.params[5], 16) for s in server.accepted())  # versions really roll
        assert miner.totals.shares.accepted >= 5 and miner.totals.shares.rejected == 0
        assert miner.devices[0].stats.shares.accepted == miner.totals.shares.accepted
        assert src.version_mask == 0 or src.current is None

    run(go())


def test_pool_without_configure_gets_no_version_bits() -> None:
    async def go() -> None:
        server = await StratumTestServer(difficulty=1e-4, mask=None).start()
        miner = make_miner([stratum(0, server.url)])
        async with Running(miner):
            await until(lambda: len(server.accepted()) >= 2, what="shares")
        await server.stop()
        assert all(len(s.params) == 5 for s in server.submissions)
        assert all(s.ok for s in server.submissions)

    run(go())


def test_set_difficulty_applies_to_the_next_job_and_clean_jobs_drop_stale() -> None:
    async def go() -> None:
        server = await StratumTestServer(difficulty=1e-4).start()
        src = stratum(0, server.url)
        miner = make_miner([src])
        async with Running(miner):
            await until(lambda: len(server.accepted()) >= 2, what="shares at 1e-4")
            first_job = src.current.job_id if src.current else ""
            await server.set_difficulty(5e-4)
            await asyncio.sleep(0.1)
            assert src.current is not None and src.current.difficulty == pytest.approx(1e-4)  # not yet
            job = await server.new_job(clean=True)
            await until(lambda: src.current is not None and src.current.job_id == job.job_id, what="new job")
            assert src.current is not None and src.current.difficulty == pytest.approx(5e-4)
            n = len(server.submissions)
            await until(lambda: sum(1 for s in server.submissions[n:] if s.ok) >= 3, what="shares at 5e-4")
        await server.stop()
        later = [s for s in server.submissions[n:] if s.ok]
        assert all(s.params[1] == job.job_id for s in later)
        assert all(s.difficulty == pytest.approx(5e-4) and s.share_difficulty >= 5e-4 for s in later)
        assert not any(s.params[1] == first_job for s in server.submissions[n:] if s.ok)
        assert miner.totals.shares.rejected == 0  # late shares of the old job count as stale, never rejected
        assert all(not s.reason or s.reason == "job not found" for s in server.submissions)

    run(go())


def test_reconnects_after_a_drop_and_resumes_the_session() -> None:
    async def go() -> None:
        server = await StratumTestServer(difficulty=1e-4).start()
        src = stratum(0, server.url)
        miner = make_miner([src])
        async with Running(miner):
            await until(lambda: len(server.accepted()) >= 1, what="a share")
            en1 = src.extranonce1
            sid = src.session_id
            await server.drop_all()
            await until(lambda: server.connections >= 2 and src.status == PoolStatus.ALIVE, what="reconnect")
            n = len(server.accepted())
            await until(lambda: len(server.accepted()) > n, what="shares after reconnect")
        await server.stop()
        assert src.resumed and src.extranonce1 == en1 and src.session_id == sid
        assert len(server.subscribes[0]) == 1 and server.subscribes[1][1] == sid  # resume token sent
        assert src.remote_failures >= 1

    run(go())


def test_client_reconnect_moves_to_the_new_port() -> None:
    async def go() -> None:
        a = await StratumTestServer(difficulty=1e-4, prefix="a").start()
        b = await StratumTestServer(difficulty=1e-4, prefix="b").start()
        src = stratum(0, a.url)
        miner = make_miner([src])
        async with Running(miner):
            await a.on_authorized.wait()
            await a.broadcast(notification("client.reconnect", ["127.0.0.1", b.port, 0]))
            await until(lambda: len(b.accepted()) >= 2, what="shares at the new port")
        await a.stop()
        await b.stop()
        assert src.port == b.port
        assert all(s.params[1].startswith("b") for s in b.submissions)

    run(go())


def test_failover_when_the_first_pool_dies_and_back() -> None:
    async def go() -> None:
        a = await StratumTestServer(difficulty=1e-4, prefix="a").start()
        b = await StratumTestServer(difficulty=1e-4, prefix="b").start()
        port_a = a.port
        miner = make_miner([stratum(0, a.url), stratum(1, b.url)])
        async with Running(miner):
            await until(lambda: len(a.accepted()) >= 2, what="shares to pool 0")
            assert miner.pools.active == [0] and not b.submissions
            await a.stop()
            await until(lambda: len(b.accepted()) >= 2, what="failover to pool 1")
            assert miner.pools.active == [1]
            a2 = StratumTestServer(difficulty=1e-4, prefix="c")
            a2.port = port_a
            await a2.start()
            await until(lambda: miner.pools.active == [0], what="back to the better pool")
            await until(lambda: len(a2.accepted()) >= 1, what="shares to pool 0 again")
            await a2.stop()
        await b.stop()
        # shares only ever go to the pool that issued the job
        assert all(s.params[1].startswith("b") for s in b.submissions)
        assert all(s.ok or s.reason == "job not found" for s in b.submissions + a.submissions)

    run(go())


def test_pool_rejecting_every_share_is_marked_and_failed_over() -> None:
    async def go() -> None:
        a = await StratumTestServer(difficulty=1e-4, prefix="a", reject_all=True).start()
        b = await StratumTestServer(difficulty=1e-4, prefix="b").start()
        miner = make_miner([stratum(0, a.url), stratum(1, b.url)], reject_limit=3)
        async with Running(miner):
            await until(lambda: miner.pools.pool(0).status == PoolStatus.REJECTING, what="Rejecting")
            await until(lambda: len(b.accepted()) >= 2, what="failover")
            assert miner.pools.active == [1]
        await a.stop()
        await b.stop()
        assert miner.pools.pool(0).shares.rejected >= 3
        assert miner.pools.pool(0).shares.reasons["rejected by test"] >= 3

    run(go())


@pytest.mark.parametrize(
    "garbage",
    [
        b"this is not json\n",
        b'{"id": null, "method": "mining.notify", "params": [1, 2\n',
        b"[1, 2, 3]\n",
        b'{"id":null,"method":"mining.notify","params":["x","00","","",[],"20000000","1d00ffff","00000000",true]}\n',
        b'{"id":null,"method":"mining.set_difficulty","params":["lots"]}\n',
        b'{"id":null,"method":"mining.notify","params":' + b'"' + b"a" * 20000 + b'"}\n',
        b'{"id":null,"method":"mining.notify","params":["x"',  # then the connection drops mid-line
    ],
    ids=["text", "bad-json", "not-object", "short-prevhash", "bad-difficulty", "huge-line", "mid-line-drop"],
)
def test_garbage_from_the_pool_means_log_and_reconnect(garbage: bytes, caplog: pytest.LogCaptureFixture) -> None:
    async def go() -> None:
        server = await StratumTestServer(difficulty=1e-4).start()
        src = stratum(0, server.url)
        miner = make_miner([src])
        async with Running(miner):
            await until(lambda: len(server.accepted()) >= 1, what="a share")
            await server.broadcast(garbage)
            if not garbage.endswith(b"\n"):
                await server.drop_all()
            await until(lambda: server.connections >= 2, what="reconnect")
            n = len(server.accepted())
            await until(lambda: len(server.accepted()) > n, what="mining again")
        await server.stop()

    with caplog.at_level(logging.ERROR, logger="hashforge"):
        run(go())
    assert any("pool 0" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)


def test_show_message_and_set_extranonce() -> None:
    async def go() -> None:
        server = await StratumTestServer(difficulty=1e-4).start()
        src = stratum(0, server.url)
        miner = make_miner([src])
        async with Running(miner):
            await until(lambda: len(server.accepted()) >= 1, what="a share")
            await server.broadcast(notification("client.show_message", ["maintenance at noon"]))
            new_en1 = bytes.fromhex("0badcafe")
            for c in server.conns.values():
                c.extranonce1 = new_en1
            await server.broadcast(notification("mining.set_extranonce", [new_en1.hex(), 4]))
            await until(lambda: src.message == "maintenance at noon", what="message")
            job = await server.new_job(clean=True)
            await until(lambda: src.current is not None and src.current.job_id == job.job_id, what="job")
            assert src.current is not None and src.current.extranonce1 == new_en1
            n = len(server.accepted())
            await until(lambda: len(server.accepted()) >= n + 2, what="shares with the new extranonce1")
        await server.stop()
        assert miner.totals.shares.rejected == 0

    run(go())


def test_load_balance_and_round_robin_use_both_pools() -> None:
    async def go(strategy: Strategy) -> None:
        a = await StratumTestServer(difficulty=1e-4, prefix="a").start()
        b = await StratumTestServer(difficulty=1e-4, prefix="b").start()
        miner = make_miner([stratum(0, a.url), stratum(1, b.url)], strategy=strategy, rotate_interval=0.5)
        async with Running(miner):
            await until(lambda: len(a.accepted()) >= 2 and len(b.accepted()) >= 2, what="shares to both")
        await a.stop()
        await b.stop()
        assert all(s.params[1].startswith("a") for s in a.submissions)
        assert all(s.params[1].startswith("b") for s in b.submissions)

    run(go(Strategy.LOAD_BALANCE))
    run(go(Strategy.ROUND_ROBIN))


def test_scrypt_pool_scales_difficulty_by_2_16() -> None:
    async def go() -> None:
        server = await StratumTestServer(difficulty=0.05, scrypt=True).start()
        src = stratum(0, server.url, algo="scrypt")
        miner = make_miner([src], algo="scrypt")
        async with Running(miner):
            await until(lambda: len(server.accepted()) >= 2, timeout=30, what="scrypt shares")
        await server.stop()
        assert all(s.ok for s in server.submissions)
        assert all(s.share_difficulty >= 0.05 for s in server.submissions)

    run(go())


def test_unauthorized_worker_is_a_dead_pool_not_a_crash() -> None:
    async def go() -> None:
        server = await StratumTestServer(auth_ok=False).start()
        src = stratum(0, server.url)
        miner = make_miner([src])
        async with Running(miner):
            await until(lambda: server.connections >= 2, what="retries")
            assert src.status == PoolStatus.DEAD and "not authorized" in src.last_error
        await server.stop()

    run(go())
