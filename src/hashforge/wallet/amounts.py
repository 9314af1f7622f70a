"""Amounts as people type them ('0.5' coins, '50000sat') turned into integer satoshis."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from hashforge.consensus.params import COIN, MAX_MONEY

from .errors import AmountError


def parse_amount(text: str) -> int:
    """'0.5' (BTC, up to 8 decimals) or '50000sat' to satoshis."""
    t = text.strip().lower()
    try:
        if t.endswith(("sat", "sats")):
            d = Decimal(t.removesuffix("s").removesuffix("sat").strip())
            sats = d
        else:
            d = Decimal(t.removesuffix("btc").strip())
            sats = d * COIN
    except InvalidOperation:
        raise AmountError(f"not an amount: {text!r} (BTC like 0.5, or satoshis like 50000sat)") from None
    if not sats.is_finite() or sats != sats.to_integral_value():
        raise AmountError(f"amount {text!r} is not a whole number of satoshis")
    if sats <= 0:
        raise AmountError(f"amount must be positive, not {text!r}")
    if sats > MAX_MONEY:
        raise AmountError(f"amount {text!r} is more than 21 million coins")
    return int(sats)
