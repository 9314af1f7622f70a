"""Runs one payout in its own process (for the crash test): python -m tests.pool.payout_child
DB_URL NODE_URL COOKIE KEY_INT. HASHFORGE_POOL_CRASH_AT kills it at the named point."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from hashforge.consensus.params import REGTEST
from hashforge.pool.db import make_engine
from hashforge.pool.payouts import PayoutProcessor
from hashforge.rpcclient import AsyncRPCClient
from tests.helpers.txbuilder import Key
from tests.pool.wallet import TestWallet


async def main(db_url: str, node_url: str, cookie: str, key: int) -> str | None:
    rpc = AsyncRPCClient(node_url, cookie=Path(cookie))
    engine = make_engine(db_url)
    try:
        wallet = TestWallet(Key.from_int(key), rpc, REGTEST)
        return await PayoutProcessor(engine, wallet, 1000, exclude=[wallet.address]).run_once()
    finally:
        await rpc.aclose()
        engine.dispose()


if __name__ == "__main__":
    print(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))))
