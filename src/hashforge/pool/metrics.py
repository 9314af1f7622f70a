"""Prometheus metrics, in a registry per pool instance (tests run several pools in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class PoolMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.connections = Gauge("hashforge_pool_connections", "Open Stratum connections", registry=r)
        self.workers = Gauge("hashforge_pool_workers", "Distinct workers authorized on open connections", registry=r)
        self.accepted = Counter("hashforge_pool_shares_accepted", "Accepted shares", registry=r)
        self.accepted_difficulty = Counter(
            "hashforge_pool_accepted_difficulty", "Sum of the difficulty of accepted shares", registry=r
        )
        self.rejected = Counter("hashforge_pool_shares_rejected", "Rejected shares by reason", ["reason"], registry=r)
        self.blocks = Counter("hashforge_pool_blocks", "Blocks submitted, by result", ["result"], registry=r)
        self.jobs = Counter("hashforge_pool_jobs", "Templates turned into jobs", registry=r)
        self.protocol_errors = Counter("hashforge_pool_protocol_errors", "Malformed lines", registry=r)
        self.disconnects = Counter("hashforge_pool_disconnects", "Connections closed by the pool", ["reason"], registry=r)
        self.recorder_batch = Gauge("hashforge_pool_recorder_last_batch", "Shares in the last commit", registry=r)
        self.recorder_spilled = Counter("hashforge_pool_recorder_spilled", "Shares written to the spill file", registry=r)
        self.payouts = Counter("hashforge_pool_payouts", "Payout transactions broadcast", registry=r)
        self.hashrate = Gauge("hashforge_pool_hashrate", "Pool hash rate (H/s) over the stats window", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
