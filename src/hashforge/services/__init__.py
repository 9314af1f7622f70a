"""The services layer: what the API and the dashboard both stand on, below them and above the components.

- `events`: the event bus and the event types components publish;
- `node.NodeGateway` / `gateways.*`: typed clients of the node (JSON-RPC), pool (its internal REST
  interface), miner (cgminer API) and wallet (its data directory);
- `registry.Components`: which components are plugged in, with their gateways;
- `paging`: opaque cursors and `Page[T]`; `earnings`: expected coins/day;
- `keys`: the API key store (the one owner of key minting);
- `chain`, `pool`, `miner`, `ops_profit`, `ops_tax`: the reads that routes and pages share;
- `errors`: what services raise (`ServiceError` and kinds); hashforge.api answers them as problem+json.

Nothing here imports hashforge.api or hashforge.web (tests/test_architecture.py checks).
"""
