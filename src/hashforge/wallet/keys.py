"""HD keys: BIP39 mnemonics, BIP32 accounts (BIP84 P2WPKH, BIP86 P2TR, BIP44 P2PKH), watch-only accounts.

embit does the BIP39/BIP32/descriptor work; this module adds what hashforge needs on top of it:
addresses for every hashforge network (built with `hashforge.consensus.address`, since embit's
network tables do not know devnet/scryptnet), clear errors, and nothing secret in a repr.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from embit import base58, bip32, bip39  # type: ignore[import-untyped]
from embit.descriptor import Descriptor  # type: ignore[import-untyped]
from embit.descriptor.checksum import add_checksum  # type: ignore[import-untyped]
from embit.networks import NETWORKS as EMBIT_NETWORKS  # type: ignore[import-untyped]

from hashforge.consensus.address import p2pkh_script, p2tr_script, p2wpkh_script, script_to_address
from hashforge.consensus.hashes import hash160
from hashforge.consensus.params import ChainParams
from hashforge.consensus.taproot import taproot_output_key

from .errors import InvalidKeyError, InvalidMnemonicError

HARDENED = 0x80000000
RECEIVE, CHANGE = 0, 1
_WORDS = frozenset(bip39.WORDLIST)
_ENTROPY_BYTES = {12: 16, 15: 20, 18: 24, 21: 28, 24: 32}


class ScriptType(StrEnum):
    """The single-key output types the wallet derives (descriptor function names)."""

    P2WPKH = "wpkh"  # BIP84, the default
    P2TR = "tr"  # BIP86, key path only
    P2PKH = "pkh"  # BIP44, legacy: the only kind on networks without segwit (Dogecoin)

    @property
    def purpose(self) -> int:
        return {ScriptType.P2WPKH: 84, ScriptType.P2TR: 86, ScriptType.P2PKH: 44}[self]

    @property
    def is_witness(self) -> bool:
        return self is not ScriptType.P2PKH

    @property
    def input_weight(self) -> int:
        """Weight units of a signed input spending this type (outpoint, sequence, witness)."""
        # 41 non-witness bytes x4; P2WPKH witness: count, 72-byte sig max, 33-byte key;
        # P2TR key path: count + 64-byte Schnorr signature (SIGHASH_DEFAULT); P2PKH: the same
        # signature and key pushed in the scriptSig (1 + 72 + 1 + 33 = 107 bytes, all x4).
        if self is ScriptType.P2PKH:
            return 4 * (41 + 107)
        return 164 + (1 + 1 + 72 + 1 + 33) if self is ScriptType.P2WPKH else 164 + (1 + 1 + 64)


def wallet_script_types(params: ChainParams) -> tuple[ScriptType, ...]:
    """The accounts a new wallet on `params` gets, default first: Bitcoin's BIP84 + BIP86,
    Litecoin's BIP84 + BIP44 (its L/m addresses are what many exchanges still ask for), and
    BIP44 P2PKH alone on networks without segwit (Dogecoin)."""
    if not params.has_segwit_addresses:
        return (ScriptType.P2PKH,)
    if params.coin == "LTC":
        return (ScriptType.P2WPKH, ScriptType.P2PKH)
    return (ScriptType.P2WPKH, ScriptType.P2TR)


# --- BIP39 -------------------------------------------------------------------------------------


def normalize_mnemonic(mnemonic: str) -> str:
    """NFKD, lower case, single spaces (BIP39 hashes the NFKD form)."""
    return " ".join(unicodedata.normalize("NFKD", mnemonic).lower().split())


def validate_mnemonic(mnemonic: str) -> str:
    """The normalized mnemonic, or InvalidMnemonicError saying what is wrong (never echoing it)."""
    norm = normalize_mnemonic(mnemonic)
    words = norm.split()
    if len(words) not in _ENTROPY_BYTES:
        raise InvalidMnemonicError(
            f"a mnemonic has 12, 15, 18, 21 or 24 words, this one has {len(words)}"
        )
    unknown = [i + 1 for i, w in enumerate(words) if w not in _WORDS]
    if unknown:
        where = ", ".join(str(i) for i in unknown[:5])
        raise InvalidMnemonicError(f"word(s) at position {where} not in the BIP39 English wordlist")
    try:
        bip39.mnemonic_to_bytes(norm)
    except ValueError:
        raise InvalidMnemonicError("mnemonic checksum does not match (a word is wrong or out of order)") from None
    return norm


def generate_mnemonic(words: int = 24) -> str:
    if words not in _ENTROPY_BYTES:
        raise InvalidMnemonicError(f"word count must be one of 12, 15, 18, 21, 24, not {words}")
    return str(bip39.mnemonic_from_bytes(secrets.token_bytes(_ENTROPY_BYTES[words])))


def mnemonic_to_seed(mnemonic: str, passphrase: str = "") -> bytes:
    """BIP39 seed (PBKDF2-HMAC-SHA512 over the NFKD forms); validates the mnemonic first."""
    norm = validate_mnemonic(mnemonic)
    return bytes(bip39.mnemonic_to_seed(norm, unicodedata.normalize("NFKD", passphrase)))


# --- networks and paths ----------------------------------------------------------------------


def _embit_net(params: ChainParams) -> dict[str, bytes]:
    """embit's version table for the network's extended keys (ours reuse mainnet's or testnet's)."""
    return EMBIT_NETWORKS["main" if xpub_version(params) == EMBIT_NETWORKS["main"]["xpub"] else "test"]  # type: ignore[no-any-return]


# Dogecoin mainnet's own versions (dgpv/dgub) do not read as "?prv"/"?pub", which embit requires of
# every extended key; the wallet keeps such a network's keys in Bitcoin mainnet's versions (xprv/xpub,
# as most multi-coin wallets show Dogecoin keys) and takes a dgub on import.
_EMBIT_SAFE_PREFIXES = {bytes.fromhex(v) for v in ("0488b21e", "0488ade4", "043587cf", "04358394")}


def xpub_version(params: ChainParams) -> bytes:
    v = params.xpub_version
    return v if v in _EMBIT_SAFE_PREFIXES else bytes(EMBIT_NETWORKS["main"]["xpub"])


def xprv_version(params: ChainParams) -> bytes:
    v = params.xprv_version
    return v if v in _EMBIT_SAFE_PREFIXES else bytes(EMBIT_NETWORKS["main"]["xprv"])


def _as_embit_xpub(text: str, params: ChainParams) -> str:
    """A key in the network's own xpub version that embit cannot read (a dgub) in the one it can."""
    if params.xpub_version in _EMBIT_SAFE_PREFIXES:
        return text
    try:
        raw = base58.decode_check(text)
    except Exception:
        return text
    if raw[:4] != params.xpub_version:
        return text
    return str(base58.encode_check(xpub_version(params) + raw[4:]))


