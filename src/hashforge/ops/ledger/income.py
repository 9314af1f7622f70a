"""The income ledger: every coinbase reward (`block`) and pool payout (`pool`) received, one row per
output (txid, vout) so a re-import never duplicates. Fair market value is a manual entry or the
day's price times the amount; a day without either is reported as "needs price", never 0."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .csvutil import rows
from .db import LedgerDB
from .errors import CSVError, LedgerError
from .money import (
    day_of,
    iso,
    parse_btc,
    parse_decimal,
    parse_sat,
    parse_when,
    sat_to_coins,
    year_bounds,
)
from .prices import table, value

if TYPE_CHECKING:
    from hashforge.wallet import Wallet

SOURCES = ("block", "pool")
TXID_LEN = 64


@dataclass(frozen=True)
class Income:
    id: int
    ts: int
    amount_sat: int
    source: str
    txid: str | None
    vout: int | None
    fmv: Decimal | None  # None: needs price
    fmv_source: str | None  # manual | price
    origin: str
    description: str

    @property
    def day(self) -> date:
        return day_of(self.ts)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "time": iso(self.ts), "date": self.day.isoformat(), "amount_sat": self.amount_sat,
                "amount": sat_to_coins(self.amount_sat), "source": self.source, "txid": self.txid, "vout": self.vout,
                "fmv": None if self.fmv is None else str(self.fmv), "fmv_source": self.fmv_source,
                "needs_price": self.fmv is None, "origin": self.origin, "description": self.description}


@dataclass(frozen=True)
class ImportResult:
    added: int
    unchanged: int
    skipped: int = 0  # wallet: unconfirmed or not income
    removed: int = 0  # wallet: recorded before, no longer confirmed (a reorg)


def _check_txid(txid: str) -> str:
    t = txid.strip().lower()
    if len(t) != TXID_LEN or any(ch not in "0123456789abcdef" for ch in t):
        raise ValueError(f"txid must be 64 hex digits, not {txid!r}")
    return t


def _insert(c: sqlite3.Connection, ts: int, amount_sat: int, source: str, txid: str | None, vout: int | None,
            fmv: Decimal | None, origin: str, description: str) -> int:
    cur = c.execute(
        "INSERT INTO ledger_income(ts, amount_sat, source, txid, vout, fmv_manual, origin, description) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
        (ts, amount_sat, source, txid, vout, None if fmv is None else str(fmv), origin, description))
    return int(cur.lastrowid or 0)


def add(db: LedgerDB, ts: int, amount_sat: int, source: str, txid: str | None = None, vout: int | None = None,
        fmv: Decimal | None = None, description: str = "") -> int:
    """One manual entry; an outpoint already recorded is refused."""
    if source not in SOURCES:
        raise LedgerError(f"source must be block or pool, not {source!r}")
    if not 0 < amount_sat <= 21_000_000 * 100_000_000:
        raise LedgerError(f"amount must be 1 to 21e14 satoshis, not {amount_sat}")
    if fmv is not None and (not fmv.is_finite() or fmv < 0):
        raise LedgerError(f"fmv must be zero or more, not {fmv}")
    if txid is not None:
        try:
            txid = _check_txid(txid)
        except ValueError as e:
            raise LedgerError(str(e)) from None
        vout = 0 if vout is None else vout
    if vout is not None and vout < 0:
        raise LedgerError(f"vout must be 0 or more, not {vout}")
    with db.transaction() as c:
        if txid is not None and c.execute("SELECT 1 FROM ledger_income WHERE txid = ? AND vout = ?",
                                          (txid, vout)).fetchone():
            raise LedgerError(f"income {txid}:{vout} is already recorded")
        return _insert(c, ts, amount_sat, source, txid, vout, fmv, "manual", description)


def set_fmv(db: LedgerDB, income_id: int, fmv: Decimal | None) -> None:
    """Enters (or with None clears) the manual fair market value of one income entry."""
    if fmv is not None and (not fmv.is_finite() or fmv < 0):
        raise LedgerError(f"fmv must be zero or more, not {fmv}")
    with db.transaction() as c:
        cur = c.execute("UPDATE ledger_income SET fmv_manual = ? WHERE id = ?",
                        (None if fmv is None else str(fmv), income_id))
        if cur.rowcount == 0:
            raise LedgerError(f"no income entry with id {income_id}")


def import_csv(db: LedgerDB, text: str, name: str) -> ImportResult:
    """External pools' payouts: `date,txid,amount_sat|amount_btc[,vout][,source][,fmv][,description]`."""
    parsed: dict[tuple[str, int], tuple[int, int, str, Decimal | None, str, int]] = {}
    for line, row in rows(text, name, ("date", "txid"), ("vout", "source", "fmv", "description"),
                          ("amount_sat", "amount_btc")):
        field = "date"
        try:
            ts = parse_when(row["date"])
            field = "txid"
            txid = _check_txid(row["txid"])
            field = "vout"
            vout_text = row.get("vout") or "0"
            if not vout_text.isdigit():
                raise ValueError(f"vout must be a whole number, not {vout_text!r}")
            vout = int(vout_text)
            if "amount_sat" in row:
                field = "amount_sat"
                amount = parse_sat(row["amount_sat"])
            else:
                field = "amount_btc"
                amount = parse_btc(row["amount_btc"])
            field = "source"
            source = (row.get("source") or "pool").lower()
            if source not in SOURCES:
                raise ValueError(f"source must be block or pool, not {source!r}")
            field = "fmv"
            fmv = parse_decimal(row["fmv"], "fmv") if row.get("fmv") else None
        except ValueError as e:
            raise CSVError(name, line, field, str(e)) from None
        entry = (ts, amount, source, fmv, row.get("description", ""), line)
        old = parsed.get((txid, vout))
        if old is not None and old[:3] != entry[:3]:
            raise CSVError(name, line, "txid", f"{txid}:{vout} appears on line {old[5]} with other values")
        parsed.setdefault((txid, vout), entry)
    if not parsed:
        raise CSVError(name, 1, None, "no income rows after the header")
    added = unchanged = 0
    with db.transaction() as c:
        for (txid, vout), (ts, amount, source, fmv, desc, line) in parsed.items():
            have = c.execute("SELECT ts, amount_sat, source FROM ledger_income WHERE txid = ? AND vout = ?",
                             (txid, vout)).fetchone()
            if have is None:
                _insert(c, ts, amount, source, txid, vout, fmv, "csv", desc)
                added += 1
            elif (have["ts"], have["amount_sat"], have["source"]) == (ts, amount, source):
                unchanged += 1
            else:
                raise CSVError(name, line, "txid", f"{txid}:{vout} is already recorded with amount "
                               f"{have['amount_sat']} sat at {iso(have['ts'])}")
    return ImportResult(added, unchanged)


