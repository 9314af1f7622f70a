"""Two pool processes' worth of services sharing one PostgreSQL and one node: same schema as
SQLite (Alembic), disjoint extranonce1 prefixes, both instances' shares in one log, concurrent
accounting credits every block exactly once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hashforge.consensus.address import script_to_address
from hashforge.consensus.params import REGTEST
from hashforge.pool.config import RecorderConfig, Scheme
from hashforge.pool.db import make_engine, metadata, migrate
from hashforge.pool.service import PoolService
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Key

from .harness import Client
from .pg import postgres_url
from .test_end_to_end import BURN, addr, config, mine, node

__all__ = ["node", "postgres_url"]


def test_schema_on_postgres_matches(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    migrate(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    engine.dispose()


def test_two_instances_share_postgres(node: NodeProcess, postgres_url: str, tmp_path: Path) -> None:
    pool_addr = script_to_address(Key.from_int(0x2222).p2wpkh, REGTEST) or ""
    miner_a, miner_b = addr(0x2A), addr(0x2B)

    async def main() -> None:
        services = []
        for instance in (1, 2):
            cfg = config(node, tmp_path / f"i{instance}", Scheme.PPLNS, pool_addr, instance)
            cfg = replace(cfg, recorder=RecorderConfig(database_url=postgres_url))
            services.append(PoolService(cfg, maintenance_interval=3600))
        await asyncio.gather(*(s.start() for s in services))  # concurrent migrations: advisory lock
        try:
            probes = [await Client.connect(s.stratum_port) for s in services]
            en1s = [(await p.call("mining.subscribe", []))["result"][1] for p in probes]
            assert [bytes.fromhex(e)[0] for e in en1s] == [1, 2]  # instance prefixes: disjoint work
            for p in probes:
                p.close()
            await asyncio.gather(mine(services[0].stratum_port, miner_a + ".a", 2),
                                 mine(services[1].stratum_port, miner_b + ".b", 2))
            for _ in range(100):
                if sum(len(s.found) for s in services) >= 4:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            await asyncio.to_thread(node.call, "generatetoaddress", 100, BURN)
            # both instances run accounting at once: each block is credited by exactly one
            await asyncio.gather(*(s.maintenance_once(payout=False) for s in services))
            await asyncio.gather(*(s.maintenance_once(payout=False) for s in services))
            with services[0].engine.connect() as conn:
                by_instance = dict(conn.exec_driver_sql("SELECT instance, count(*) FROM shares GROUP BY instance").all())
                assert set(by_instance) == {1, 2}
                blocks = conn.exec_driver_sql("SELECT id, status, credited FROM blocks").all()
                assert len(blocks) == 4 and all(b.credited for b in blocks)
                statuses = {b.status for b in blocks}
                assert "confirmed" in statuses and statuses <= {"confirmed", "orphaned"}
                per_block = conn.exec_driver_sql(
                    "SELECT block_id, count(DISTINCT address), count(*) FROM credits WHERE kind='block' "
                    "GROUP BY block_id").all()
                assert all(n_rows == n_addr for _, n_addr, n_rows in per_block), per_block  # never credited twice
            # LISTEN/NOTIFY: each instance heard every block the other one got accepted
            published = [sum(f.accepted for f in s.found) for s in services]
            assert sum(published) >= 1
            for _ in range(40):
                heard = [s.tip_bus.heard if s.tip_bus else -1 for s in services]
                if heard == published[::-1]:
                    break
                await asyncio.sleep(0.05)
            assert heard == published[::-1]
        finally:
            await asyncio.gather(*(s.stop() for s in services))

    asyncio.run(asyncio.wait_for(main(), 120))
