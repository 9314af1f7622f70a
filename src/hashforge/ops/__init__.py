"""Running mining as a business: profitability (`profit/`), monitoring and alerts (`alerts/`),
expenses and tax records (`ledger/`).

All of it reads data the stack already has (through the API's gateways: node, pool, miner,
wallet) plus what only the user knows (electricity price, hardware cost, coin prices), and keeps
its own records in one SQLite file, `OPS_DIR/ops.sqlite`. The API serves it at `/v1/ops/...`,
the dashboard at `/profit`, `/alerts`, `/tax`; the CLI as `hashforge calc|alerts|tax`.
"""

from __future__ import annotations

from pathlib import Path

DB_FILE = "ops.sqlite"


def default_ops_dir(network: str) -> Path:
    """Where the ops CLIs look without --ops-dir: ~/.hashforge/NETWORK/ops (what `hashforge api`
    uses), else the one `hashforge up` keeps (~/.hashforge/up/NETWORK/ops) when only that exists."""
    home = Path.home() / ".hashforge"
    standalone, up = home / network / "ops", home / "up" / network / "ops"
    return up if not standalone.exists() and up.exists() else standalone
