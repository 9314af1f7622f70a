"""A payout process killed between build and broadcast, or between broadcast and its status
update, pays every miner exactly once after a restart (checked on chain)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import insert

from hashforge.consensus.params import REGTEST
from hashforge.pool.db import make_engine, migrate
from hashforge.pool.db.models import blocks
from hashforge.pool.db.repositories import LedgerRepository
from hashforge.rpcclient import AsyncRPCClient
from tests.helpers.nodeproc import NodeProcess
from tests.helpers.txbuilder import Key
from tests.vectorfiles import REPO_ROOT

from .payout_child import main as child_main
from .test_end_to_end import BURN, addr, node, onchain
from .wallet import TestWallet

__all__ = ["node"]
POOL_KEY = 0x5EED


def _credit(engine: object, amounts: dict[str, int]) -> None:
    with engine.begin() as conn:  # type: ignore[attr-defined]
        r = conn.execute(insert(blocks).values(
            height=1, hash=os.urandom(32).hex(), share_id=None, instance=0, address="x", worker="x",
            reward=sum(amounts.values()), network_difficulty=1.0, effort=1.0, scheme="pplns",
            status="confirmed", submit_result=None, credited=True, found_at=time.time()))
        bid = r.inserted_primary_key[0]
        LedgerRepository.add(conn, [{"address": a, "amount": v, "kind": "block", "block_id": bid}
                                    for a, v in amounts.items()])


def _child(db_url: str, node: NodeProcess, crash_at: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.pool.payout_child", db_url, node.url, str(node.datadir / ".cookie"), str(POOL_KEY)],
        cwd=REPO_ROOT, env={**os.environ, "HASHFORGE_POOL_CRASH_AT": crash_at}, capture_output=True, text=True,
        timeout=60,
    )


@pytest.mark.parametrize("crash_at", ["after_build", "after_broadcast"])
def test_payout_crash_pays_once(node: NodeProcess, tmp_path: Path, crash_at: str) -> None:
    pool = TestWallet(Key.from_int(POOL_KEY), None, REGTEST)  # type: ignore[arg-type]
    node.call("generatetoaddress", 2, pool.address)
    node.call("generatetoaddress", 100, BURN)
    db_url = f"sqlite:///{tmp_path / 'pool.sqlite3'}"
    engine = make_engine(db_url)
    migrate(engine)
    miners = {addr(0x1000 + i + (100 if crash_at == "after_build" else 0)): 10_000_000 + i for i in range(3)}
    _credit(engine, miners)

    proc = _child(db_url, node, crash_at)
    assert proc.returncode == 137, proc.stdout + proc.stderr  # killed at the crash point
    with engine.connect() as conn:
        (status, txid), = conn.exec_driver_sql("SELECT status, txid FROM payouts").all()
    assert status == "built"
    mempool = node.call("getrawmempool")
    assert (txid in mempool) == (crash_at == "after_broadcast")

    # restart: resumes the same transaction; a second run has nothing more to pay
    assert asyncio.run(child_main(db_url, node.url, str(node.datadir / ".cookie"), POOL_KEY)) == txid
    assert txid in node.call("getrawmempool")
    node.call("generatetoaddress", 1, BURN)
    assert asyncio.run(child_main(db_url, node.url, str(node.datadir / ".cookie"), POOL_KEY)) == txid  # confirms
    assert asyncio.run(child_main(db_url, node.url, str(node.datadir / ".cookie"), POOL_KEY)) is None
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.exec_driver_sql("SELECT status, txid FROM payouts")] == [("confirmed", txid)]
        assert all(v == 0 for v in LedgerRepository.payable_balances(conn).values())
    for a, v in miners.items():
        assert onchain(node, a) == [v]  # paid exactly once
    engine.dispose()


def test_wallet_protocol_is_satisfied() -> None:
    from hashforge.pool.payouts import PayoutWallet

    def check(w: PayoutWallet) -> None: ...

    check(TestWallet(Key.from_int(1), AsyncRPCClient("http://127.0.0.1:1/", "u", "p"), REGTEST))
