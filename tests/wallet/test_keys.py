"""Mnemonic validation, watch-only accounts, addresses on every hashforge network."""

from __future__ import annotations

import pytest

from hashforge.consensus.address import decode_address
from hashforge.consensus.params import DEVNET, MAINNET, NETWORKS, REGTEST, SCRYPTNET
from hashforge.wallet.errors import InvalidKeyError, InvalidMnemonicError
from hashforge.wallet.keys import (
    CHANGE,
    RECEIVE,
    Keyring,
    ScriptType,
    validate_mnemonic,
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


# Dogecoin has no segwit and its own extended-key versions: the wallet does not serve it yet.
@pytest.mark.parametrize(
    "params", [p for p in NETWORKS.values() if p.has_segwit_addresses], ids=lambda p: p.name
)
def test_addresses_on_every_network(params: object) -> None:
    keyring = Keyring.from_mnemonic(ABANDON, "", params)  # type: ignore[arg-type]
    for st in ScriptType:
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
