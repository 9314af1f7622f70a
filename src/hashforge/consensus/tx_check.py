"""Context-free transaction checks (Core's CheckTransaction), with Core's reject reasons."""

from __future__ import annotations

from .tx import WITNESS_SCALE_FACTOR, Transaction

COIN = 100_000_000
MAX_MONEY = 21_000_000 * COIN
MAX_BLOCK_WEIGHT = 4_000_000


class TxValidationError(ValueError):
    """A transaction that breaks a consensus rule; `reason` is Core's reject reason string."""

    def __init__(self, reason: str, debug: str = "") -> None:
        super().__init__(f"{reason}: {debug}" if debug else reason)
        self.reason = reason
        self.debug = debug


def money_range(value: int) -> bool:
    return 0 <= value <= MAX_MONEY


def check_transaction(tx: Transaction) -> None:
    """Checks that need no chain context; raises TxValidationError (CheckTransaction)."""
    if not tx.vin:
        raise TxValidationError("bad-txns-vin-empty")
    if not tx.vout:
        raise TxValidationError("bad-txns-vout-empty")
    # Size without witness: the witness has not been checked for malleability yet.
    if tx.base_size * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT:
        raise TxValidationError("bad-txns-oversize")

    # Negative or overflowing output values (CVE-2010-5139)
    total = 0
    for txout in tx.vout:
        if txout.value < 0:
            raise TxValidationError("bad-txns-vout-negative")
        if txout.value > MAX_MONEY:
            raise TxValidationError("bad-txns-vout-toolarge")
        total += txout.value
        if not money_range(total):
            raise TxValidationError("bad-txns-txouttotal-toolarge")

    # Duplicate inputs (CVE-2018-17144)
    seen = set()
    for txin in tx.vin:
        key = (txin.prevout.hash, txin.prevout.n)
        if key in seen:
            raise TxValidationError("bad-txns-inputs-duplicate")
        seen.add(key)

    if tx.is_coinbase():
        if not 2 <= len(tx.vin[0].script_sig) <= 100:
            raise TxValidationError("bad-cb-length")
    elif any(txin.prevout.is_null() for txin in tx.vin):
        raise TxValidationError("bad-txns-prevout-null")
