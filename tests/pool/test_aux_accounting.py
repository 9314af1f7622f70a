"""Merged mining's books, one per coin, on real SQLite and PostgreSQL databases with scripted
chains: an aux chain's blocks are credited by the pool's scheme in that coin (PPLNS over that
chain's difficulty, PROP over that chain's round, SOLO to the finder, PPS at that chain's value),
mature and are orphaned by that chain's node alone, and never touch the parent coin's balances.
Only shares whose job carried an aux chain's work count in that coin (not those made while its
node was away); the parent's books count every share. Miners' aux payout addresses come from the
Stratum password (`doge=ADDR`) and stick."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from hashforge.consensus.address import AddressType, Destination, encode_address
from hashforge.consensus.params import DOGECOIN_REGTEST, LITECOIN_REGTEST
from hashforge.pool.accounting import Accountant
from hashforge.pool.auxaddress import AuxAddressBook, aux_addresses_in
from hashforge.pool.config import AccountingConfig, Scheme
from hashforge.pool.db import make_engine, migrate
from hashforge.pool.db.repositories import (
    AuxAddressRepository,
    BlockRepository,
    LedgerRepository,
    ShareRepository,
)
from hashforge.pool.records import BlockFound, ShareRecord

from .pg import postgres_url
from .test_accounting import (
    Chain,  # a chain as its node reports it: tip height, block hash by height
)

__all__ = ["postgres_url"]

DOGE = "dogecoin-regtest"
DOGE_A = encode_address(Destination(AddressType.P2PKH, bytes(range(20))), DOGECOIN_REGTEST)
DOGE_B = encode_address(Destination(AddressType.P2PKH, bytes(range(1, 21))), DOGECOIN_REGTEST)
LTC_A = encode_address(Destination(AddressType.P2WPKH, bytes(range(20)), 0), LITECOIN_REGTEST)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        e = make_engine(f"sqlite:///{tmp_path / 'pool.sqlite3'}")
    else:
        cluster = request.getfixturevalue("postgres_url")
        name = f"aux_{uuid.uuid4().hex[:12]}"
        admin = make_engine(cluster, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        e = make_engine(cluster.rsplit("/", 1)[0] + f"/{name}")
    migrate(e)
    try:
        yield e
    finally:
        e.dispose()


def _shares(engine: Engine, rows: list[tuple[str, float]], netdiff: float = 100.0,
            reward: int = 1_000_000, aux: tuple[str, ...] = (DOGE,)) -> list[bytes]:
    """Shares (address, difficulty) in order, of jobs carrying the work of the aux chains `aux`;
    their PoW hashes."""
    with engine.connect() as conn:
        start = ShareRepository.max_id(conn)
    hashes = [(start + i + 1).to_bytes(4, "big") + bytes(28) for i in range(len(rows))]
    recs = [ShareRecord(time.time(), 0, a, "w", d, d, netdiff, 10, reward, h, False, aux)
            for (a, d), h in zip(rows, hashes, strict=True)]
    with engine.begin() as conn:
        ShareRepository.insert_many(conn, recs)
    return hashes


def _aux_found(share_hash: bytes, tag: int, height: int, reward: int, netdiff: float, finder: str = "a",
               chain: str | None = DOGE, result: str | None = None) -> BlockFound:
    return BlockFound(time.time(), 0, height, bytes([tag]) * 32, finder, "w", reward, netdiff, result,
                      pow_hash=share_hash, chain=chain)


def _books(engine: Engine, scheme: Scheme, fee: float = 0.0, **kw: object) -> tuple[Accountant, Chain, Accountant, Chain]:
    cfg = AccountingConfig(scheme=scheme, pool_address="pool", fee_percent=fee, pplns_factor=1.0, orphan_depth=2)
    ltc, doge = Chain(), Chain()
    return (Accountant(engine, cfg, ltc, 100), ltc,
            Accountant(engine, cfg, doge, DOGECOIN_REGTEST.coinbase_maturity, network=DOGE, **kw), doge)  # type: ignore[arg-type]


def test_pplns_aux_block_is_split_over_its_own_window_in_its_own_coin(engine: Engine) -> None:
    parent, _, aux, doge = _books(engine, Scheme.PPLNS, fee=1.0)
    assert aux.maturity == 60  # Dogecoin regtest's COINBASE_MATURITY (chainparams.cpp, regtest)
    # 40 of "old" difficulty, then a 30, b 10: the aux chain's window (factor 1 x 40) is a and b only
    hashes = _shares(engine, [("old", 40.0), ("a", 30.0), ("b", 10.0)])
    found = _aux_found(hashes[-1], 0xD0, height=21, reward=500_000_000_000, netdiff=40.0)
    block_id = aux.record_block(found)
    assert block_id is not None and aux.record_block(found) is None  # once
    assert parent.credit_blocks() == 0  # not the parent's block
    assert aux.credit_blocks() == 1
    with engine.connect() as conn:
        (row,) = BlockRepository.page(conn, 10, 0)
        assert (row["chain"], row["status"], row["height"]) == (DOGE, "pending", 21)
        assert row["share_id"] == 3  # the share that found it, by its PoW hash
        net = 500_000_000_000 - 5_000_000_000
        assert LedgerRepository.balance(conn, "a", DOGE) == {"payable": 0, "immature": net * 3 // 4, "paid": 0}
        assert LedgerRepository.balance(conn, "b", DOGE)["immature"] == net // 4
        assert LedgerRepository.balance(conn, "old", DOGE)["immature"] == 0
        assert LedgerRepository.balance(conn, "a") == {"payable": 0, "immature": 0, "paid": 0}  # no LTC
        assert LedgerRepository.chains_of(conn, "a") == [DOGE]
    doge.hashes[21] = found.hash_hex
    doge.tip = 21 + 58
    assert asyncio.run(aux.settle()) == (0, 0)  # 59 confirmations
    doge.tip += 1
    assert asyncio.run(aux.settle()) == (1, 0)
    assert asyncio.run(parent.settle()) == (0, 0)
    with engine.connect() as conn:
        assert LedgerRepository.payable_balances(conn, DOGE) == {"a": net * 3 // 4, "b": net // 4}
        assert LedgerRepository.payable_balances(conn) == {}


def test_orphaned_aux_block_reverses_only_its_coins_credits(engine: Engine) -> None:
    parent, ltc, aux, doge = _books(engine, Scheme.PROP)
    h = _shares(engine, [("a", 1.0), ("b", 1.0)])
    parent.record_block(BlockFound(time.time(), 0, 5, bytes([0x11]) * 32, "a", "w", 1000, 100.0, None, pow_hash=h[1]))
    aux.record_block(_aux_found(h[1], 0xD1, height=21, reward=2000, netdiff=1.0))
    assert parent.credit_blocks() == 1 and aux.credit_blocks() == 1
    ltc.hashes[5], ltc.tip = (bytes([0x11]) * 32)[::-1].hex(), 5
    doge.hashes[21], doge.tip = "ee" * 32, 23  # another block at 21 (invalidateblock), 2 deep past it
    assert asyncio.run(aux.settle()) == (0, 1)
    with engine.connect() as conn:
        assert LedgerRepository.balance(conn, "a", DOGE) == {"payable": 0, "immature": 0, "paid": 0}
        assert LedgerRepository.balance(conn, "a")["immature"] == 500  # the LTC credit stands
        assert BlockRepository.count_by_status(conn, DOGE) == {"orphaned": 1}
        assert BlockRepository.count_by_status(conn) == {"pending": 1}
        rows = conn.execute(text("SELECT kind, chain, SUM(amount) FROM credits GROUP BY kind, chain")).all()
    assert sorted(rows, key=str) == sorted([("block", None, 1000), ("block", DOGE, 2000), ("reversal", DOGE, -2000)],
                                           key=str)


def test_prop_aux_round_runs_from_that_chains_previous_block(engine: Engine) -> None:
    parent, _, aux, _ = _books(engine, Scheme.PROP)
    h1 = _shares(engine, [("a", 1.0)])
    aux.record_block(_aux_found(h1[0], 0xD1, height=21, reward=900, netdiff=1.0))
    h2 = _shares(engine, [("b", 1.0)])
    parent.record_block(BlockFound(time.time(), 0, 5, bytes([0x11]) * 32, "b", "w", 1000, 1.0, None, pow_hash=h2[0]))
    h3 = _shares(engine, [("c", 1.0)])
    aux.record_block(_aux_found(h3[0], 0xD2, height=22, reward=900, netdiff=1.0))
    assert aux.credit_blocks() == 2 and parent.credit_blocks() == 1
    with engine.connect() as conn:
        # the second DOGE round is b + c: the LTC block between does not end a DOGE round
        assert {a: LedgerRepository.balance(conn, a, DOGE)["immature"] for a in "abc"} == {"a": 900, "b": 450, "c": 450}
        assert {a: LedgerRepository.balance(conn, a)["immature"] for a in "abc"} == {"a": 500, "b": 500, "c": 0}


def test_solo_aux_block_goes_to_its_finder_less_the_fee_and_rejected_ones_credit_nothing(engine: Engine) -> None:
    parent, _, aux, _ = _books(engine, Scheme.SOLO, fee=2.0)
    h = _shares(engine, [("a", 1.0), ("b", 5.0)])
    aux.record_block(_aux_found(h[0], 0xD1, height=21, reward=10_000, netdiff=1.0, finder="a"))
    aux.record_block(_aux_found(h[1], 0xD2, height=22, reward=10_000, netdiff=1.0, finder="b",
                                result="submitauxblock: False"))
    # SOLO on the parent: its coinbase paid the finder, nothing to credit
    parent.record_block(BlockFound(time.time(), 0, 5, bytes([0x11]) * 32, "b", "w", 1000, 1.0, None, pow_hash=h[1]))
    assert parent.credit_blocks() == 0
    assert aux.credit_blocks() == 1
    with engine.connect() as conn:
        assert LedgerRepository.balance(conn, "a", DOGE)["immature"] == 9_800
        assert LedgerRepository.balance(conn, "b", DOGE)["immature"] == 0
        assert BlockRepository.count_by_status(conn, DOGE) == {"pending": 1, "rejected": 1}


def test_pps_aux_credits_shares_at_that_chains_value_from_its_start(engine: Engine) -> None:
    value: list[tuple[float, int] | None] = [None]
    parent, _, aux, _ = _books(engine, Scheme.PPS, fee=1.0, aux_value=lambda: value[0])
    _shares(engine, [("early", 5.0)])  # before the aux chain's books began: no DOGE for it
    aux.begin()
    _shares(engine, [("a", 1.0), ("b", 3.0)], netdiff=100.0, reward=1_000_000)
    assert aux.credit_pps() == 0  # no aux work yet: credited by a later run
    value[0] = (10.0, 50_000)  # DOGE: difficulty 10 (share units), 50,000 a block
    assert aux.credit_pps() == 2 and aux.credit_pps() == 0
    assert parent.credit_pps() == 3
    with engine.connect() as conn:
        assert LedgerRepository.payable_balances(conn, DOGE) == {"a": 4_950, "b": 14_850}
        assert LedgerRepository.payable_balances(conn) == {"early": 49_500, "a": 9_900, "b": 29_700}
    # an aux block under PPS goes to the pool: recorded, no credits
    h = _shares(engine, [("a", 1.0)])
    aux.record_block(_aux_found(h[0], 0xD1, height=21, reward=50_000, netdiff=10.0))
    assert aux.credit_blocks() == 0


def test_pps_shares_without_aux_work_earn_no_aux_coin_and_the_parent_pays_them_all(engine: Engine) -> None:
    value: list[tuple[float, int] | None] = [(10.0, 50_000)]
    parent, _, aux, _ = _books(engine, Scheme.PPS, aux_value=lambda: value[0])
    aux.begin()
    _shares(engine, [("a", 1.0)])
    _shares(engine, [("away", 2.0), ("a", 1.0)], aux=())  # dogecoind unreachable: jobs without DOGE work
    _shares(engine, [("b", 1.0)], aux=("namecoin",))  # another aux chain's work only
    value[0] = None  # no DOGE value at this run either: the same shares are credited later
    assert aux.credit_pps() == 0
    value[0] = (10.0, 50_000)
    assert aux.credit_pps() == 1 and aux.credit_pps() == 0  # "a" for its one share with DOGE work
    _shares(engine, [("away", 1.0), ("b", 2.0)])  # DOGE back
    assert aux.credit_pps() == 2
    assert parent.credit_pps() == 3  # every share earns LTC, DOGE work or not
    with engine.connect() as conn:
        assert LedgerRepository.payable_balances(conn, DOGE) == {"a": 5_000, "away": 5_000, "b": 10_000}
        assert LedgerRepository.payable_balances(conn) == {"a": 20_000, "away": 30_000, "b": 30_000}


def test_pplns_aux_window_spans_only_shares_with_its_work(engine: Engine) -> None:
    parent, _, aux, _ = _books(engine, Scheme.PPLNS)
    _shares(engine, [("old", 30.0)])
    _shares(engine, [("away", 25.0)], aux=())  # made while dogecoind was unreachable
    h = _shares(engine, [("a", 10.0)])
    aux.record_block(_aux_found(h[0], 0xD1, height=21, reward=4_000, netdiff=40.0))
    parent.record_block(BlockFound(time.time(), 0, 5, bytes([0x11]) * 32, "a", "w", 4_000, 40.0, None,
                                   pow_hash=h[0]))
    assert aux.credit_blocks() == 1 and parent.credit_blocks() == 1
    with engine.connect() as conn:
        # DOGE: the window of 40 walks back over a (10) and old (30); "away" is not in it
        assert {x: LedgerRepository.balance(conn, x, DOGE)["immature"] for x in ("old", "away", "a")} == {
            "old": 3_000, "away": 0, "a": 1_000}
        # LTC: the same 40 over every share: a 10, away 25, old 5
        assert {x: LedgerRepository.balance(conn, x)["immature"] for x in ("old", "away", "a")} == {
            "old": 500, "away": 2_500, "a": 1_000}
        (doge_block, ltc_block) = sorted(BlockRepository.page(conn, 10, 0), key=lambda r: r["chain"] is None)
        assert doge_block["effort"] == pytest.approx(1.0)  # 40 of DOGE-working difficulty / 40
        assert ltc_block["effort"] == pytest.approx(65.0 / 40.0)


def test_prop_aux_round_counts_only_shares_with_its_work(engine: Engine) -> None:
    parent, _, aux, _ = _books(engine, Scheme.PROP)
    _shares(engine, [("a", 1.0)])
    _shares(engine, [("away", 2.0)], aux=())
    h = _shares(engine, [("b", 1.0)])
    aux.record_block(_aux_found(h[0], 0xD1, height=21, reward=1_000, netdiff=1.0))
    parent.record_block(BlockFound(time.time(), 0, 5, bytes([0x11]) * 32, "b", "w", 1_000, 1.0, None, pow_hash=h[0]))
    assert aux.credit_blocks() == 1 and parent.credit_blocks() == 1
    with engine.connect() as conn:
        assert {x: LedgerRepository.balance(conn, x, DOGE)["immature"] for x in ("a", "away", "b")} == {
            "a": 500, "away": 0, "b": 500}
        assert {x: LedgerRepository.balance(conn, x)["immature"] for x in ("a", "away", "b")} == {
            "a": 250, "away": 500, "b": 250}


def test_a_block_is_kept_in_its_own_coins_books() -> None:
    engine = make_engine("sqlite://")
    migrate(engine)
    _, _, aux, _ = _books(engine, Scheme.PPLNS)
    with pytest.raises(ValueError, match="books of dogecoin-regtest"):
        aux.record_block(_aux_found(b"\x01" * 32, 0xD1, 21, 1, 1.0, chain=None))


def test_password_names_aux_addresses_per_coin() -> None:
    chains = [DOGECOIN_REGTEST]
    assert aux_addresses_in(f"doge={DOGE_A}", chains) == {DOGE: DOGE_A}
    assert aux_addresses_in(f"d=0.5,DOGE={DOGE_A};x", chains) == {DOGE: DOGE_A}
    assert aux_addresses_in(f"x d=2 doge={DOGE_A}", chains) == {DOGE: DOGE_A}
    assert aux_addresses_in("x", chains) == {}
    assert aux_addresses_in(f"ltc={DOGE_A},d=1", chains) == {}


def test_aux_address_book_stores_the_first_address_and_refuses_another(engine: Engine) -> None:
    book = AuxAddressBook(engine, [DOGECOIN_REGTEST])
    assert asyncio.run(book.on_authorize(LTC_A, "x")) is None  # none named: fine, nothing stored
    assert book.bind(LTC_A, f"doge={LTC_A}") == f"invalid DOGE address for {DOGE}: {LTC_A}"
    assert asyncio.run(book.on_authorize(LTC_A, f"d=1,doge={DOGE_A}")) is None
    assert book.bind(LTC_A, f"doge={DOGE_A}") is None  # the same again
    refused = book.bind(LTC_A, f"doge={DOGE_B}")
    assert refused == f"the DOGE payout address of {LTC_A} is {DOGE_A}; the pool operator changes it"
    with engine.connect() as conn:
        assert AuxAddressRepository.of_address(conn, LTC_A) == {DOGE: DOGE_A}
    book.set(LTC_A, DOGE, DOGE_B)  # the operator's change
    with pytest.raises(ValueError):
        book.set(LTC_A, DOGE, "not-an-address")
    with engine.connect() as conn:
        assert AuxAddressRepository.of_chain(conn, DOGE) == {LTC_A: DOGE_B}
