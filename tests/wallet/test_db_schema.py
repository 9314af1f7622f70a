"""The wallet database's schema version (hashforge/schema.py): new, from before versions, from a newer hashforge."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hashforge.consensus.params import REGTEST
from hashforge.wallet.db import WALLET_SCHEMA, WalletDB
from hashforge.wallet.errors import BadInputError
from hashforge.wallet.keystore import ScryptParams
from hashforge.wallet.wallet import DB_FILE, Wallet
from tests.helpers.schemafiles import digest, make_newer, user_version
from tests.vectorfiles import REPO_ROOT

FAST_KDF = ScryptParams(log_n=10)

# Part of the wallet database as the first hashforge wrote it: meta schema_version '1', no user_version.
OLD_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE blocks(height INTEGER PRIMARY KEY, hash TEXT NOT NULL);
CREATE TABLE outputs(txid TEXT NOT NULL, n INTEGER NOT NULL, value INTEGER NOT NULL, script BLOB NOT NULL,
    PRIMARY KEY(txid, n));
INSERT INTO meta VALUES ('schema_version', '1'), ('network', 'regtest');
INSERT INTO blocks VALUES (7, 'aa');
INSERT INTO outputs VALUES ('bb', 1, 12345, X'51');
"""



def test_a_new_wallet_gets_the_latestuser_version(tmp_path: Path) -> None:
    w, _ = Wallet.create(tmp_path / "w", REGTEST, "pw", kdf=FAST_KDF)
    w.close()
    assert user_version(tmp_path / "w" / DB_FILE) == WALLET_SCHEMA.version
    Wallet.open(tmp_path / "w", REGTEST).close()


def test_a_wallet_from_before_versions_is_adopted_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / DB_FILE
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.close()
    db = WalletDB(path)
    try:
        assert db.query("SELECT height, hash FROM blocks") == [(7, "aa")]
        assert db.query("SELECT value FROM outputs") == [(12345,)]
        assert db.query("SELECT COUNT(*) FROM txs") == [(0,)]  # the tables it lacked
        assert db.get_meta("schema_version") == str(WALLET_SCHEMA.version)
    finally:
        db.close()
    assert user_version(path) == WALLET_SCHEMA.version


def test_the_wallet_cli_refuses_a_wallet_from_a_newer_hashforge(tmp_path: Path) -> None:
    w, _ = Wallet.create(tmp_path / "w", REGTEST, "pw", kdf=FAST_KDF)
    w.close()
    path = tmp_path / "w" / DB_FILE
    before = make_newer(path, WALLET_SCHEMA.version + 1)
    with pytest.raises(BadInputError, match="was written by a newer hashforge"):  # what the API and pool handle
        Wallet.open(tmp_path / "w", REGTEST)
    proc = subprocess.run(
        [sys.executable, "-m", "hashforge", "wallet", "info", "-n", "regtest", "--datadir", str(tmp_path / "w")],
        capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: {path} was written by a newer hashforge (schema {WALLET_SCHEMA.version + 1}, this version knows "
        f"up to {WALLET_SCHEMA.version}): upgrade hashforge or use another datadir"]
    assert digest(path) == before
