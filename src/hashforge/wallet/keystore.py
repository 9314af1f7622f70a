"""The encrypted keystore: the BIP39 mnemonic (and BIP39 passphrase) under a passphrase.

File format (JSON, mode 0600, written atomically):

    {"format": "hashforge-keystore", "version": 1,
     "kdf": {"name": "scrypt", "log_n": 17, "r": 8, "p": 1, "salt": hex16},
     "cipher": {"name": "chacha20-poly1305", "nonce": hex12},
     "check": hex32, "ciphertext": hex}

scrypt turns the passphrase into 64 bytes: the first 32 are the ChaCha20-Poly1305 key, the
SHA-256 of the last 32 is `check`. A `check` mismatch means a wrong passphrase (a guess still
costs one scrypt run, as for the AEAD itself); a right passphrase whose decryption fails
authentication means the file was altered. The header (format, version, kdf, cipher, check) is
the AEAD's associated data, so no field can be changed without detection.
"""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .errors import KeystoreCorruptError, KeystoreError, WrongPassphraseError
from .fsutil import atomic_write

FORMAT = "hashforge-keystore"
VERSION = 1
DEFAULT_LOG_N = 17  # N = 131072, r = 8: 128 MiB and a few tenths of a second per unlock
MIN_LOG_N, MAX_LOG_N = 10, 22  # bounds a tampered file's demand for memory and time
MIN_PASSPHRASE_LEN = 1


@dataclass(frozen=True)
class ScryptParams:
    log_n: int = DEFAULT_LOG_N
    r: int = 8
    p: int = 1

    def validate(self) -> None:
        if not MIN_LOG_N <= self.log_n <= MAX_LOG_N or not 1 <= self.r <= 32 or not 1 <= self.p <= 16:
            raise KeystoreError(f"scrypt parameters out of range (log_n {MIN_LOG_N}..{MAX_LOG_N}, r 1..32, p 1..16)")


@dataclass(frozen=True)
class KeystoreSecret:
    """What the keystore protects. repr shows nothing secret."""

    mnemonic: str
    bip39_passphrase: str = ""

    def __repr__(self) -> str:
        return "KeystoreSecret(<hidden>)"


def _derive(passphrase: str, salt: bytes, params: ScryptParams) -> bytes:
    if len(passphrase) < MIN_PASSPHRASE_LEN:
        raise WrongPassphraseError("the keystore passphrase must not be empty")
    pw = unicodedata.normalize("NFC", passphrase).encode()
    kdf = Scrypt(salt=salt, length=64, n=1 << params.log_n, r=params.r, p=params.p)
    return kdf.derive(pw)


def _aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def encrypt(secret: KeystoreSecret, passphrase: str, params: ScryptParams | None = None) -> bytes:
    params = params or ScryptParams()
    params.validate()
    salt, nonce = os.urandom(16), os.urandom(12)
    okm = _derive(passphrase, salt, params)
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "kdf": {"name": "scrypt", "log_n": params.log_n, "r": params.r, "p": params.p, "salt": salt.hex()},
        "cipher": {"name": "chacha20-poly1305", "nonce": nonce.hex()},
        "check": hashlib.sha256(okm[32:]).hexdigest(),
    }
    plaintext = json.dumps({"mnemonic": secret.mnemonic, "bip39_passphrase": secret.bip39_passphrase}).encode()
    ct = ChaCha20Poly1305(okm[:32]).encrypt(nonce, plaintext, _aad(header))
    return (json.dumps({**header, "ciphertext": ct.hex()}, indent=1) + "\n").encode()


def _parse(data: bytes) -> tuple[dict[str, Any], ScryptParams, bytes, bytes, bytes]:
    try:
        doc = json.loads(data)
        if doc.get("format") != FORMAT:
            raise KeystoreCorruptError("not a hashforge keystore file")
        if doc.get("version") != VERSION:
            raise KeystoreCorruptError(f"unsupported keystore version {doc.get('version')!r}")
        kdf, cipher = doc["kdf"], doc["cipher"]
        if kdf["name"] != "scrypt" or cipher["name"] != "chacha20-poly1305":
            raise KeystoreCorruptError("unsupported keystore algorithms")
        params = ScryptParams(int(kdf["log_n"]), int(kdf["r"]), int(kdf["p"]))
        salt, nonce = bytes.fromhex(kdf["salt"]), bytes.fromhex(cipher["nonce"])
        check, ct = bytes.fromhex(doc["check"]), bytes.fromhex(doc["ciphertext"])
        header = {k: doc[k] for k in ("format", "version", "kdf", "cipher", "check")}
    except KeystoreCorruptError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError):
        raise KeystoreCorruptError("keystore file is damaged (does not parse)") from None
    if len(nonce) != 12 or len(salt) < 8 or len(check) != 32:
        raise KeystoreCorruptError("keystore file is damaged (bad field sizes)")
    try:
        params.validate()
    except KeystoreError:
        raise KeystoreCorruptError("keystore file has out-of-range scrypt parameters") from None
    return header, params, salt, nonce, ct + check


def decrypt(data: bytes, passphrase: str) -> KeystoreSecret:
    header, params, salt, nonce, rest = _parse(data)
    ct, check = rest[:-32], rest[-32:]
    okm = _derive(passphrase, salt, params)
    if hashlib.sha256(okm[32:]).digest() != check:
        raise WrongPassphraseError("wrong passphrase for the wallet keystore")
    try:
        plaintext = ChaCha20Poly1305(okm[:32]).decrypt(nonce, ct, _aad(header))
    except InvalidTag:
        raise KeystoreCorruptError("keystore authentication failed: the file was altered or damaged") from None
    try:
        doc = json.loads(plaintext)
        return KeystoreSecret(str(doc["mnemonic"]), str(doc.get("bip39_passphrase", "")))
    except (ValueError, KeyError, TypeError):
        raise KeystoreCorruptError("keystore content does not parse") from None


class Keystore:
    """The keystore file of one wallet."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def exists(self) -> bool:
        return self.path.exists()

    def create(self, secret: KeystoreSecret, passphrase: str, params: ScryptParams | None = None) -> None:
        """Writes a new keystore; refuses to overwrite an existing one."""
        try:
            atomic_write(self.path, encrypt(secret, passphrase, params), overwrite=False)
        except FileExistsError:
            raise KeystoreError(f"a keystore already exists at {self.path}") from None

    def change_passphrase(self, old: str, new: str, params: ScryptParams | None = None) -> None:
        secret = self.open(old)
        atomic_write(self.path, encrypt(secret, new, params))

    def open(self, passphrase: str) -> KeystoreSecret:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise KeystoreError(f"no keystore at {self.path}") from None
        except OSError as e:
            raise KeystoreError(f"cannot read the keystore: {e.strerror}") from None
        return decrypt(data, passphrase)

    def __repr__(self) -> str:
        return f"Keystore({str(self.path)!r})"
