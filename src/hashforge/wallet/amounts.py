"""Amounts as people type them ('0.5' coins, '0.5ltc', '50000sat') turned into integer satoshis,
and back into text with the coin's ticker."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from hashforge.consensus.params import COIN

from .errors import AmountError

# The most coins a network can ever hold (Core's MAX_MONEY): Bitcoin 21 million, Litecoin 84
# million; Dogecoin has no cap, and Dogecoin Core's amount check allows 10 billion.
MAX_COINS = {"BTC": 21_000_000, "LTC": 84_000_000, "DOGE": 10_000_000_000}
_SAT_SUFFIXES = ("sats", "sat", "koinu", "litoshi", "litoshis")


def max_money(coin: str) -> int:
    return MAX_COINS.get(coin.upper(), MAX_COINS["BTC"]) * COIN


def parse_amount(text: str, coin: str = "BTC") -> int:
    """'0.5' (coins of `coin`, up to 8 decimals, the ticker optional: '0.5ltc') or '50000sat'
    (also 'koinu' / 'litoshi') to satoshis."""
    t = text.strip().lower()
    unit = coin.lower()
    try:
        sat_suffix = next((s for s in _SAT_SUFFIXES if t.endswith(s)), None)
        if sat_suffix is not None:
            sats = Decimal(t.removesuffix(sat_suffix).strip())
        else:
            sats = Decimal(t.removesuffix(unit).strip()) * COIN
    except InvalidOperation:
        raise AmountError(f"not an amount: {text!r} ({coin} like 0.5, or satoshis like 50000sat)") from None
    if not sats.is_finite() or sats != sats.to_integral_value():
        raise AmountError(f"amount {text!r} is not a whole number of satoshis")
    if sats <= 0:
        raise AmountError(f"amount must be positive, not {text!r}")
    if sats > max_money(coin):
        cap = MAX_COINS.get(coin.upper(), MAX_COINS["BTC"])
        words = f"{cap // 10**9} billion" if cap >= 10**9 else f"{cap // 10**6} million"
        raise AmountError(f"amount {text!r} is more than {words} {coin}")
    return int(sats)


def format_amount(sats: int, coin: str) -> str:
    """'0.50000000 LTC': 8 decimals and the ticker, so no figure is read in the wrong coin."""
    return f"{Decimal(sats) / COIN:.8f} {coin}"
