"""`hashforge contracts ...` on a scripted farm's pool database: farm, create (and refusals with a
one-line error), list, cancel, capacity, allocations, customer-key; `--json` everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hashforge.cli import app
from hashforge.pool.contracts.cli import parse_hashrate
from hashforge.services.keys import KEYS_FILE, KeyStore, Scope

from .books import CUST_A, FARM_HPS, OP
from .served import scripted

runner = CliRunner()


def run(datadir: Path, *args: str, code: int = 0) -> Any:
    r = runner.invoke(app, ["contracts", "--datadir", str(datadir), *args])
    assert r.exit_code == code, (r.output, r.stderr)
    if code:
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
        return lines[0]
    return json.loads(r.stdout) if "--json" in args else r.stdout


def test_parse_hashrate() -> None:
    assert parse_hashrate("500M") == 500_000_000 and parse_hashrate("1.5 TH/s") == 1_500_000_000_000
    assert parse_hashrate("2000") == 2000
    for bad in ("", "-1", "1.5", "0", "12X"):
        try:
            parse_hashrate(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


@pytest.mark.slow
def test_contracts_commands(tmp_path: Path) -> None:
    land, a, b = scripted(tmp_path)
    land.engine.dispose()
    d = tmp_path
    assert run(d, "farm", "--json")["addresses"] == [OP]
    cap = run(d, "capacity", "--json")
    assert abs(cap["measured_hps"] - FARM_HPS) / FARM_HPS < 0.01 and cap["sold_hps"] == 0
    rows = run(d, "list", "--json")
    assert [r["id"] for r in rows] == [a, b] and all(r["state"] == "expired" for r in rows)
    assert "alice" in run(d, "list")
    made = run(d, "create", "--customer", "carol", "--name", "Carol", "--address", CUST_A, "--hashrate", "100M",
               "--days", "7", "--price-fiat", "99.90", "--currency", "USD", "--fee-percent", "2", "--json")
    assert made["hashrate_hps"] == 100_000_000 and made["price_fiat"] == "99.90" and made["state"] == "active"
    assert run(d, "list", "--customer", "carol", "--json")[0]["id"] == made["id"]
    # refusals: one line on stderr, nothing written
    over = run(d, "create", "--customer", "dave", "--address", CUST_A, "--hashrate", "2G", "--days", "1", code=1)
    assert "over-selling refused" in over
    assert "not a valid address" in run(d, "create", "--customer", "dave", "--address", "xyz", "--hashrate", "1M",
                                        "--days", "1", code=2)
    assert "hash rate" in run(d, "create", "--customer", "dave", "--address", CUST_A, "--hashrate", "fast",
                              "--days", "1", code=2)
    assert "past" in run(d, "create", "--customer", "dave", "--address", CUST_A, "--hashrate", "1M", "--days", "1",
                         "--start", "2020-01-01T00:00:00", code=2)
    assert len(run(d, "list", "--json")) == 3
    assert run(d, "cancel", str(made["id"]), "--json")["state"] == "cancelled"
    assert "cancelled already" in run(d, "cancel", str(made["id"]), code=1)
    assert "no contract 99" in run(d, "cancel", "99", code=1)
    journal = run(d, "allocations", str(a), "--json")
    assert len(journal) == 3 and sum(j["net"] for j in journal) == rows[0]["earned_sat"]
    periods = run(d, "allocations", "--json")
    assert len(periods) == 4 and sum(p["allocated"] for p in periods) == rows[0]["earned_sat"] + rows[1]["earned_sat"]
    assert "operator" in run(d, "allocations")
    key = run(d, "customer-key", "alice", "--api-datadir", str(tmp_path / "api"), "--json")
    store = KeyStore(tmp_path / "api" / KEYS_FILE)
    try:
        found = store.verify(key["token"])
        assert found is not None and found.customer == "alice" and found.scopes == {Scope.CUSTOMER}
        assert not found.allows(Scope.READ)
    finally:
        store.close()
    assert "no customer" in run(d, "customer-key", "nobody", "--api-datadir", str(tmp_path / "api"), code=1)
    # the API's --config names the key table as `hashforge api --config` reads it; --api-datadir wins over it
    api_toml = tmp_path / "api.toml"
    api_toml.write_text(f'datadir = "{tmp_path / "api2"}"\n')
    key = run(d, "customer-key", "alice", "--api-config", str(api_toml), "--json")
    store = KeyStore(tmp_path / "api2" / KEYS_FILE)
    try:
        assert store.verify(key["token"]) is not None
    finally:
        store.close()
    key = run(d, "customer-key", "alice", "--api-config", str(api_toml), "--api-datadir", str(tmp_path / "api"), "--json")
    store = KeyStore(tmp_path / "api" / KEYS_FILE)
    try:
        assert key["name"] in {k.name for k in store.list()}
    finally:
        store.close()
    api_toml.write_text('port = "x"\n')
    assert run(d, "customer-key", "alice", "--api-config", str(api_toml), code=2).startswith(
        f"error: bad configuration: {api_toml}:port: Input should be a valid integer")
    set_farm = run(d, "farm", "--address", OP, "--capacity", "1M", "--json")
    assert set_farm["capacity_hps"] == 1_000_000
    assert run(d, "capacity", "--json")["capacity_hps"] == 1_000_000


def test_missing_database_is_one_line_as_a_process(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "hashforge", "contracts", "--datadir", str(tmp_path), "list"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [f"error: no pool database at {tmp_path}/pool.sqlite3 "
                                                                   "(use --datadir of `hashforge pool`, or --database-url)"]
