"""BIP39 / BIP32 / BIP84 / BIP86 public vectors (tests/data), every one of them."""

from __future__ import annotations

import unicodedata

import pytest
from embit import bip32, bip39

from hashforge.consensus.address import address_to_script, encode_wif
from hashforge.consensus.params import MAINNET
from hashforge.wallet.errors import InvalidKeyError
from hashforge.wallet.keys import (
    CHANGE,
    RECEIVE,
    Keyring,
    ScriptType,
    generate_mnemonic,
    mnemonic_to_seed,
    root_key,
    validate_mnemonic,
    watch_only_account,
)
from tests.vectorfiles import load_json

BIP39 = load_json("bip39/vectors.json")
BIP32 = load_json("bips/bip32_vectors.json")
BIP8486 = load_json("bips/bip49_84_86_vectors.json")


@pytest.mark.parametrize("vector", BIP39["english"], ids=lambda v: v[1][:24])
def test_bip39_english(vector: list[str]) -> None:
    entropy, mnemonic, seed, xprv = vector
    assert bip39.mnemonic_from_bytes(bytes.fromhex(entropy)) == mnemonic
    assert validate_mnemonic(mnemonic) == mnemonic
    assert mnemonic_to_seed(mnemonic, "TREZOR").hex() == seed
    assert root_key(bytes.fromhex(seed), MAINNET).to_base58() == xprv


@pytest.mark.parametrize("lang", [k for k in BIP39 if k != "english"])
def test_bip39_other_languages_seed_and_root(lang: str) -> None:
    """The wallet speaks English mnemonics; the seed function (NFKD + PBKDF2) is language-free."""
    for _entropy, mnemonic, seed, xprv in BIP39[lang]:
        s = bip39.mnemonic_to_seed(unicodedata.normalize("NFKD", mnemonic), "TREZOR", wordlist=None)
        assert s.hex() == seed
        assert root_key(s, MAINNET).to_base58() == xprv


@pytest.mark.parametrize("vector", BIP32["valid"], ids=lambda v: f"vector{v['vector']}")
def test_bip32_valid(vector: dict) -> None:
    root = root_key(bytes.fromhex(vector["seed_hex"]), MAINNET)
    for chain in vector["chains"]:
        key = root.derive(chain["indexes"]) if chain["indexes"] else root
        assert key.to_base58() == chain["ext_prv"], chain["path"]
        assert key.to_public().to_base58() == chain["ext_pub"], chain["path"]
        assert root.derive(chain["path"]).to_base58() == chain["ext_prv"]


@pytest.mark.parametrize("vector", BIP32["invalid"], ids=lambda v: v["reason"])
def test_bip32_invalid_rejected(vector: dict) -> None:
    with pytest.raises(Exception):  # noqa: B017 - embit raises HDError/ECError/ValueError by case
        bip32.HDKey.from_base58(vector["key"])
    with pytest.raises(InvalidKeyError):  # and the wallet's own entry point says so in one line
        watch_only_account(vector["key"], MAINNET)


def _sections(bip: str) -> list[dict]:
    return BIP8486[bip]["sections"]


def test_bip84_vectors() -> None:
    v = BIP8486["bip84"]
    mnemonic = v["header"]["mnemonic"]
    assert validate_mnemonic(mnemonic) == mnemonic
    root = root_key(mnemonic_to_seed(mnemonic), MAINNET)
    zprv = bip32.HDKey.from_base58(v["header"]["rootpriv"])
    assert root.key.secret == zprv.key.secret and root.chain_code == zprv.chain_code
    assert root.to_public().to_base58(version=zprv.to_public().version) == v["header"]["rootpub"]
    account = Keyring(root).account(ScriptType.P2WPKH, MAINNET)
    acct_sec = _sections("bip84")[0]
    zpub = bip32.HDKey.from_base58(acct_sec["xpub"])
    assert account.hdkey.to_base58(version=zpub.version) == acct_sec["xpub"]
    assert root.derive("m/84h/0h/0h").to_base58(version=bip32.HDKey.from_base58(acct_sec["xpriv"]).version) == acct_sec["xpriv"]
    for sec, (chain, index) in zip(_sections("bip84")[1:], [(RECEIVE, 0), (RECEIVE, 1), (CHANGE, 0)], strict=True):
        d = account.derive(chain, index)
        assert d.pubkey.hex() == sec["pubkey"]
        assert account.address(chain, index, MAINNET) == sec["address"]
        assert d.script_pubkey == address_to_script(sec["address"], MAINNET)
        assert encode_wif(Keyring(root).private_key(d.path), MAINNET) == sec["privkey"]


def test_bip86_vectors() -> None:
    v = BIP8486["bip86"]
    root = root_key(mnemonic_to_seed(v["header"]["mnemonic"]), MAINNET)
    assert root.to_base58() == v["header"]["rootpriv"]
    assert root.to_public().to_base58() == v["header"]["rootpub"]
    account = Keyring(root).account(ScriptType.P2TR, MAINNET)
    acct = _sections("bip86")[0]
    assert account.xpub == acct["xpub"]
    assert root.derive("m/86h/0h/0h").to_base58() == acct["xprv"]
    for sec, (chain, index) in zip(_sections("bip86")[1:], [(RECEIVE, 0), (RECEIVE, 1), (CHANGE, 0)], strict=True):
        d = account.derive(chain, index)
        assert root.derive(list(d.path)).to_base58() == sec["xprv"]
        assert d.xonly.hex() == sec["internal_key"]
        assert d.script_pubkey.hex() == sec["scriptPubKey"]
        assert d.script_pubkey[2:].hex() == sec["output_key"]
        assert account.address(chain, index, MAINNET) == sec["address"]


def test_generated_mnemonics_are_valid() -> None:
    for words in (12, 24):
        m = generate_mnemonic(words)
        assert len(m.split()) == words and validate_mnemonic(m) == m
