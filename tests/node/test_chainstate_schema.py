"""The chainstate's schema version (hashforge/schema.py): new, from before versions, from a newer hashforge."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from hashforge.consensus.params import REGTEST
from hashforge.node.chain import ChainManager
from hashforge.node.chainstate import CHAINSTATE_SCHEMA, ChainStateDB
from tests.helpers.schemafiles import digest, make_newer, user_version

# The chainstate as the first hashforge wrote it: meta schema_version 1, no user_version, no txindex.
OLD_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE block_index (hash BLOB PRIMARY KEY, height INTEGER NOT NULL, header BLOB NOT NULL,
    chainwork BLOB NOT NULL, status INTEGER NOT NULL, seq INTEGER NOT NULL, file_no INTEGER,
    data_pos INTEGER, data_len INTEGER, n_tx INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE utxo (txid BLOB NOT NULL, n INTEGER NOT NULL, value INTEGER NOT NULL, script BLOB NOT NULL,
    height INTEGER NOT NULL, coinbase INTEGER NOT NULL, PRIMARY KEY (txid, n)) WITHOUT ROWID;
CREATE TABLE undo (hash BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
INSERT INTO meta VALUES ('network', X'72656774657374'), ('schema_version', X'31');
INSERT INTO utxo VALUES (X'01', 0, 5000, X'51', 1, 1);
"""



def test_a_new_chainstate_gets_the_latestuser_version(tmp_path: Path) -> None:
    chain = ChainManager(REGTEST, tmp_path)
    chain.close()
    assert user_version(tmp_path / "chainstate.sqlite") == CHAINSTATE_SCHEMA.version
    ChainManager(REGTEST, tmp_path).close()  # and opens again


def test_a_chainstate_from_before_versions_is_adopted_with_its_coins(tmp_path: Path) -> None:
    path = tmp_path / "chainstate.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.close()
    db = ChainStateDB(path, "regtest", 0)
    try:
        assert db.conn.execute("SELECT value FROM utxo WHERE txid = X'01'").fetchone() == (5000,)
        assert db.conn.execute("SELECT COUNT(*) FROM txindex").fetchone() == (0,)  # the table it lacked
    finally:
        db.close()
    assert user_version(path) == CHAINSTATE_SCHEMA.version


def test_the_node_refuses_a_chainstate_from_a_newer_hashforge(tmp_path: Path) -> None:
    ChainManager(REGTEST, tmp_path).close()
    path = tmp_path / "chainstate.sqlite"
    before = make_newer(path, CHAINSTATE_SCHEMA.version + 5)
    proc = subprocess.run(
        [sys.executable, "-m", "hashforge", "node", "--network", "regtest", "--datadir", str(tmp_path),
         "--rpc-port", "0", "--no-listen"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"error: {path} was written by a newer hashforge (schema {CHAINSTATE_SCHEMA.version + 5}, "
                     f"this version knows up to {CHAINSTATE_SCHEMA.version}): upgrade hashforge or use another datadir"]
    assert "Traceback" not in proc.stderr
    assert digest(path) == before
