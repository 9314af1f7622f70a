"""Chain reads the API and the dashboard share (the node through `NodeGateway`)."""

from __future__ import annotations

from .chain_models import HistoryPoint
from .node import NodeGateway

MAX_HISTORY_WINDOW = 720


async def history_points(node: NodeGateway, start: int, count: int, window: int) -> list[HistoryPoint]:
    """`count` points from `start` down; each hash rate is chain work over the `window` blocks before it
    divided by their time span (as getnetworkhashps does: the window shrinks near genesis)."""
    if start < 0:
        return []
    window = min(window, MAX_HISTORY_WINDOW)
    headers = await node.headers_down(start, count + window)
    points = []
    for i, h in enumerate(headers[:count]):
        back = min(window, h.height)
        rate: float | None = None
        if back > 0 and i + back < len(headers):
            span = headers[i:i + back + 1]
            times = [x.time for x in span]
            dt = max(times) - min(times)
            if dt > 0:
                rate = (h.chainwork - headers[i + back].chainwork) / dt
        points.append(HistoryPoint(height=h.height, hash=h.hash, time=h.time, difficulty=h.difficulty,
                                   network_hashrate_hps=rate))
    return points
