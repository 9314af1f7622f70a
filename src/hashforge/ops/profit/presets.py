"""Hardware and coin presets: data in presets.toml (shipped), extended by user TOML files."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, replace
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from . import units
from .units import InputError

ALGORITHMS = ("sha256d", "scrypt")
USER_FILE = "presets.toml"
BENCH = "bench"


class PresetError(ValueError):
    """A presets file that cannot be used: names the file and the entry."""


@dataclass(frozen=True)
class Hardware:
    key: str
    name: str
    algorithm: str
    hashrate_hps: Decimal | None  # None: measure with `hashforge bench`
    power_w: Decimal
    cost_usd: Decimal | None = None
    note: str = ""
    source: str = "builtin"

    @property
    def measured(self) -> bool:
        return self.hashrate_hps is None


@dataclass(frozen=True)
class Coin:
    key: str
    name: str
    symbol: str
    algorithm: str
    mineable: bool = True
    block_time_s: int = 600
    subsidy_sat: int = 0
    fees_sat: int = 0
    halving_interval: int = 0
    height: int = 0
    difficulty: Decimal | None = None
    price_usd: Decimal | None = None
    as_of: str = ""
    note: str = ""
    source: str = "builtin"


@dataclass(frozen=True)
class Presets:
    hardware: dict[str, Hardware]
    coins: dict[str, Coin]

    def get_hardware(self, key: str) -> Hardware:
        found = self.hardware.get(key.lower())
        if found is None:
            raise InputError("preset", f"no hardware preset {key!r} (known: {', '.join(sorted(self.hardware))})")
        return found


def _text(where: str, entry: dict[str, Any], name: str, default: str | None = None) -> str:
    value = entry.get(name, default)
    if not isinstance(value, str) or (default is None and not value):
        raise PresetError(f"{where}: {name} must be a non-empty string")
    return value


def _int(where: str, entry: dict[str, Any], name: str, default: int) -> int:
    value = entry.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise PresetError(f"{where}: {name} must be a whole number >= 0")
    return value


def _parsed(where: str, fn: Any, value: Any, *args: Any, **kw: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PresetError(f"{where}: expected a number or text, got {value!r}")
    try:
        return fn(*args, value, **kw)
    except InputError as e:
        raise PresetError(f"{where}: {e}") from None


def _hardware(where: str, key: str, entry: dict[str, Any], base: Hardware | None, source: str) -> Hardware:
    if base is not None:  # override field by field
        entry = {"name": base.name, "algorithm": base.algorithm, "power": str(base.power_w),
                 "hashrate": BENCH if base.hashrate_hps is None else str(base.hashrate_hps),
                 **({"cost_usd": str(base.cost_usd)} if base.cost_usd is not None else {}),
                 "note": base.note, **entry}
    unknown = set(entry) - {"name", "algorithm", "hashrate", "power", "cost_usd", "note"}
    if unknown:
        raise PresetError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    algorithm = _text(where, entry, "algorithm")
    if algorithm not in ALGORITHMS:
        raise PresetError(f"{where}: algorithm must be one of {', '.join(ALGORITHMS)} (got {algorithm!r})")
    raw_rate = entry.get("hashrate")
    rate = None if raw_rate == BENCH else _parsed(f"{where}.hashrate", units.hashrate, raw_rate, "hashrate",
                                                   positive=True)
    cost = entry.get("cost_usd")
    return Hardware(
        key=key, name=_text(where, entry, "name"), algorithm=algorithm, hashrate_hps=rate,
        power_w=_parsed(f"{where}.power", units.power, entry.get("power"), "power"),
        cost_usd=None if cost is None else _parsed(f"{where}.cost_usd", units.money, cost, "cost_usd"),
        note=_text(where, entry, "note", ""), source=source,
    )


def _coin(where: str, key: str, entry: dict[str, Any], base: Coin | None, source: str) -> Coin:
    known = {"name", "symbol", "algorithm", "mineable", "block_time_s", "subsidy", "fees_per_block",
             "halving_interval", "height", "difficulty", "price_usd", "as_of", "note"}
    unknown = set(entry) - known
    if unknown:
        raise PresetError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    b = base or Coin(key=key, name="", symbol="", algorithm="")
    mineable = entry.get("mineable", b.mineable)
    if not isinstance(mineable, bool):
        raise PresetError(f"{where}: mineable must be true or false")
    coin = replace(
        b, key=key, source=source, mineable=mineable,
        name=_text(where, entry, "name", b.name or None),
        symbol=_text(where, entry, "symbol", b.symbol or None),
        algorithm=_text(where, entry, "algorithm", b.algorithm or None),
        block_time_s=_int(where, entry, "block_time_s", b.block_time_s),
        halving_interval=_int(where, entry, "halving_interval", b.halving_interval),
        height=_int(where, entry, "height", b.height),
        as_of=_text(where, entry, "as_of", b.as_of), note=_text(where, entry, "note", b.note),
    )
    if "subsidy" in entry:
        coin = replace(coin, subsidy_sat=_parsed(f"{where}.subsidy", units.coins_to_sat, entry["subsidy"], "subsidy"))
    if "fees_per_block" in entry:
        coin = replace(coin, fees_sat=_parsed(f"{where}.fees_per_block", units.coins_to_sat, entry["fees_per_block"],
                                              "fees_per_block"))
    if "difficulty" in entry:
        coin = replace(coin, difficulty=_parsed(f"{where}.difficulty", units.scaled, entry["difficulty"],
                                                "difficulty", positive=True))
    if "price_usd" in entry:
        coin = replace(coin, price_usd=_parsed(f"{where}.price_usd", units.money, entry["price_usd"], "price_usd"))
    if coin.mineable:
        if coin.algorithm not in ALGORITHMS:
            raise PresetError(f"{where}: algorithm must be one of {', '.join(ALGORITHMS)} for a mineable coin")
        if coin.block_time_s <= 0:
            raise PresetError(f"{where}: block_time_s must be greater than zero")
    return coin


def _merge(presets: Presets, data: dict[str, Any], label: str) -> Presets:
    hardware, coins = dict(presets.hardware), dict(presets.coins)
    unknown = set(data) - {"hardware", "coins"}
    if unknown:
        raise PresetError(f"{label}: unknown table(s) {', '.join(sorted(unknown))} (expected [hardware.*], [coins.*])")
    for table in ("hardware", "coins"):
        section = data.get(table, {})
        if not isinstance(section, dict):
            raise PresetError(f"{label}: {table} must be a table")
        for key, entry in section.items():
            where = f"{label}: [{table}.{key}]"
            if not isinstance(entry, dict):
                raise PresetError(f"{where}: must be a table")
            k = key.lower()
            if table == "hardware":
                hardware[k] = _hardware(where, k, entry, hardware.get(k), label)
            else:
                coins[k] = _coin(where, k, entry, coins.get(k), label)
    return Presets(hardware, coins)


def parse(text: str, label: str, base: Presets | None = None) -> Presets:
    """Presets from TOML text, merged over `base` (an empty set when None)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PresetError(f"{label}: not valid TOML ({e})") from None
    return _merge(base or Presets({}, {}), data, label)


def builtin() -> Presets:
    return parse(resources.files(__package__).joinpath("presets.toml").read_text("utf-8"), "builtin")


def load(*user_files: Path | None) -> Presets:
    """The shipped presets, then each user file that is given (a missing OPS_DIR/presets.toml is fine:
    pass only files that must exist)."""
    presets = builtin()
    for path in user_files:
        if path is None:
            continue
        try:
            text = path.read_text("utf-8")
        except OSError as e:
            raise PresetError(f"{path}: cannot read ({os.strerror(e.errno or 0) or e})") from None
        presets = parse(text, str(path), presets)
    return presets


def load_for_ops_dir(ops_dir: Path | None, extra: Path | None = None) -> Presets:
    user = ops_dir / USER_FILE if ops_dir is not None else None
    return load(user if user is not None and user.exists() else None, extra)