_MAINNET_COIN_TYPES = {"mainnet": 0, "litecoin": 2, "dogecoin": 3}  # SLIP-44


def coin_type(params: ChainParams) -> int:
    """SLIP-44 coin type: Bitcoin 0, Litecoin 2, Dogecoin 3 on their main networks; 1 on every
    test network (theirs and hashforge's)."""
    return _MAINNET_COIN_TYPES.get(params.name, 1)


def account_path(script_type: ScriptType, params: ChainParams, account: int = 0) -> tuple[int, ...]:
    return (script_type.purpose | HARDENED, coin_type(params) | HARDENED, account | HARDENED)


def path_str(path: tuple[int, ...] | list[int]) -> str:
    return "m" + "".join(f"/{i & ~HARDENED}h" if i & HARDENED else f"/{i}" for i in path)


def parse_path(path: str) -> tuple[int, ...]:
    try:
        return tuple(bip32.parse_path(path.replace("'", "h")))
    except Exception:
        raise InvalidKeyError(f"not a derivation path: {path!r}") from None


# --- accounts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DerivedKey:
    """One address of an account: its public key(s), output script and full derivation path."""

    chain: int
    index: int
    pubkey: bytes  # compressed 33-byte key (for P2TR the untweaked internal key's point)
    script_pubkey: bytes
    path: tuple[int, ...]  # from the master key

    @property
    def xonly(self) -> bytes:
        return self.pubkey[1:]


