"""Stratum v1 session messages both sides build and parse: the mining.subscribe result,
mining.configure's version-rolling answer (BIP310), mining.submit params and the url forms.

Wire facts (ckpool, public-pool, slush docs):
- subscribe result: ``[[["mining.set_difficulty", id], ["mining.notify", id]], extranonce1_hex,
  extranonce2_size]``; the id is what a client passes back as subscribe's 2nd param to resume.
- configure result: ``{"version-rolling": true, "version-rolling.mask": "1fffe000"}``; the miner
  may roll only the bits of (its requested mask AND the pool's mask).
- submit params: ``[worker, job_id, extranonce2_hex, ntime_hex, nonce_hex(, version_bits_hex)]``;
  version bits are the rolled bits only (``version & mask``), as 8 hex digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

BIP310_DEFAULT_MASK = 0x1FFFE000  # BIP320's general-purpose bits
DEFAULT_STRATUM_PORT = 3333


@dataclass(frozen=True)
class SubscribeResult:
    subscription_id: str | None  # the mining.notify subscription id (the resume token), if any
    extranonce1: bytes
    extranonce2_size: int

    @classmethod
    def from_result(cls, result: Any) -> SubscribeResult:
        """Parses mining.subscribe's result; raises ValueError on a malformed one."""
        if not isinstance(result, list) or len(result) < 3:
            raise ValueError("subscribe result must be [subscriptions, extranonce1, extranonce2_size]")
        subs, en1_hex, en2_size = result[0], result[1], result[2]
        if not isinstance(en1_hex, str) or len(en1_hex) % 2:
            raise ValueError("extranonce1 must be hex")
        try:
            en1 = bytes.fromhex(en1_hex)
        except ValueError:
            raise ValueError("extranonce1 must be hex") from None
        if not isinstance(en2_size, int) or isinstance(en2_size, bool) or not 0 <= en2_size <= 32:
            raise ValueError("extranonce2_size must be an integer in 0..32")
        return cls(_subscription_id(subs), en1, en2_size)

    def to_result(self) -> list[Any]:
        sid = self.subscription_id or ""
        return [[["mining.set_difficulty", sid], ["mining.notify", sid]], self.extranonce1.hex(), self.extranonce2_size]


def _subscription_id(subs: Any) -> str | None:
    """The notify subscription id from either [[name, id], ...] or the older [name, id] form."""
    if isinstance(subs, list) and len(subs) == 2 and all(isinstance(s, str) for s in subs):
        subs = [subs]
    if not isinstance(subs, list):
        return None
    for s in subs:
        if isinstance(s, list) and len(s) >= 2 and s[0] == "mining.notify" and isinstance(s[1], str):
            return s[1]
    for s in subs:
        if isinstance(s, list) and len(s) >= 2 and isinstance(s[1], str):
            return s[1]
    return None


def version_rolling_request(mask: int = 0xFFFFFFFF, min_bit_count: int = 2) -> list[Any]:
    """mining.configure params asking for BIP310 version rolling under `mask`."""
    return [["version-rolling"], {"version-rolling.mask": f"{mask:08x}", "version-rolling.min-bit-count": min_bit_count}]


def negotiated_version_mask(configure_result: Any, requested: int = 0xFFFFFFFF) -> int:
    """The mask the miner may roll after mining.configure: pool's mask AND ours, 0 if refused."""
    if not isinstance(configure_result, dict) or configure_result.get("version-rolling") is not True:
        return 0
    mask_hex = configure_result.get("version-rolling.mask")
    if not isinstance(mask_hex, str) or len(mask_hex) != 8:
        return 0
    try:
        return int(mask_hex, 16) & requested
    except ValueError:
        return 0


def parse_version_mask(value: Any) -> int:
    """mining.set_version_mask's param (8 hex digits); raises ValueError."""
    if not isinstance(value, str) or len(value) != 8:
        raise ValueError("version mask must be 8 hex digits")
    return int(value, 16)


def submit_params(
    worker: str,
    job_id: str,
    extranonce2: bytes,
    ntime: int,
    nonce: int,
    version: int | None = None,
    mask: int = 0,
) -> list[str]:
    """mining.submit params; with a mask, the rolled version's bits (version & mask) are appended."""
    params = [worker, job_id, extranonce2.hex(), f"{ntime:08x}", f"{nonce:08x}"]
    if version is not None and mask:
        params.append(f"{version & mask:08x}")
    return params


@dataclass(frozen=True)
class StratumURL:
    host: str
    port: int
    tls: bool
    user: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        return f"stratum+{'ssl' if self.tls else 'tcp'}://{self.host}:{self.port}"


def parse_stratum_url(url: str) -> StratumURL:
    """stratum+tcp://host:port, stratum+ssl:// or stratum+tls:// (TLS), or plain tcp://, ssl://.

    Userinfo (``stratum+tcp://user:pass@host:port``) is returned but optional. Raises ValueError.
    """
    parts = urlsplit(url if "://" in url else "stratum+tcp://" + url)
    scheme = parts.scheme.lower()
    tls = scheme in ("stratum+ssl", "stratum+tls", "ssl", "tls", "stratum2+ssl")
    if not tls and scheme not in ("stratum+tcp", "stratum", "tcp"):
        raise ValueError(f"not a Stratum url: {url!r} (use stratum+tcp:// or stratum+ssl://)")
    if not parts.hostname:
        raise ValueError(f"no host in {url!r}")
    try:
        port = parts.port or DEFAULT_STRATUM_PORT
    except ValueError:
        raise ValueError(f"bad port in {url!r}") from None
    host = parts.hostname
    return StratumURL(
        host,
        port,
        tls,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
    )
