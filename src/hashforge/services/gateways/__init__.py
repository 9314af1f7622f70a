"""How the API and the dashboard talk to each component, over the component's own interface:

- `pool.PoolGateway`: the pool's REST API (HTTP, `hashforge pool --api-port`), and `PoolWatcher`,
  which polls it and publishes share, payout and alert events;
- `miner.MinerGateway`: the cgminer API of a miner (TCP, JSON commands; ours or any cgminer-compatible);
- `wallet.WalletGateway`: a hashforge wallet in a data directory (SQLite, on one dedicated thread).

Each turns the component's failures into service errors (the API answers them as problem+json):
503 when it cannot be reached, 502 when it answers nonsense or an error, 404/409/422 when it
refuses for a reason the caller can fix.
"""