@dataclass(frozen=True)
class Account:
    """A BIP32 account (xpub at m/purpose'/coin'/account') of one script type; public only."""

    script_type: ScriptType
    xpub: str  # base58 in the network's xpub version
    fingerprint: bytes  # master key fingerprint (4 bytes)
    origin: tuple[int, ...]  # path of the account key from the master
    _cache: dict[int, bip32.HDKey] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def hdkey(self) -> bip32.HDKey:
        return bip32.HDKey.from_base58(self.xpub)

    def _chain_key(self, chain: int) -> bip32.HDKey:
        key = self._cache.get(chain)
        if key is None:
            key = self._cache[chain] = self.hdkey.child(chain)
        return key

    def derive(self, chain: int, index: int) -> DerivedKey:
        if chain not in (RECEIVE, CHANGE) or not 0 <= index < HARDENED:
            raise ValueError(f"bad derivation {chain}/{index}")
        pub = bytes(self._chain_key(chain).child(index).sec())
        if self.script_type is ScriptType.P2WPKH:
            spk = p2wpkh_script(hash160(pub))
        elif self.script_type is ScriptType.P2PKH:
            spk = p2pkh_script(hash160(pub))
        else:
            spk = p2tr_script(taproot_output_key(pub[1:], None)[0])
        return DerivedKey(chain, index, pub, spk, (*self.origin, chain, index))

    def address(self, chain: int, index: int, params: ChainParams) -> str:
        addr = script_to_address(self.derive(chain, index).script_pubkey, params)
        assert addr is not None
        return addr

    def descriptor(self, chain: int | None = None) -> str:
        """Output descriptor with key origin and checksum; both chains as <0;1> when chain is None."""
        origin = self.fingerprint.hex() + "".join(path_str(self.origin)[1:])
        tail = "<0;1>" if chain is None else str(chain)
        return str(add_checksum(f"{self.script_type.value}([{origin}]{self.xpub}/{tail}/*)"))

    @classmethod
    def from_root(cls, root: bip32.HDKey, script_type: ScriptType, params: ChainParams, account: int = 0) -> Account:
        origin = account_path(script_type, params, account)
        xpub = root.derive(list(origin)).to_public()
        return cls(script_type, xpub.to_base58(version=xpub_version(params)), bytes(root.my_fingerprint), origin)


def root_key(seed: bytes, params: ChainParams) -> bip32.HDKey:
    return bip32.HDKey.from_seed(seed, version=xprv_version(params))


def _slip132_type(version: bytes) -> ScriptType | None:
    for net in ("main", "test"):
        table = EMBIT_NETWORKS[net]
        if version in (table["zpub"], table["Zpub"]):
            return ScriptType.P2WPKH
    return None


def _check_network(key: bip32.HDKey, params: ChainParams, text: str) -> None:
    versions = {v for k, v in _embit_net(params).items() if k.endswith("pub")}
    if key.version not in versions:
        raise InvalidKeyError(f"extended key {text[:4]}… is for another network than {params.name}")
    if key.is_private:
        raise InvalidKeyError("a watch-only wallet takes a public key (xpub), not a private one")


