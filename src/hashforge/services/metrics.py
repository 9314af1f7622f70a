"""Prometheus metrics of the API process, in a registry of its own (no process-global state).

Components add their own collectors to `ApiMetrics.registry` (they get it through `Components`).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "hashforge_api_requests", "HTTP requests answered.", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "hashforge_api_request_seconds", "Time to answer an HTTP request (streams: until they end).",
            ["route"], registry=r, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.rate_limited = Counter("hashforge_api_rate_limited", "Requests refused by the rate limit.", registry=r)
        self.sse_clients = Gauge("hashforge_api_sse_clients", "Open /v1/events streams.", registry=r)
        self.events = Counter("hashforge_events_published", "Events published on the bus.", ["type"], registry=r)
        self.chain_height = Gauge("hashforge_chain_height", "Height of the node's best chain.", registry=r)
        self.chain_difficulty = Gauge("hashforge_chain_difficulty", "Difficulty of the tip block.", registry=r)
        self.node_up = Gauge("hashforge_node_up", "1 when the node answered the last poll, else 0.", registry=r)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)
