"""Mnemonic validation, watch-only accounts, addresses on every hashforge network (Litecoin's and
Dogecoin's BIP44/84 coin types included)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hashforge.consensus.address import decode_address
from hashforge.consensus.params import DEVNET, MAINNET, NETWORKS, REGTEST, SCRYPTNET, get_params
from hashforge.wallet.errors import InvalidKeyError, InvalidMnemonicError
from hashforge.wallet.keys import (
    CHANGE,
    RECEIVE,
    Keyring,
    ScriptType,
    path_str,
    validate_mnemonic,
    wallet_script_types,
    watch_only_account,
)

ABANDON = "abandon " * 11 + "about"


@pytest.mark.parametrize(
    ("mnemonic", "reason"),
    [
        ("abandon " * 11 + "abandon", "checksum"),
        ("abandon " * 11 + "zzzz", "position 12"),
        ("abandon " * 10 + "about", "11"),
        ("", "0"),
    ],
)
def test_bad_mnemonics(mnemonic: str, reason: str) -> None:
    with pytest.raises(InvalidMnemonicError, match=reason) as e:
        validate_mnemonic(mnemonic)
    assert "\n" not in str(e.value) and "zzzz" not in str(e.value)  # never echoes the words


def test_mnemonic_normalization() -> None:
    assert validate_mnemonic("  ABANDON " * 11 + " About\n") == ABANDON


# Segwit kinds on every network that has them (Dogecoin has none: its P2PKH test is below).
@pytest.mark.parametrize(
    "params", [p for p in NETWORKS.values() if p.has_segwit_addresses], ids=lambda p: p.name
)
def test_addresses_on_every_network(params: object) -> None:
    keyring = Keyring.from_mnemonic(ABANDON, "", params)  # type: ignore[arg-type]
    for st in (ScriptType.P2WPKH, ScriptType.P2TR):
        acc = keyring.account(st, params)  # type: ignore[arg-type]
        addr = acc.address(RECEIVE, 0, params)  # type: ignore[arg-type]
        assert addr.startswith(params.bech32_hrp + "1")  # type: ignore[attr-defined]
        assert decode_address(addr, params).script_pubkey == acc.derive(RECEIVE, 0).script_pubkey  # type: ignore[arg-type]


def test_network_prefixes() -> None:
    for params, hrp in ((DEVNET, "hfd1q"), (SCRYPTNET, "hfs1q"), (REGTEST, "bcrt1q")):
        acc = Keyring.from_mnemonic(ABANDON, "", params).account(ScriptType.P2WPKH, params)
        assert acc.address(RECEIVE, 0, params).startswith(hrp)
        assert acc.origin[1] == 0x80000001  # coin type 1 on test networks


def test_bip39_passphrase_changes_keys() -> None:
    a = Keyring.from_mnemonic(ABANDON, "", REGTEST)
    b = Keyring.from_mnemonic(ABANDON, "TREZOR", REGTEST)
    assert a.fingerprint != b.fingerprint
    assert "secret" not in repr(a) and a.fingerprint.hex() in repr(a)


def test_watch_only_from_xpub_zpub_and_descriptor() -> None:
    full = Keyring.from_mnemonic(ABANDON, "", REGTEST).account(ScriptType.P2WPKH, REGTEST)
    want = [full.derive(c, i).script_pubkey for c in (RECEIVE, CHANGE) for i in range(3)]
    from embit import bip32
    from embit.networks import NETWORKS as EN

    vpub = bip32.HDKey.from_base58(full.xpub).to_base58(version=EN["test"]["zpub"])
    for text in (full.xpub, vpub, full.descriptor(), full.descriptor().split("#")[0]):
        acc = watch_only_account(text, REGTEST)
        assert acc.script_type is ScriptType.P2WPKH
        assert [acc.derive(c, i).script_pubkey for c in (RECEIVE, CHANGE) for i in range(3)] == want
    desc = watch_only_account(full.descriptor(), REGTEST)
    assert desc.fingerprint == full.fingerprint and desc.origin == full.origin
    tr = Keyring.from_mnemonic(ABANDON, "", REGTEST).account(ScriptType.P2TR, REGTEST)
    assert watch_only_account(tr.descriptor(), REGTEST).derive(0, 5) == tr.derive(0, 5)


@pytest.mark.parametrize(
    "text",
    [
        "not a key",
        "sh(wpkh(tpubDC8msFGeGuwnKG9Upg7DM2b4DaRqg3CUZa5g8v2SRQ6K4NSkxUgd7HsL2XVWbVm39yBA4LAxysQAm397zwQSQoQgewGiYZqrA9DsP4zbQ1M/0/*))",
        "wpkh(tpubDC8msFGeGuwnKG9Upg7DM2b4DaRqg3CUZa5g8v2SRQ6K4NSkxUgd7HsL2XVWbVm39yBA4LAxysQAm397zwQSQoQgewGiYZqrA9DsP4zbQ1M/5/*)",
        "tprv8ZgxMBicQKsPd7Uf69XL1XwhmjHopUGep8GuEiJDZmbQz6o58LninorQAfcKZWARbtRtfnLcJ5MQ2AtHcQJCCRUcMRvmDUjyEmNUWwx8UbK",
    ],
)
def test_watch_only_rejects(text: str) -> None:
    with pytest.raises(InvalidKeyError):
        watch_only_account(text, REGTEST)


def test_watch_only_wrong_network() -> None:
    main = Keyring.from_mnemonic(ABANDON, "", MAINNET).account(ScriptType.P2WPKH, MAINNET)
    with pytest.raises(InvalidKeyError, match="another network"):
        watch_only_account(main.xpub, REGTEST)


# The BIP39 "abandon ... about" vector's first receive addresses on Litecoin and Dogecoin, as
# Trust Wallet Core's and Ledger Live's tests publish them (SLIP-44 coin types 2 and 3).
@pytest.mark.parametrize(
    ("network", "script_type", "path", "address"),
    [
        ("litecoin", ScriptType.P2WPKH, "m/84h/2h/0h", "ltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c2rkk4wh"),
        ("litecoin", ScriptType.P2PKH, "m/44h/2h/0h", "LUWPbpM43E2p7ZSh8cyTBEkvpHmr3cB8Ez"),
        ("dogecoin", ScriptType.P2PKH, "m/44h/3h/0h", "DBus3bamQjgJULBJtYXpEzDWQRwF5iwxgC"),
        ("dogecoin-regtest", ScriptType.P2PKH, "m/44h/1h/0h", None),
        ("litecoin-regtest", ScriptType.P2WPKH, "m/84h/1h/0h", None),
    ],
)
def test_litecoin_and_dogecoin_accounts(network: str, script_type: ScriptType, path: str, address: str | None) -> None:
    params = get_params(network)
    assert script_type in wallet_script_types(params)
    acc = Keyring.from_mnemonic(ABANDON, "", params).account(script_type, params)
    assert path_str(acc.origin) == path
    got = acc.address(RECEIVE, 0, params)
    if address is not None:
        assert got == address
    assert decode_address(got, params).script_pubkey == acc.derive(RECEIVE, 0).script_pubkey
    if params.coin == "DOGE":
        assert wallet_script_types(params) == (ScriptType.P2PKH,)  # no segwit on Dogecoin
        assert got[0] in "Dmn"
    elif params.name == "litecoin-regtest":
        assert got.startswith("rltc1q")


def test_dogecoin_dgub_watch_only_reads_as_the_same_account() -> None:
    """Dogecoin Core's dgub (02facafd) imports; the wallet keeps it in xpub form for embit."""
    from embit import base58  # type: ignore[import-untyped]

    params = get_params("dogecoin")
    acc = Keyring.from_mnemonic(ABANDON, "", params).account(ScriptType.P2PKH, params)
    dgub = base58.encode_check(params.xpub_version + base58.decode_check(acc.xpub)[4:])
    assert dgub.startswith("dgub")
    watched = watch_only_account(dgub, params, ScriptType.P2PKH)
    assert watched.address(RECEIVE, 0, params) == "DBus3bamQjgJULBJtYXpEzDWQRwF5iwxgC"
    desc = watch_only_account(acc.descriptor(), params)
    assert desc.script_type is ScriptType.P2PKH and desc.address(RECEIVE, 0, params) == "DBus3bamQjgJULBJtYXpEzDWQRwF5iwxgC"
    with pytest.raises(InvalidKeyError):  # a Bitcoin testnet key is for another network
        watch_only_account(Keyring.from_mnemonic(ABANDON, "", REGTEST).account(ScriptType.P2WPKH, REGTEST).xpub, params)


def test_a_kind_the_network_lacks_is_bad_input(tmp_path: Path) -> None:
    """A Dogecoin wallet has only P2PKH: asking it for a segwit address is bad input (CLI exit 2)."""
    from hashforge.wallet import BadInputError, ScryptParams, Wallet

    w, _ = Wallet.create(tmp_path / "doge", get_params("dogecoin-regtest"), "pw", kdf=ScryptParams(log_n=10))
    with w:
        assert w.new_address()[0] in "mn"
        with pytest.raises(BadInputError, match=r"no wpkh account \(it has: pkh\)"):
            w.new_address(ScriptType.P2WPKH)
