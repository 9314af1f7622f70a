"""Hash rate from accepted share difficulty, in H/s, and its display up to EH/s.

A share of difficulty d is, on average, d x 2^32 hashes of SHA-256d work (difficulty 1 is
target 0xffff x 2^208, so 2^32 x 65535/65536 exactly; pools and we use 2^32). Scrypt pools
scale share difficulty by 2^16, so a scrypt share of difficulty d is d x 2^16 hashes.
The rate over a window is sum(d) x 2^32 / window seconds.
"""

from __future__ import annotations

UNITS = ("H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s")


def hashes_per_difficulty(scrypt: bool = False) -> float:
    return float(1 << 16) if scrypt else float(1 << 32)


def share_scale(scrypt: bool = False) -> int:
    """Network difficulty in share-difficulty units (x 2^16 on scrypt chains, whose network
    difficulty 1 is, as Bitcoin's, 2^32 hashes)."""
    return (1 << 32) // int(hashes_per_difficulty(scrypt))


def hashrate(sum_difficulty: float, window_seconds: float, scrypt: bool = False) -> float:
    if window_seconds <= 0:
        return 0.0
    return sum_difficulty * hashes_per_difficulty(scrypt) / window_seconds


def format_hashrate(hs: float) -> str:
    """1000-based units, three significant digits: 1.23 TH/s; EH/s is the largest unit."""
    value = float(hs)
    unit = 0
    while abs(value) >= 1000 and unit < len(UNITS) - 1:
        value /= 1000
        unit += 1
    return f"{value:.3g} {UNITS[unit]}"
