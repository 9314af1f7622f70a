"""`hashforge pool balances | blocks | aux-address` on a real pool database, as processes: books per
coin from the database alone (the pool's network as the running pool recorded it), one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from hashforge.consensus.address import AddressType, Destination, encode_address
from hashforge.consensus.params import DOGECOIN_REGTEST, LITECOIN_REGTEST
from hashforge.pool.accounting import Accountant
from hashforge.pool.config import AccountingConfig, Scheme
from hashforge.pool.db import AuxAddressRepository, StateRepository, make_engine, migrate
from hashforge.pool.db.repositories import ShareRepository
from hashforge.pool.records import BlockFound, ShareRecord

from .test_accounting import Chain

DOGE = "dogecoin-regtest"
MINER = encode_address(Destination(AddressType.P2WPKH, bytes(range(20)), 0), LITECOIN_REGTEST)
DOGE_A = encode_address(Destination(AddressType.P2PKH, bytes(range(20))), DOGECOIN_REGTEST)
DOGE_B = encode_address(Destination(AddressType.P2PKH, bytes(range(1, 21))), DOGECOIN_REGTEST)


def _hashforge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hashforge", "pool", *args], capture_output=True, text=True,
                          timeout=60)


def _pool_db(datadir: Path) -> None:
    """A litecoin-regtest pool's books: one LTC block and one DOGE block credited to MINER."""
    datadir.mkdir()
    engine = make_engine(f"sqlite:///{datadir / 'pool.sqlite3'}")
    migrate(engine)
    cfg = AccountingConfig(scheme=Scheme.PROP, pool_address="pool", fee_percent=0.0)
    with engine.begin() as conn:
        StateRepository.set(conn, "network", "litecoin-regtest")
        ShareRepository.insert_many(conn, [ShareRecord(time.time(), 0, MINER, "w", 1.0, 1.0, 1.0, 5, 1000,
                                                       b"\x01" * 32, True, (DOGE,))])  # of a job with DOGE work
    Accountant(engine, cfg, Chain(), 100).record_block(
        BlockFound(time.time(), 0, 5, b"\x11" * 32, MINER, "w", 1000, 65536.0, None, pow_hash=b"\x01" * 32))
    Accountant(engine, cfg, Chain(), 60, network=DOGE).record_block(
        BlockFound(time.time(), 0, 21, b"\x22" * 32, MINER, "w", 7000, 65536.0, None, pow_hash=b"\x01" * 32,
                   chain=DOGE))
    for net in (None, DOGE):
        Accountant(engine, cfg, Chain(), 60, network=net).credit_blocks()
    engine.dispose()


