"""A pool that re-issues an unchanged job under a new id must never get the same work twice."""

from __future__ import annotations

import pytest

from .helpers import Running, make_miner, run, stratum, until
from .stratum_server import StratumTestServer


@pytest.mark.parametrize("clean", [False, True])
def test_reissued_job_continues_the_work_space_without_duplicates(clean: bool) -> None:
    async def go() -> None:
        server = await StratumTestServer(difficulty=1e-4, prefix="r").start()
        # ntime_window=0 pins ntime to the job's, as a fast pool re-issuing within a second would
        src = stratum(0, server.url, ntime_window=0)
        miner = make_miner([src])
        ids: list[str] = []
        async with Running(miner):
            await until(lambda: len(server.accepted()) >= 4, what="4 shares on the first job")
            ids.append(server.accepted()[0].params[1])
            for _ in range(2):
                job = await server.reissue(clean=clean)
                ids.append(job.job_id)
                await until(lambda j=job.job_id: bool(server.duplicates())  # type: ignore[misc]
                            or sum(s.params[1] == j for s in server.accepted()) >= 4,
                            what=f"4 shares on re-issued job {job.job_id}")
        await server.stop()
        assert server.duplicates() == [], [s.params for s in server.duplicates()]
        assert not [s for s in server.submissions if not s.ok and s.reason != "job not found"]
        # the re-issues carried on from where the first job was: no extranonce2/nonce pair comes back
        seen = [(s.params[2], s.params[4], s.params[5] if len(s.params) > 5 else "") for s in server.accepted()]
        assert len(seen) == len(set(seen))
        assert {s.params[1] for s in server.accepted()} >= set(ids)
        assert miner.totals.shares.rejected == 0

    run(go())
