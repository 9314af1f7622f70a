"""The wallet database's operations for sending (wallet/sending.py asks these, never SQL): recording
a signed transaction, our output behind an input, a live descendant, following fee bumps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hashforge.wallet.db import TxStatus, WalletDB

OURS = bytes.fromhex("0014" + "11" * 20)
CHANGE = bytes.fromhex("0014" + "22" * 20)
THEIRS = bytes.fromhex("0014" + "33" * 20)
FUNDING, PAYMENT, CHILD = "aa" * 32, "bb" * 32, "cc" * 32


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[WalletDB]:
    db = WalletDB(tmp_path / "wallet.sqlite")
    account = db.add_account("p2wpkh", "tpub-test", "00000000", "m/84'/1'/0'")
    db.add_addresses([(OURS, account, 0, 0, "addr-0", b"\x02" * 33), (CHANGE, account, 1, 0, "change-0", b"\x03" * 33)])
    db.upsert_tx(FUNDING, TxStatus.CONFIRMED, height=101, coinbase=True)
    db.add_output(FUNDING, 1, 50_000, OURS)
    yield db
    db.close()


def _pay(db: WalletDB) -> None:
    """PAYMENT spends FUNDING:1, pays 30,000 to someone else and 19,000 back to our change."""
    db.record_sent(PAYMENT, b"raw-payment", 1_000, 141, [(FUNDING, 1)], [(1, 19_000, CHANGE)])


def test_record_sent_reserves_the_inputs_and_keeps_our_outputs(db: WalletDB) -> None:
    assert [(r.txid, r.n) for r in db.unspent()] == [(FUNDING, 1)]
    _pay(db)
    row = db.tx(PAYMENT)
    assert row is not None
    assert (row.status, row.fee, row.vsize, row.raw) == (TxStatus.SIGNED, 1_000, 141, b"raw-payment")
    assert db.spent_by(PAYMENT) == [(FUNDING, 1)]
    assert [(r.txid, r.n, r.value, r.trusted) for r in db.unspent()] == [(PAYMENT, 1, 19_000, True)]
    change = db.address_row(CHANGE)
    assert change is not None and change.used


def test_our_output_is_found_spent_or_not(db: WalletDB) -> None:
    _pay(db)
    spent = db.our_output(FUNDING, 1)  # spent by PAYMENT: no longer in unspent(), still ours
    assert spent is not None
    assert (spent.value, spent.script, spent.status, spent.height, spent.coinbase) == (
        50_000, OURS, TxStatus.CONFIRMED, 101, True)
    assert (spent.account, spent.chain, spent.index, spent.trusted) == (1, 0, 0, False)
    assert db.our_output(FUNDING, 0) is None  # not an output of ours
    assert db.our_output(PAYMENT, 0) is None  # an output, but to someone else


def test_active_spender_sees_only_descendants_that_still_count(db: WalletDB) -> None:
    _pay(db)
    assert db.active_spender(PAYMENT) is None
    db.record_sent(CHILD, b"raw-child", 500, 110, [(PAYMENT, 1)], [])
    assert db.active_spender(PAYMENT) == CHILD
    assert db.active_spender(FUNDING) == PAYMENT
    db.set_status(CHILD, TxStatus.ABANDONED)
    assert db.active_spender(PAYMENT) is None


def test_latest_replacement_follows_fee_bumps(db: WalletDB) -> None:
    _pay(db)
    assert db.latest_replacement(PAYMENT) == PAYMENT
    assert db.latest_replacement("dd" * 32) == "dd" * 32  # unknown: itself
    db.record_sent(CHILD, b"raw-bump", 2_000, 141, [(FUNDING, 1)], [(1, 18_000, CHANGE)])
    db.set_status(PAYMENT, TxStatus.REPLACED, replaced_by=CHILD)
    assert db.latest_replacement(PAYMENT) == CHILD
    db.set_status(CHILD, TxStatus.REPLACED, replaced_by=PAYMENT)  # a loop (never written by us) ends
    assert db.latest_replacement(PAYMENT) == PAYMENT
