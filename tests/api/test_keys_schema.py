"""The API key table's schema version (hashforge/schema.py): new, from before versions (the table
before customer keys, which an ad-hoc ALTER used to extend), from a newer hashforge."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hashforge.services.keys import KEYS_FILE, KEYS_SCHEMA, KeyStore, KeyStoreError, Scope
from tests.helpers.nodeproc import free_port
from tests.helpers.schemafiles import digest, make_newer, user_version
from tests.vectorfiles import REPO_ROOT

SECRET = "s" * 43
# The table as the first API release created it: no customer column, no user_version.
OLD_SCHEMA = f"""
CREATE TABLE api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL, created INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
INSERT INTO api_keys VALUES ('00112233aabbccdd', 'ops', 'control,read', X'{hashlib.sha256(SECRET.encode()).hexdigest()}',
    1700000000, 0);
"""



def _newer(path: Path) -> str:
    return make_newer(path, KEYS_SCHEMA.version + 1)


def _message(path: Path) -> str:
    return (f"{path} was written by a newer hashforge (schema {KEYS_SCHEMA.version + 1}, this version knows up to "
            f"{KEYS_SCHEMA.version}): upgrade hashforge or use another datadir")


def test_a_new_key_table_gets_the_latestuser_version(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / KEYS_FILE)
    key, token = store.create("c", frozenset({Scope.CUSTOMER}), customer="cust-1")
    assert store.verify(token) == key and key.customer == "cust-1"
    store.close()
    assert user_version(tmp_path / KEYS_FILE) == KEYS_SCHEMA.version


def test_a_key_table_from_before_customer_keys_is_migrated_and_its_keys_still_work(tmp_path: Path) -> None:
    path = tmp_path / KEYS_FILE
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.close()
    store = KeyStore(path)
    try:
        key = store.verify(f"hfk_00112233aabbccdd_{SECRET}")
        assert key is not None and key.name == "ops" and key.scopes == {Scope.CONTROL, Scope.READ}
        assert key.customer is None
        _, token = store.create("c", frozenset({Scope.CUSTOMER}), customer="cust-1")  # the column it lacked
        assert store.verify(token) is not None
    finally:
        store.close()
    assert user_version(path) == KEYS_SCHEMA.version


def test_a_key_table_from_a_newer_hashforge_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / KEYS_FILE
    KeyStore(path).close()
    before = _newer(path)
    with pytest.raises(KeyStoreError) as e:
        KeyStore(path)
    assert str(e.value) == _message(path)
    assert digest(path) == before


def test_the_api_and_api_key_commands_refuse_a_key_table_from_a_newer_hashforge(tmp_path: Path) -> None:
    path = tmp_path / KEYS_FILE
    KeyStore(path).close()
    before = _newer(path)
    commands = [
        ["api-key", "list", "--network", "regtest", "--datadir", str(tmp_path)],
        ["api", "--network", "regtest", "--datadir", str(tmp_path), "--no-ops", "--node-rpc",
         f"http://127.0.0.1:{free_port()}/", "--node-user", "u", "--node-password", "long-enough-password",
         "--port", str(free_port())],
    ]
    for args in commands:
        proc = subprocess.run([sys.executable, "-m", "hashforge", *args], capture_output=True, text=True, timeout=60,
                              cwd=REPO_ROOT)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and lines[0].endswith(_message(path)), lines
    assert digest(path) == before