def test_balances_and_blocks_per_coin(tmp_path: Path) -> None:
    _pool_db(tmp_path / "pool")
    proc = _hashforge("balances", "--datadir", str(tmp_path / "pool"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [
        {"address": MINER, "coin": "LTC", "network": "litecoin-regtest", "payable": 0, "immature": 1000, "paid": 0},
        {"address": MINER, "coin": "DOGE", "network": DOGE, "payable": 0, "immature": 7000, "paid": 0,
         "payout_address": None}]
    text = _hashforge("balances", MINER, "--coin", "doge", "--datadir", str(tmp_path / "pool")).stdout
    assert "DOGE" in text and "7,000" in text and "(none named)" in text and "LTC " not in text
    blocks = json.loads(_hashforge("blocks", "--coin", "DOGE", "--datadir", str(tmp_path / "pool"), "--json").stdout)
    assert [(b["coin"], b["network"], b["height"], b["reward"], b["status"]) for b in blocks] == [
        ("DOGE", DOGE, 21, 7000, "pending")]
    assert blocks[0]["network_difficulty"] == 1.0  # shown in the chain's units (stored in scrypt share units)


def test_aux_address_is_changed_by_the_operator_with_one_line_errors(tmp_path: Path) -> None:
    _pool_db(tmp_path / "pool")
    datadir = ["--datadir", str(tmp_path / "pool")]
    proc = _hashforge("aux-address", MINER, DOGE, DOGE_A, *datadir, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"address": MINER, "network": DOGE, "coin": "DOGE", "payout_address": DOGE_A,
                                       "previous": None}
    proc = _hashforge("aux-address", MINER, DOGE, DOGE_B, *datadir)
    assert proc.stdout.strip() == f"{MINER}: DOGE payouts go to {DOGE_B} (was {DOGE_A})"
    engine = make_engine(f"sqlite:///{tmp_path / 'pool' / 'pool.sqlite3'}")
    with engine.connect() as conn:
        assert AuxAddressRepository.of_address(conn, MINER) == {DOGE: DOGE_B}
    engine.dispose()
    for args, code, message in [
        ((MINER, DOGE, MINER), 1, f"error: {MINER!r} is not a dogecoin-regtest address"),
        ((MINER, "litecoin-regtest", DOGE_A), 2, "error: litecoin-regtest is not a merge-mined (AuxPoW) network"),
        ((MINER, "nonet", DOGE_A), 2, "error: "),
    ]:
        proc = _hashforge("aux-address", *args, *datadir)
        assert proc.returncode == code, proc.stderr
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(message), proc.stderr
    proc = _hashforge("balances", "--datadir", str(tmp_path / "nowhere"))
    assert proc.returncode == 2 and proc.stderr.startswith("error: no pool database at "), proc.stderr


def test_an_aux_wallet_needs_its_aux_chain(tmp_path: Path) -> None:
    proc = _hashforge("--network", "litecoin-regtest", "--node-rpc", "http://u:p@127.0.0.1:9/", "--scheme", "solo", "--datadir",
                      str(tmp_path / "pool"), "--aux-wallet-dir", f"{DOGE}={tmp_path / 'w'}")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: bad configuration: --aux-wallet-dir: '{DOGE}' is not the network of an aux chain (--aux-chain)"]


def test_books_and_contracts_read_the_pools_config(tmp_path: Path) -> None:
    """`pool balances|blocks|aux-address` and `contracts` take the pool's `--config` (its datadir,
    database and network) and $HASHFORGE_POOL_*, as `hashforge pool --config` reads them; flags typed
    win; a bad file is one line naming its source."""
    _pool_db(tmp_path / "pool")
    f = tmp_path / "pool.toml"
    f.write_text(f'network = "litecoin-regtest"\ndatadir = "{tmp_path / "pool"}"\n[accounting]\nscheme = "solo"\n')
    config = ["--config", str(f)]
    proc = _hashforge("balances", *config, "--json")
    assert proc.returncode == 0, proc.stderr
    assert [(r["coin"], r["immature"]) for r in json.loads(proc.stdout)] == [("LTC", 1000), ("DOGE", 7000)]
    blocks = json.loads(_hashforge("blocks", "--coin", "DOGE", *config, "--json").stdout)
    assert [b["height"] for b in blocks] == [21]
    assert _hashforge("aux-address", MINER, DOGE, DOGE_A, *config).returncode == 0
    contracts = [sys.executable, "-m", "hashforge", "contracts", *config]
    proc = subprocess.run([*contracts, "farm", "--address", MINER, "--json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and json.loads(proc.stdout)["addresses"] == [MINER], proc.stderr  # an LTC address
    # the environment over the file, a flag typed over both
    env = {**os.environ, "HASHFORGE_POOL_DATADIR": str(tmp_path / "nowhere")}
    proc = subprocess.run([sys.executable, "-m", "hashforge", "pool", "balances", *config], capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 2 and proc.stderr.startswith(f"error: no pool database at {tmp_path / 'nowhere'}")
    proc = subprocess.run([sys.executable, "-m", "hashforge", "pool", "balances", *config, "--datadir",
                           str(tmp_path / "pool"), "--json"], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0 and len(json.loads(proc.stdout)) == 2, proc.stderr
    f.write_text('[connector]\nport = "x"\n')
    for args in (["pool", "blocks", *config], ["contracts", *config, "list"]):
        proc = subprocess.run([sys.executable, "-m", "hashforge", *args], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
            f"error: bad configuration: {f}:connector.port: Input should be a valid integer, unable to parse string "
            "as an integer (got 'x')"], proc.stderr
