"""Lenient parsing of calculator inputs ("200TH/s", "3.5 kW", "$95,000", "2%", "1.1e14", "110T").

Every parser returns a finite Decimal (or int satoshis) or raises `InputError` naming the field.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

COIN = 100_000_000
PREFIXES = {"": 0, "k": 3, "m": 6, "g": 9, "t": 12, "p": 15, "e": 18, "z": 21}
_NUMBER = r"([+-]?(?:\d[\d,_]*\.?\d*|\.\d+)(?:e[+-]?\d+)?)"
_HASHRATE = re.compile(rf"^{_NUMBER}\s*([kmgtpez]?)\s*(?:h(?:ash(?:es)?)?\s*(?:/\s*s(?:ec)?|ps)?)?$", re.I)
_POWER = re.compile(rf"^{_NUMBER}\s*([km]?)\s*w?$", re.I)
_SCALED = re.compile(rf"^{_NUMBER}\s*([kmgtpez]?)$", re.I)
_MONEY = re.compile(rf"^\$?\s*{_NUMBER}\s*([km]?)\s*(?:usd)?(?:\s*/\s*kwh)?$", re.I)
_PERCENT = re.compile(rf"^{_NUMBER}\s*%?$")


class InputError(ValueError):
    """A calculator input that cannot be used; `field` names it (CLI option / query parameter)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _number(field: str, text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise InputError(field, f"{text!r} is not a number") from None
    if not value.is_finite():
        raise InputError(field, f"{text!r} is not a finite number")
    return value


def _special(field: str, text: str) -> None:
    if text.strip().lower().lstrip("+-") in ("nan", "inf", "infinity", "snan"):
        raise InputError(field, f"{text.strip()!r} is not a finite number")


def _match(field: str, pattern: re.Pattern[str], text: str | float | Decimal, example: str) -> tuple[Decimal, str]:
    raw = str(text).strip()
    _special(field, raw)
    m = pattern.match(raw)
    if m is None:
        raise InputError(field, f"cannot read {raw!r} (expected something like {example})")
    return _number(field, m.group(1)), (m.group(2) if m.lastindex and m.lastindex >= 2 else "") or ""


def _check(field: str, value: Decimal, *, positive: bool = False, upper: Decimal | None = None) -> Decimal:
    if positive and value <= 0:
        raise InputError(field, f"must be greater than zero (got {value})")
    if value < 0:
        raise InputError(field, f"must not be negative (got {value})")
    if upper is not None and value > upper:
        raise InputError(field, f"must be at most {upper} (got {value})")
    return value


def hashrate(field: str, text: str | float | Decimal, *, positive: bool = False) -> Decimal:
    """Hashes per second: "200TH/s", "200 TH", "1.2e12", "9.5 GH/s"."""
    value, prefix = _match(field, _HASHRATE, text, '"200TH/s" or "9.5 GH/s"')
    return _check(field, value.scaleb(PREFIXES[prefix.lower()]), positive=positive)


def power(field: str, text: str | float | Decimal) -> Decimal:
    """Watts: "3500W", "3.5 kW", "18"."""
    value, prefix = _match(field, _POWER, text, '"3500W" or "3.5kW"')
    return _check(field, value.scaleb(PREFIXES[prefix.lower()]))


def scaled(field: str, text: str | float | Decimal, *, positive: bool = False) -> Decimal:
    """A plain number with an optional SI suffix: "1.1e14", "110T", "95k"."""
    value, prefix = _match(field, _SCALED, text, '"1.1e14" or "110T"')
    return _check(field, value.scaleb(PREFIXES[prefix.lower()]), positive=positive)


def money(field: str, text: str | float | Decimal) -> Decimal:
    """An amount of fiat: "95000", "$95,000", "95k", "0.08", "$0.08/kWh"."""
    value, prefix = _match(field, _MONEY, text, '"95000" or "$0.08/kWh"')
    return _check(field, value.scaleb(PREFIXES[prefix.lower()]))


def percent(field: str, text: str | float | Decimal, *, upper: Decimal | None = Decimal(100),
            allow_negative: bool = False) -> Decimal:
    """A percentage, always in percent: "2", "2%", "0.5 %" (so "2" is 2 %, not 200 %)."""
    value, _ = _match(field, _PERCENT, text, '"2%" or "2"')
    if allow_negative:
        if upper is not None and abs(value) > upper:
            raise InputError(field, f"must be between -{upper} and {upper} (got {value})")
        return value
    return _check(field, value, upper=upper)


def coins_to_sat(field: str, text: str | float | Decimal) -> int:
    """An amount of coins ("3.125", "0.025 BTC") as integer satoshis; more than 8 decimals is an error."""
    raw = re.sub(r"\s*[a-z]{3,4}$", "", str(text).strip(), flags=re.I)
    _special(field, raw)
    value = _check(field, _number(field, raw))
    sat = value * COIN
    if sat != sat.to_integral_value():
        raise InputError(field, f"{raw} has more than 8 decimal places")
    return int(sat)


def integer(field: str, text: str | int, *, low: int, high: int) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise InputError(field, f"{text!r} is not a whole number") from None
    if not low <= value <= high:
        raise InputError(field, f"must be between {low} and {high} (got {value})")
    return value


def human_hashrate(hps: Decimal | float) -> str:
    rate = Decimal(str(hps))
    for unit, exp in (("EH/s", 18), ("PH/s", 15), ("TH/s", 12), ("GH/s", 9), ("MH/s", 6), ("kH/s", 3)):
        if rate >= Decimal(1).scaleb(exp):
            return f"{rate.scaleb(-exp):.2f} {unit}"
    return f"{rate:.1f} H/s"