def import_wallet(db: LedgerDB, wallet: Wallet, payout_addresses: set[str] | None = None,
                  payments: bool = True) -> ImportResult:
    """Coinbase outputs (mature or not) as `block`; incoming payments that spend none of our coins
    as `pool` (only to `payout_addresses` when given; none when `payments` is False). Unconfirmed
    transactions wait for a block time."""
    found: list[tuple[int, int, str, str, int, str]] = []
    skipped = 0
    for h in wallet.history():
        if h.block_time is None or h.status != "confirmed":
            skipped += 1
            continue
        if not h.coinbase and (not payments or h.amount <= 0 or wallet.db.spent_by(h.txid)):
            skipped += 1
            continue
        for n, amount, script in wallet.db.outputs_of(h.txid):
            row = wallet.db.address_row(script)
            address = row.address if row is not None else ""
            if not h.coinbase and payout_addresses is not None and address not in payout_addresses:
                continue
            source = "block" if h.coinbase else "pool"
            found.append((h.block_time, amount, source, h.txid, n, f"{source} reward to {address}".strip()))
    confirmed = {h.txid for h in wallet.history() if h.block_time is not None and h.status == "confirmed"}
    added = unchanged = removed = 0
    with db.transaction() as c:
        # Entries this import recorded earlier whose transaction a reorg took out of the chain go;
        # one that comes back confirmed is recorded again, at its new block time.
        for r in c.execute("SELECT id, txid FROM ledger_income WHERE origin = 'wallet'").fetchall():
            if r["txid"] not in confirmed:
                c.execute("DELETE FROM ledger_income WHERE id = ?", (r["id"],))
                removed += 1
        for ts, amount, source, txid, n, desc in sorted(found):
            if c.execute("SELECT 1 FROM ledger_income WHERE txid = ? AND vout = ?", (txid, n)).fetchone():
                unchanged += 1
                continue
            _insert(c, ts, amount, source, txid, n, None, "wallet", desc)
            added += 1
        if removed:
            _check_disposals_still_covered(c)
    return ImportResult(added, unchanged, skipped, removed)


def _check_disposals_still_covered(c: sqlite3.Connection) -> None:
    from .lots import check_holdings  # lots imports this module

    received = [(r[0], r[1]) for r in c.execute("SELECT ts, amount_sat FROM ledger_income")]
    disposed = [(r[0], r[1]) for r in c.execute("SELECT ts, amount_sat FROM ledger_disposals")]
    try:
        check_holdings(received, disposed)
    except LedgerError as e:
        raise LedgerError(f"a reorg took recorded income out of the chain, and then {e}; "
                          "nothing was imported (fix the disposals or wait for the chain to settle)") from None


def entries(db: LedgerDB, currency: str, year: int | None = None, until: int | None = None) -> list[Income]:
    """Income oldest first, with its fair market value in `currency` (None: needs price)."""
    sql, params = "SELECT * FROM ledger_income", []
    if year is not None:
        start, end = year_bounds(year)
        sql += " WHERE ts >= ? AND ts < ?"
        params = [start, end]
    elif until is not None:
        sql += " WHERE ts < ?"
        params = [until]
    prices = table(db, currency)
    out = []
    for r in db.query(sql + " ORDER BY ts, id", tuple(params)):
        fmv: Decimal | None
        src: str | None
        if r["fmv_manual"] is not None:
            fmv, src = Decimal(r["fmv_manual"]), "manual"
        else:
            price = prices.get(day_of(r["ts"]))
            fmv, src = (None, None) if price is None else (value(r["amount_sat"], price), "price")
        out.append(Income(r["id"], r["ts"], r["amount_sat"], r["source"], r["txid"], r["vout"], fmv, src,
                          r["origin"], r["description"]))
    return out
