"""Parsing and formatting of the ledger's values: satoshis (int), fiat (Decimal), UTC dates."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

SAT_PER_COIN = 100_000_000
CENT = Decimal("0.01")
PLAIN = re.compile(r"[-+]?\d{1,30}(\.\d{1,30})?")
MAX_SAT = 21_000_000 * SAT_PER_COIN


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def parse_decimal(text: str, what: str, *, positive: bool = False, allow_zero: bool = True) -> Decimal:
    """A Decimal from plain decimal text (`1234.5`; not `1,234.5`, `1e5` or `NaN`)."""
    t = text.strip()
    if PLAIN.fullmatch(t) is None:  # no exponents, NaN, Infinity or thousands separators
        raise ValueError(f"{what} must be a number, not {text!r}")
    try:
        value = Decimal(t)
    except InvalidOperation:
        raise ValueError(f"{what} must be a number, not {text!r}") from None
    if value < 0 or (positive and value == 0) or (not allow_zero and value == 0):
        raise ValueError(f"{what} must be {'greater than zero' if positive else 'zero or more'}, not {t}")
    return value


def parse_sat(text: str, what: str = "amount_sat") -> int:
    t = text.strip()
    if not t.isdigit():
        raise ValueError(f"{what} must be a whole number of satoshis, not {text!r}")
    value = int(t)
    if value <= 0 or value > MAX_SAT:
        raise ValueError(f"{what} must be between 1 and {MAX_SAT} satoshis, not {t}")
    return value


def parse_btc(text: str, what: str = "amount_btc") -> int:
    """Coins as decimal text -> satoshis, exactly (more than 8 decimals is refused)."""
    value = parse_decimal(text, what, positive=True)
    sat = value * SAT_PER_COIN
    if sat != sat.to_integral_value():
        raise ValueError(f"{what} has more than 8 decimals: {text.strip()}")
    return parse_sat(str(int(sat)), what)


def sat_to_coins(sat: int) -> str:
    """Satoshis -> coins as exact decimal text (`150000000` -> `1.5`, `1` -> `0.00000001`)."""
    sign = "-" if sat < 0 else ""
    whole, frac = divmod(abs(sat), SAT_PER_COIN)
    text = f"{whole}.{frac:08d}".rstrip("0").rstrip(".")
    return sign + text


def parse_date(text: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{what} must be a date YYYY-MM-DD, not {text!r}") from None


def parse_when(text: str, what: str = "date") -> int:
    """A date (midnight UTC) or an ISO date-time (UTC unless it names an offset) -> unix seconds."""
    t = text.strip()
    if t.endswith(" UTC"):
        t = t[:-4]
    try:
        if len(t) == 10:
            d = date.fromisoformat(t)
            return calendar.timegm(d.timetuple())
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return int(dt.timestamp())
    except (ValueError, OverflowError):
        raise ValueError(f"{what} must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, not {text!r}") from None


def day_of(ts: int) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def year_bounds(year: int) -> tuple[int, int]:
    """[start, end) of a calendar year in unix seconds (UTC)."""
    # the end as 31 December + 1 day: 1 January 10000 is not a date
    return calendar.timegm((year, 1, 1, 0, 0, 0)), calendar.timegm((year, 12, 31, 0, 0, 0)) + 86400


def add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)
