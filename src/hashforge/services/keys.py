"""API keys: random tokens shown once, stored as SHA-256 hashes in a small SQLite table.

A token is `hfk_<id>_<secret>`: `id` (8 bytes, hex) finds the row, `secret` (32 random bytes,
base64url) is checked against the stored hash in constant time. A 256-bit random secret needs no
slow hash (scrypt protects guessable passwords, not random tokens). Revoked keys stay in the table.

The table is re-read when another process changes it (`PRAGMA data_version`), so a key minted by
`hashforge api-key create` works in a running API at once.

A customer key (scope `customer`, bound to one cloud-mining customer id) reads only that customer's
contracts (`/v1/pool/contracts/me`); every other route refuses it (403), reads included.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hashforge.schema import Schema, SchemaError, migrate, table_columns

TOKEN_PREFIX = "hfk_"
KEYS_FILE = "api_keys.sqlite3"  # in the API's datadir


class Scope(enum.StrEnum):
    READ = "read"  # every GET
    CONTROL = "control"  # change how things run: switch pool, throttle, restart a part
    SPEND = "spend"  # move money: wallet send, payouts
    CUSTOMER = "customer"  # a cloud-mining customer: its own contracts only (never with another scope)


class KeyStoreError(Exception):
    """A key cannot be created, found or revoked."""


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    scopes: frozenset[Scope]
    created: int
    revoked: bool
    customer: str | None = None  # set for customer keys

    def allows(self, scope: Scope) -> bool:
        """Every key but a customer key may read; control and spend must be granted by name."""
        if self.customer is not None:
            return False  # customer routes check the binding themselves (httpedge.access.CustomerAccess)
        return not self.revoked and (scope is Scope.READ or scope in self.scopes)


def parse_scopes(text: str | Iterable[str]) -> frozenset[Scope]:
    parts = [p.strip().lower() for p in (text.split(",") if isinstance(text, str) else text)]
    parts = [p for p in parts if p]
    if not parts:
        raise KeyStoreError("at least one scope is needed: read, control, spend (or customer)")
    try:
        return frozenset(Scope(p) for p in parts)
    except ValueError:
        bad = sorted(set(parts) - {s.value for s in Scope})
        raise KeyStoreError(f"unknown scope(s) {', '.join(bad)}; known: read, control, spend, customer") from None


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _adopt(conn: sqlite3.Connection) -> int | None:
    """A key table from before user_version: version 2 if it has customer keys' column, else 1."""
    columns = table_columns(conn, "api_keys")
    return None if not columns else 2 if "customer" in columns else 1


# A change to the table is a new step at the end (hashforge/schema.py).
KEYS_SCHEMA = Schema("API key", (
    """CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        scopes TEXT NOT NULL,
        secret_sha256 BLOB NOT NULL,
        created INTEGER NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
    )""",
    "ALTER TABLE api_keys ADD COLUMN customer TEXT",  # customer keys
), _adopt)


class KeyStore:
    """The keys table; thread-safe (one connection guarded by a lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 5000")
        try:
            migrate(self._db, KEYS_SCHEMA, path)
        except SchemaError as e:  # NewerSchema: a newer hashforge wrote it
            self._db.close()
            raise KeyStoreError(str(e)) from None
        with contextlib.suppress(OSError):
            path.chmod(0o600)
        self._version: tuple[int, int] | None = None
        self._cache: dict[str, tuple[bytes, ApiKey]] = {}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create(self, name: str, scopes: frozenset[Scope], customer: str | None = None) -> tuple[ApiKey, str]:
        """Mints a key; returns it and the token, which is never stored and cannot be shown again.
        A customer key has exactly the `customer` scope and a customer id."""
        name = name.strip()
        if not name or len(name) > 64 or not name.isprintable():
            raise KeyStoreError("a key name is 1..64 printable characters")
        if (customer is not None) != (Scope.CUSTOMER in scopes):
            raise KeyStoreError("the customer scope goes with a customer id, and only with it")
        if customer is not None:
            if scopes != {Scope.CUSTOMER}:
                raise KeyStoreError("a customer key has no other scope")
            if not customer or len(customer) > 64 or not customer.isprintable():
                raise KeyStoreError("a customer id is 1..64 printable characters")
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        key = ApiKey(key_id, name, scopes, int(time.time()), False, customer)
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO api_keys (id, name, scopes, secret_sha256, created, customer) VALUES (?, ?, ?, ?, ?, ?)",
                    (key_id, name, ",".join(sorted(scopes)), _hash(secret), key.created, customer),
                )
            except sqlite3.IntegrityError:
                raise KeyStoreError(f"a key named {name!r} exists already") from None
        return key, f"{TOKEN_PREFIX}{key_id}_{secret}"

    def revoke(self, name: str) -> None:
        with self._lock:
            cur = self._db.execute("UPDATE api_keys SET revoked = 1 WHERE name = ?", (name,))
        if cur.rowcount == 0:
            raise KeyStoreError(f"no key named {name!r}")

    def list(self) -> list[ApiKey]:
        with self._lock:
            self._refresh()
            return sorted((k for _, k in self._cache.values()), key=lambda k: (k.created, k.name))

    def verify(self, token: str) -> ApiKey | None:
        """The key a token belongs to, if the token is valid and the key not revoked."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        key_id, sep, secret = token[len(TOKEN_PREFIX):].partition("_")
        if not sep or len(key_id) != 16:
            return None
        with self._lock:
            self._refresh()
            row = self._cache.get(key_id)
        if row is None:
            hmac.compare_digest(_hash(secret), _hash(""))  # same work whether or not the id exists
            return None
        digest, key = row
        if not hmac.compare_digest(_hash(secret), digest) or key.revoked:
            return None
        return key

    def _refresh(self) -> None:
        """Caller holds the lock. Reloads the table if any connection changed it."""
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        total = self._db.total_changes
        if (version, total) == self._version:
            return
        rows = self._db.execute(
            "SELECT id, name, scopes, secret_sha256, created, revoked, customer FROM api_keys").fetchall()
        self._cache = {
            r[0]: (bytes(r[3]), ApiKey(r[0], r[1], parse_scopes(r[2]), int(r[4]), bool(r[5]), r[6])) for r in rows
        }
        self._version = (version, total)


class KeyStoreUnavailable(KeyStoreError):
    """The key table in an API datadir cannot be opened."""


def mint_customer_key(api_datadir: Path, customer: str, name: str | None = None) -> tuple[ApiKey, str]:
    """A key that reads only `customer`'s contracts, in the key table of `api_datadir` (the token is shown once).

    The one place customer keys are minted outside a running API (`hashforge contracts customer-key`);
    KeyStoreUnavailable when the table cannot be opened, KeyStoreError when the key is refused.
    """
    try:
        store = KeyStore(api_datadir / KEYS_FILE)
    except (OSError, KeyStoreError) as e:
        raise KeyStoreUnavailable(f"cannot open the API key table in {api_datadir}: {e}") from e
    try:
        return store.create(name or f"customer-{customer}-{secrets.token_hex(3)}", frozenset({Scope.CUSTOMER}),
                            customer=customer)
    finally:
        store.close()