def watch_only_account(text: str, params: ChainParams, script_type: ScriptType | None = None) -> Account:
    """An account from an xpub/tpub/zpub/vpub or a wpkh()/tr() descriptor.

    Descriptors may carry a key origin ([fingerprint/path]) and end in /<0;1>/* or /0/*; a bare
    extended key is taken as the account key itself, of `script_type` (default: P2WPKH; a zpub
    or vpub says P2WPKH by its version).
    """
    text = text.strip()
    if "(" in text:
        return _account_from_descriptor(text, params)
    try:
        key = bip32.HDKey.from_base58(_as_embit_xpub(text, params))
    except Exception as e:
        raise InvalidKeyError(f"not an extended public key or descriptor: {_reason(e)}") from None
    _check_network(key, params, text)
    implied = _slip132_type(key.version)
    if implied is not None and script_type not in (None, implied):
        raise InvalidKeyError(f"a {text[:4]} key is for P2WPKH, not {script_type.value}")
    st = script_type or implied or ScriptType.P2WPKH
    canonical = bip32.HDKey(key.key, key.chain_code, version=xpub_version(params), depth=key.depth,
                            fingerprint=key.fingerprint, child_number=key.child_number)
    return Account(st, canonical.to_base58(), bytes(key.my_fingerprint), ())


def _reason(e: Exception) -> str:
    return " ".join(str(e).split())[:120] or type(e).__name__


def _account_from_descriptor(text: str, params: ChainParams) -> Account:
    try:
        desc = Descriptor.from_string(text)
    except Exception as e:
        raise InvalidKeyError(f"not a valid descriptor: {_reason(e)}") from None
    body = text.split("#", 1)[0].strip()
    if body.startswith("wpkh(") and desc.is_segwit and not desc.is_wrapped:
        st = ScriptType.P2WPKH
    elif body.startswith("tr(") and desc.is_taproot and "," not in body:
        st = ScriptType.P2TR
    elif body.startswith("pkh(") and not desc.is_segwit:
        st = ScriptType.P2PKH
    else:
        raise InvalidKeyError("only wpkh(KEY), pkh(KEY) and key-path tr(KEY) descriptors are supported")
    if len(desc.keys) != 1:
        raise InvalidKeyError("the descriptor must have exactly one key")
    dkey = desc.keys[0]
    if not dkey.is_extended:
        raise InvalidKeyError("the descriptor key must be an extended public key (xpub)")
    tail = str(dkey.allowed_derivation) if dkey.allowed_derivation is not None else ""
    if tail not in ("/<0;1>/*", "/0/*"):
        raise InvalidKeyError(f"the descriptor key must end in /<0;1>/* or /0/*, not {tail or 'nothing'}")
    key: bip32.HDKey = dkey.key
    _check_network(key, params, str(key.to_base58()))
    canonical = bip32.HDKey(key.key, key.chain_code, version=xpub_version(params), depth=key.depth,
                            fingerprint=key.fingerprint, child_number=key.child_number)
    if dkey.origin is not None:
        fingerprint, origin = bytes(dkey.origin.fingerprint), tuple(dkey.origin.derivation)
    else:
        fingerprint, origin = bytes(key.my_fingerprint), ()
    return Account(st, canonical.to_base58(), fingerprint, origin)


class Keyring:
    """The master private key in memory, for signing. Its repr shows only the fingerprint."""

    __slots__ = ("_root",)

    def __init__(self, root: bip32.HDKey) -> None:
        if not root.is_private:
            raise InvalidKeyError("a keyring needs a private master key")
        self._root = root

    @classmethod
    def from_mnemonic(cls, mnemonic: str, passphrase: str, params: ChainParams) -> Keyring:
        return cls(root_key(mnemonic_to_seed(mnemonic, passphrase), params))

    @property
    def fingerprint(self) -> bytes:
        return bytes(self._root.my_fingerprint)

    def account(self, script_type: ScriptType, params: ChainParams, account: int = 0) -> Account:
        return Account.from_root(self._root, script_type, params, account)

    def private_key(self, path: tuple[int, ...]) -> bytes:
        """32-byte secret at `path` from the master key."""
        return bytes(self._root.derive(list(path)).key.secret)

    def __repr__(self) -> str:
        return f"Keyring(fingerprint={self.fingerprint.hex()})"
