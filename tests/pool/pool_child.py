"""A pool (no node) in its own process, for the kill test: python -m tests.pool.pool_child DIR."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.pool.harness import running_pool


async def main(tmp: Path) -> None:
    async with running_pool(tmp) as h:
        print(h.port, flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
