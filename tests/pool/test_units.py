"""Unit tests: vardiff, schemes, extranonce allocation, hash-rate units, config, migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given
from hypothesis import strategies as st

from hashforge.pool.accounting.schemes import fee_amount, pps_credits, split_proportional
from hashforge.pool.config import ConfigError, Scheme, VardiffConfig, load_config
from hashforge.pool.db import make_engine, metadata, migrate
from hashforge.pool.hashrate import format_hashrate, hashrate
from hashforge.pool.session import ExtranonceAllocator
from hashforge.pool.template import payout_outputs
from hashforge.pool.vardiff import Vardiff


def test_vardiff_ramps_up_clamps_and_decays() -> None:
    cfg = VardiffConfig(start_difficulty=1.0, target_interval=10, retarget_window=60, retarget_shares=20,
                        variance=0.3, min_difficulty=1e-8, max_difficulty=1e6, idle_decay_after=120, max_step=64)
    v = Vardiff(cfg, 1.0, now=0.0)
    # 10 diff/s at difficulty 1 -> ideal 100, capped at one step of 64; a whole step too fast
    # shows after 4 shares already (the fast ramp), the rest of the window changes nothing
    changes = [v.on_share(1.0, 0.1 * (i + 1), network_difficulty=None) for i in range(20)]
    assert changes[3] == 64.0 and [c for c in changes if c is not None] == [64.0]
    # never above the network difficulty (a real network: no above_network)
    v2 = Vardiff(cfg, 1.0, now=0.0)
    changes = [v2.on_share(1.0, 0.1 * (i + 1), network_difficulty=5.0) for i in range(20)]
    assert [c for c in changes if c is not None] == [5.0]
    # under a step too fast: the whole window is measured (20 shares in 20 s: ideal 10)
    v5 = Vardiff(cfg, 1.0, now=0.0)
    changes = [v5.on_share(1.0, 1.0 * (i + 1), network_difficulty=None) for i in range(20)]
    assert [c for c in changes if c is not None] == [10.0] and changes[19] == 10.0
    # steady rate on target: no change
    v3 = Vardiff(cfg, 1.0, now=0.0)
    assert all(v3.on_share(1.0, 10.0 * (i + 1), None) is None for i in range(6))
    # idle decay halves, down to the floor, fractional
    v4 = Vardiff(cfg, 1e-7, now=0.0)
    assert v4.on_idle(100.0, None) is None
    assert v4.on_idle(121.0, None) == 5e-8
    assert v4.on_idle(242.0, None) == 2.5e-8
    for k in range(3, 10):
        v4.on_idle(121.0 * k, None)
    assert v4.difficulty == 1e-8


@given(st.integers(0, 10**16), st.dictionaries(st.text(min_size=1, max_size=5), st.floats(0, 1e12), max_size=20))
def test_split_is_exact(amount: int, weights: dict[str, float]) -> None:
    parts = split_proportional(amount, weights)
    if sum(w for w in weights.values() if w > 0) > 0 and amount > 0:
        assert sum(parts.values()) == amount
    assert all(v > 0 for v in parts.values())


def test_split_and_fees() -> None:
    assert split_proportional(100, {"a": 1, "b": 2}) == {"a": 33, "b": 67}
    assert split_proportional(10, {"a": 1, "b": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}
    assert fee_amount(50_0000_0000, 1.0) == 5000_0000
    assert fee_amount(50_0000_0000, 0.5) == 2500_0000
    assert pps_credits({"a": 1000.9, "b": 0.5}, 1.0) == {"a": 990}
    script, fee_script = b"\x51", b"\x52"
    assert payout_outputs(1000, script, 2.0, fee_script) == [(script, 980), (fee_script, 20)]
    assert payout_outputs(1000, script, 2.0, None) == [(script, 1000)]


def test_extranonce_prefix_resume_and_no_collisions() -> None:
    a, b = ExtranonceAllocator(1), ExtranonceAllocator(2)
    xs = {a.allocate(now=0) for _ in range(1000)}
    ys = {b.allocate(now=0) for _ in range(1000)}
    assert len(xs) == len(ys) == 1000 and not xs & ys
    assert all(x[0] == 1 and len(x) == 4 for x in xs)
    en1 = next(iter(xs))
    a.release(en1, now=0)
    assert a.allocate(en1.hex(), now=10) == en1  # resumed
    a.release(en1, now=10)
    assert a.allocate(en1.hex(), now=10_000) != en1  # parked too long: not resumable


def test_hashrate_units() -> None:
    assert hashrate(1.0, 1.0) == 2**32
    assert format_hashrate(hashrate(600, 600)) == "4.29 GH/s"
    assert format_hashrate(5e18) == "5 EH/s"
    assert format_hashrate(2.5e21) == "2.5e+03 EH/s"
    assert format_hashrate(12.0) == "12 H/s"
    assert format_hashrate(hashrate(1.0, 1.0, scrypt=True)) == "65.5 kH/s"


def test_config_file_and_flags(tmp_path: Path) -> None:
    f = tmp_path / "pool.toml"
    f.write_text('network = "devnet"\n[accounting]\nscheme = "prop"\npool_address = "x"\nfee_percent = 2\n'
                 '[vardiff]\ntarget_interval = 5\n[connector]\nport = 4444\n')
    cfg = load_config(f, **{"connector.port": 5555, "accounting.fee_percent": None})
    assert cfg.network == "devnet" and cfg.accounting.scheme is Scheme.PROP
    assert cfg.accounting.fee_percent == 2.0 and cfg.connector.port == 5555 and cfg.vardiff.target_interval == 5.0
    with pytest.raises(ConfigError):
        load_config(None, **{"accounting.scheme": "pplns"})  # no pool address
    with pytest.raises(ConfigError):
        load_config(None, **{"accounting.scheme": "solo", "connector.bogus": 1})


def test_migrations_match_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    assert diff == []
    engine.dispose()
