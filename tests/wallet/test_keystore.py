"""Keystore: round trip, wrong passphrase, tampering, permissions, atomic writes, no leaks."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from hashforge.wallet.errors import KeystoreCorruptError, KeystoreError, WrongPassphraseError
from hashforge.wallet.fsutil import atomic_write
from hashforge.wallet.keystore import Keystore, KeystoreSecret, ScryptParams

FAST = ScryptParams(log_n=10)
MNEMONIC = "abandon " * 11 + "about"
SECRET = KeystoreSecret(MNEMONIC, "bip39 pass")


@pytest.fixture
def ks(tmp_path: Path) -> Keystore:
    k = Keystore(tmp_path / "keystore.json")
    k.create(SECRET, "correct horse", FAST)
    return k


def test_round_trip_and_file_mode(ks: Keystore) -> None:
    assert ks.open("correct horse") == SECRET
    assert stat.S_IMODE(os.stat(ks.path).st_mode) == 0o600
    text = ks.path.read_text()
    assert "abandon" not in text and "bip39 pass" not in text
    assert [p.name for p in ks.path.parent.iterdir()] == ["keystore.json"]  # no temp files left


def test_wrong_passphrase(ks: Keystore) -> None:
    with pytest.raises(WrongPassphraseError, match="wrong passphrase") as e:
        ks.open("incorrect horse")
    assert "horse" not in str(e.value)


@pytest.mark.parametrize("field", ["ciphertext", "nonce", "check", "log_n"])
def test_tampered_file(ks: Keystore, field: str) -> None:
    doc = json.loads(ks.path.read_text())
    if field == "ciphertext":
        ct = bytearray.fromhex(doc["ciphertext"])
        ct[5] ^= 1
        doc["ciphertext"] = ct.hex()
    elif field == "nonce":
        doc["cipher"]["nonce"] = "00" * 12
    elif field == "check":
        doc["check"] = "11" * 32
    else:
        doc["kdf"]["log_n"] = 11
    ks.path.write_text(json.dumps(doc))
    with pytest.raises((KeystoreCorruptError, WrongPassphraseError)) as e:
        ks.open("correct horse")
    if field in ("ciphertext", "nonce"):  # the passphrase was right: authentication failed
        assert isinstance(e.value, KeystoreCorruptError) and "authentication failed" in str(e.value)


def test_damaged_or_hostile_files(ks: Keystore) -> None:
    ks.path.write_text("{not json")
    with pytest.raises(KeystoreCorruptError):
        ks.open("x")
    doc = {"format": "hashforge-keystore", "version": 1, "kdf": {"name": "scrypt", "log_n": 40, "r": 8, "p": 1, "salt": "00" * 16},
           "cipher": {"name": "chacha20-poly1305", "nonce": "00" * 12}, "check": "00" * 32, "ciphertext": "00" * 40}
    ks.path.write_text(json.dumps(doc))
    with pytest.raises(KeystoreCorruptError, match="out-of-range"):  # no 2^40 scrypt from a tampered file
        ks.open("x")


def test_refuses_to_overwrite(ks: Keystore) -> None:
    before = ks.path.read_bytes()
    with pytest.raises(KeystoreError, match="already exists"):
        ks.create(KeystoreSecret("other"), "pw", FAST)
    assert ks.path.read_bytes() == before


def test_change_passphrase(ks: Keystore) -> None:
    ks.change_passphrase("correct horse", "battery staple", FAST)
    assert ks.open("battery staple") == SECRET
    with pytest.raises(WrongPassphraseError):
        ks.open("correct horse")


def test_atomic_write_failure_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f"
    atomic_write(path, b"old")

    def boom(*_a: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_repr_hides_secrets(ks: Keystore) -> None:
    assert "abandon" not in repr(SECRET) and "bip39" not in repr(SECRET)
    assert "abandon" not in repr(ks)
