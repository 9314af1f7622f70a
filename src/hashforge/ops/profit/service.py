"""From what the user typed (text, leniently parsed), presets, live chain data and measured hash
rate to calculator inputs — with the source of every input — plus the live inputs themselves (any
Bitcoin Core-compatible RPC), the measured hash rate, the CPU benchmark and the coin comparison."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hashforge.consensus.params import ChainParams, UnknownNetworkError, get_params
from hashforge.consensus.pow import block_subsidy, difficulty_exact

from . import units
from .calc import Chain, Inputs, Projection, Result, calculate, project
from .merged import ChainInputs, MergedResult, merged
from .presets import Coin, Hardware, Presets
from .units import InputError

if TYPE_CHECKING:
    from hashforge.services.registry import Components

CORE_CHAIN_NAMES = {"main": "mainnet", "test": "testnet3"}
# getblockchaininfo's `chain` is "main"/"test"/"regtest" on Litecoin and Dogecoin Core too: the coin
# says which network that is.
COIN_CHAIN_NAMES = {
    "LTC": {"main": "litecoin", "test": "litecoin-testnet4", "regtest": "litecoin-regtest"},
    "DOGE": {"main": "dogecoin", "test": "dogecoin-testnet", "regtest": "dogecoin-regtest"},
}
DEFAULT_ELECTRICITY = Decimal("0.10")
DEFAULT_FEE_BLOCKS = 24
REFERENCE_COIN = {"sha256d": "btc", "scrypt": "ltc"}
METHOD_NOT_FOUND = -32601
INVALID_PARAMETER, TYPE_ERROR = -8, -3  # Core's RPC_INVALID_PARAMETER, RPC_TYPE_ERROR


@dataclass
class CalcRequest:
    """Raw inputs, each optional; text is parsed leniently ("200TH/s", "3.5kW", "2%")."""

    preset: str | None = None
    hashrate: str | None = None
    power: str | None = None
    difficulty: str | None = None
    subsidy: str | None = None  # coins per block
    fees: str | None = None  # coins per block (average)
    price: str | None = None  # USD per coin
    electricity: str | None = None  # USD per kWh
    pool_fee: str | None = None  # percent
    hardware_cost: str | None = None  # USD
    coin: str | None = None  # reference coin for figures not given (btc, ltc, ...)
    months: int = 12
    growth: str | None = None  # percent per month
    # merged mining: an auxiliary chain's coin (doge) and its figures, each optional like the above
    merge: str | None = None
    merge_difficulty: str | None = None
    merge_subsidy: str | None = None
    merge_fees: str | None = None
    merge_price: str | None = None


@dataclass(frozen=True)
class LiveInputs:
    source: str
    chain: str
    algorithm: str
    height: int
    difficulty: Decimal
    subsidy_sat: int  # of the next block
    fees_sat: int | None  # average over fee_blocks recent blocks; None when the node lacks getblockstats
    fee_blocks: int
    halving_interval: int
    block_time_s: int


@dataclass
class Report:
    inputs: Inputs
    result: Result
    projection: Projection
    chain: Chain
    sources: dict[str, str]
    hardware: Hardware | None
    coin: Coin | None
    live: LiveInputs | None
    algorithm: str
    notes: list[str] = field(default_factory=list)
    symbol: str = "BTC"  # the ticker of the coin every coin figure of `result` is in
    merged: MergedResult | None = None  # with `CalcRequest.merge`: the parent's and each aux chain's
    merge_sources: dict[str, str] = field(default_factory=dict)


RPCCall = Callable[..., Awaitable[Any]]


def network_name(chain: str, coin: str | None) -> str:
    """hashforge's network name for a node's getblockchaininfo `chain`, given its coin (BTC default)."""
    if coin is not None and coin.upper() in COIN_CHAIN_NAMES:
        return COIN_CHAIN_NAMES[coin.upper()].get(chain, chain)
    return CORE_CHAIN_NAMES.get(chain, chain)


def next_subsidy(params: ChainParams, height: int) -> int:
    """The subsidy of block `height` + 1 by the network's schedule (consensus' block_subsidy:
    Dogecoin's own, 50 coins halved otherwise); Dogecoin's early random rewards count as 0."""
    try:
        return block_subsidy(height + 1, params)
    except ValueError:  # a random-reward era (needs the previous hash): long past on every network
        return 0


def _halving_interval(params: ChainParams, height: int) -> int:
    """0 where the subsidy no longer halves (Dogecoin's flat 10,000 DOGE from its sixth halving)."""
    if params.coin == "DOGE" and height + 1 >= 6 * params.subsidy_halving_interval:
        return 0
    return params.subsidy_halving_interval


async def live_inputs(call: RPCCall, source: str, fee_blocks: int = DEFAULT_FEE_BLOCKS,
                      coin: str | None = None) -> LiveInputs:
    """Difficulty, next subsidy and recent average fees from a node (ours, Bitcoin Core, or with
    `coin` LTC/DOGE Litecoin Core / Dogecoin Core: their `chain` names are Bitcoin's)."""
    from hashforge.rpcclient import RPCClientError

    info = await call("getblockchaininfo")
    height = int(info["blocks"])
    chain = str(info["chain"])
    bits = info.get("bits")
    if isinstance(bits, str):  # exact difficulty from nBits (Core >= 28 and ours report it)
        exact = difficulty_exact(int(bits, 16))
        difficulty = Decimal(exact.numerator) / Decimal(exact.denominator)
    else:
        difficulty = Decimal(str(info["difficulty"]))
    try:
        params = get_params(network_name(chain, coin))
        interval, spacing, algorithm = (_halving_interval(params, height), params.pow_target_spacing,
                                        params.pow_algorithm.value)
        subsidy = next_subsidy(params, height)
    except UnknownNetworkError:
        interval, spacing, algorithm = 210_000, 600, "sha256d"
        subsidy = Chain(height, interval, spacing).subsidy_at(height + 1)
    fees: int | None = None
    heights = list(range(max(1, height - fee_blocks + 1), height + 1))
    if heights:
        try:
            total = 0
            for h in heights:
                total += int((await call("getblockstats", h, ["totalfee"]))["totalfee"])
            fees = total // len(heights)
        except RPCClientError as e:
            # absent, or an older form taking a block hash (Dogecoin Core 1.14): no fee average
            if e.code not in (METHOD_NOT_FOUND, INVALID_PARAMETER, TYPE_ERROR):
                raise
    else:
        fees = 0
    return LiveInputs(source=source, chain=chain, algorithm=algorithm, height=height, difficulty=difficulty,
                      subsidy_sat=subsidy, fees_sat=fees, fee_blocks=len(heights), halving_interval=interval,
                      block_time_s=spacing)


async def measured_hashrate(components: Components) -> tuple[Decimal, str] | None:
    """Our pool's hash rate (accepted shares, 10 min), else our miner's (cgminer API, 1 min)."""
    pool = components.gateway("pool")
    if pool is not None:
        try:
            stats = await pool.stats(600)
            rate = Decimal(str(stats.get("hashrate_hps", 0)))
            if rate > 0:
                return rate, "pool (accepted shares, last 10 min)"
        except Exception:  # a pool that does not answer just gives no measurement
            pass
    miner = components.gateway("miner")
    if miner is not None:
        try:
            summary = await miner.summary()
            mhs = summary.get("MHS 1m") or summary.get("MHS av") or 0
            rate = Decimal(str(mhs)) * 1_000_000
            if rate > 0:
                return rate, "miner (cgminer API, last minute)"
        except Exception:
            pass
    return None


def bench_hashrate(algorithm: str, seconds: float = 1.0) -> Decimal:
    """This computer's hash rate on all cores, by a short `hashforge bench` run."""
    from hashforge.kernels.bench import bench

    for attempt in (seconds, seconds * 4):  # a loaded machine may start its threads too late once
        rate = Decimal(str(bench(algorithm, "auto", os.cpu_count() or 1, attempt)["hashrate"]))
        if rate > 0:
            return rate
    raise InputError("hashrate", f"the benchmark measured no hashes in {seconds * 5:g} s; give a hash rate")


def comparison_machine(presets: Presets, preset: str | None, hashrate: str | None, power: str | None,
                       algorithm: str | None, bench_seconds: float) -> tuple[str, Decimal, Decimal]:
    """The machine `compare` is asked about: (algorithm, H/s, W) from the options, else the hardware
    preset (a preset without a hash rate is measured by the bench). InputError names the option."""
    from .presets import ALGORITHMS

    hw = presets.get_hardware(preset) if preset else None
    algo = algorithm or (hw.algorithm if hw else "sha256d")
    if algo not in ALGORITHMS:
        raise InputError("algorithm", f"must be one of {', '.join(ALGORITHMS)} (got {algo!r})")
    if hashrate:
        rate = units.hashrate("hashrate", hashrate, positive=True)
    elif hw is not None:
        rate = hw.hashrate_hps if hw.hashrate_hps is not None else bench_hashrate(algo, bench_seconds)
    else:
        raise InputError("hashrate", "give a hash rate or a hardware preset")
    if power:
        watts = units.power("power", power)
    elif hw is not None:
        watts = hw.power_w
    else:
        raise InputError("power", "give the power draw or a hardware preset")
    return algo, rate, watts


def _opt(text: str | None) -> str | None:
    return None if text is None or not str(text).strip() else str(text)


def build(req: CalcRequest, presets: Presets, live: LiveInputs | None = None,
          measured: tuple[Decimal, str] | None = None, bench: Callable[[str], Decimal] | None = None,
          merge_live: LiveInputs | None = None) -> Report:
    """The calculation for `req`: each input from the user, else live/measured data, else the preset,
    else the reference coin's figures (offline defaults, labelled as such in `sources`). With
    `req.merge`, also the merged revenue of the parent and that auxiliary chain (`merge_live`: the
    aux chain's node)."""
    sources: dict[str, str] = {}
    notes: list[str] = []
    hardware = presets.get_hardware(req.preset) if req.preset and _opt(req.preset) else None
    algorithm = hardware.algorithm if hardware else (live.algorithm if live else "sha256d")
    coin_key = (_opt(req.coin) or REFERENCE_COIN.get(algorithm, "btc")).lower()
    coin = presets.coins.get(coin_key)
    if coin is None:
        raise InputError("coin", f"no coin {coin_key!r} (known: {', '.join(sorted(presets.coins))})")
    if not coin.mineable:
        raise InputError("coin", f"{coin.name} is not mineable: {coin.note}")
    if _opt(req.coin) and hardware is not None and coin.algorithm != hardware.algorithm:
        raise InputError("coin", f"{coin.name} uses {coin.algorithm}; {hardware.name} mines {hardware.algorithm}")
    ref = f"reference {coin.symbol} figure ({coin.as_of})"

    rate: Decimal
    if _opt(req.hashrate):
        rate, sources["hashrate"] = units.hashrate("hashrate", str(req.hashrate), positive=True), "user"
    elif measured is not None:
        rate, sources["hashrate"] = measured
    elif hardware is not None and hardware.hashrate_hps is not None:
        rate, sources["hashrate"] = hardware.hashrate_hps, f"preset {hardware.key}"
    elif hardware is not None:
        if bench is None:
            raise InputError("hashrate", f"preset {hardware.key} is measured by `hashforge bench`; give a hash rate")
        rate, sources["hashrate"] = bench(hardware.algorithm), "measured now (hashforge bench, all cores)"
    else:
        raise InputError("hashrate", "give a hash rate (e.g. 200TH/s) or a hardware preset")

    if _opt(req.power):
        power, sources["power"] = units.power("power", str(req.power)), "user"
    elif hardware is not None:
        power, sources["power"] = hardware.power_w, f"preset {hardware.key}"
    else:
        raise InputError("power", "give the power draw (e.g. 3500W) or a hardware preset")

    use_live = live is not None and (not _opt(req.coin) or coin.algorithm == live.algorithm)
    if live is not None and hardware is not None and live.algorithm != hardware.algorithm:
        notes.append(f"the node's chain ({live.chain}) uses {live.algorithm}; {hardware.name} mines "
                     f"{hardware.algorithm}: its figures are used anyway")

    def pick(name: str, parse: Callable[[], Any], live_value: Any, ref_value: Any, missing: str) -> Any:
        if _opt(getattr(req, name)):
            sources[name] = "user"
            return parse()
        if use_live and live_value is not None:
            assert live is not None
            sources[name] = f"node ({live.chain} at height {live.height})"
            return live_value
        if ref_value is not None:
            sources[name] = ref
            return ref_value
        raise InputError(name, missing)

    difficulty = pick("difficulty", lambda: units.scaled("difficulty", str(req.difficulty), positive=True),
                      live.difficulty if live else None, coin.difficulty, "give the network difficulty")
    subsidy = pick("subsidy", lambda: units.coins_to_sat("subsidy", str(req.subsidy)),
                   live.subsidy_sat if live else None, coin.subsidy_sat, "give the block subsidy")
    if _opt(req.fees):
        fees, sources["fees"] = units.coins_to_sat("fees", str(req.fees)), "user"
    elif use_live and live is not None:
        if live.fees_sat is not None:
            fees, sources["fees"] = live.fees_sat, f"node (average of the last {live.fee_blocks} blocks)"
        else:
            fees, sources["fees"] = 0, "0 (the node has no getblockstats)"
    else:
        fees, sources["fees"] = coin.fees_sat, ref
    price = pick("price", lambda: units.money("price", str(req.price)), None, coin.price_usd,
                 "give the coin's price in USD")
    if _opt(req.electricity):
        electricity, sources["electricity"] = units.money("electricity", str(req.electricity)), "user"
    else:
        electricity, sources["electricity"] = DEFAULT_ELECTRICITY, "default (USD 0.10/kWh)"
    if _opt(req.pool_fee):
        pool_fee, sources["pool_fee"] = units.percent("pool_fee", str(req.pool_fee)), "user"
    else:
        pool_fee, sources["pool_fee"] = Decimal(0), "default (no pool fee: solo)"
    hardware_cost: Decimal | None = None
    if _opt(req.hardware_cost):
        hardware_cost, sources["hardware_cost"] = units.money("hardware_cost", str(req.hardware_cost)), "user"
    elif hardware is not None and hardware.cost_usd is not None:
        hardware_cost, sources["hardware_cost"] = hardware.cost_usd, f"preset {hardware.key}"
    growth = units.percent("growth", str(req.growth), upper=Decimal(1000), allow_negative=True) \
        if _opt(req.growth) else Decimal(0)
    inputs = Inputs(hashrate_hps=rate, power_w=power, difficulty=difficulty, subsidy_sat=subsidy, fees_sat=fees,
                    price=price, electricity=electricity, pool_fee_pct=pool_fee, hardware_cost=hardware_cost)
    if use_live and live is not None:
        chain = Chain(live.height, live.halving_interval or 10**12, live.block_time_s)
    else:
        chain = Chain(coin.height, coin.halving_interval or 10**12, coin.block_time_s)
    report = Report(inputs=inputs, result=calculate(inputs), projection=project(inputs, chain, req.months, growth),
                    chain=chain, sources=sources, hardware=hardware, coin=None if use_live else coin, live=live,
                    algorithm=algorithm, notes=notes, symbol=coin.symbol)
    if _opt(req.merge):
        _add_merged(report, req, presets, coin, merge_live)
    return report


def _add_merged(report: Report, req: CalcRequest, presets: Presets, parent: Coin, live: LiveInputs | None) -> None:
    """Merged revenue: the parent's figures as calculated, the aux chain's from the user, else its
    node, else its reference figures (each source in `merge_sources`)."""
    key = str(req.merge).strip().lower()
    aux = presets.coins.get(key)
    if aux is None:
        raise InputError("merge", f"no coin {key!r} (known: {', '.join(sorted(presets.coins))})")
    if aux.algorithm != report.algorithm or aux.key == parent.key:
        raise InputError("merge", f"{aux.name} ({aux.algorithm}) cannot be merge-mined with {parent.name} "
                                  f"on a {report.algorithm} machine")
    if live is not None and live.algorithm != aux.algorithm:
        raise InputError("merge", f"the merge node's chain ({live.chain}) is {live.algorithm}, not {aux.name}'s {aux.algorithm}")
    sources: dict[str, str] = {}
    ref = f"reference {aux.symbol} figure ({aux.as_of})"

    def pick(name: str, text: str | None, parse: Callable[[str], Any], live_value: Any, ref_value: Any) -> Any:
        if _opt(text):
            sources[name] = "user"
            return parse(str(text))
        if live is not None and live_value is not None:
            sources[name] = f"node ({live.chain} at height {live.height})"
            return live_value
        if ref_value is None:
            raise InputError(f"merge_{name}", f"give {aux.name}'s {name}")
        sources[name] = ref
        return ref_value

    difficulty = pick("difficulty", req.merge_difficulty, lambda t: units.scaled("merge_difficulty", t, positive=True),
                      live.difficulty if live else None, aux.difficulty)
    subsidy = pick("subsidy", req.merge_subsidy, lambda t: units.coins_to_sat("merge_subsidy", t),
                   live.subsidy_sat if live else None, aux.subsidy_sat)
    fees = pick("fees", req.merge_fees, lambda t: units.coins_to_sat("merge_fees", t),
                live.fees_sat if live else None, aux.fees_sat)
    price = pick("price", req.merge_price, lambda t: units.money("merge_price", t), None, aux.price_usd)
    i = report.inputs
    report.merged = merged(i.hashrate_hps, i.power_w, i.electricity, i.pool_fee_pct, [
        ChainInputs(report.symbol, i.difficulty, i.subsidy_sat, i.fees_sat, i.price),
        ChainInputs(aux.symbol, difficulty, subsidy, fees, price),
    ])
    report.merge_sources = sources
    report.notes.append(f"merged mining: {aux.symbol} is earned on the same hashes as {report.symbol}, at its own "
                        f"difficulty; the projection covers {report.symbol} only")


@dataclass(frozen=True)
class CompareRow:
    coin: Coin
    mineable: bool
    reason: str  # why not, when not mineable with this hardware
    result: Result | None


def compare(presets: Presets, algorithm: str, hashrate_hps: Decimal, power_w: Decimal, electricity: Decimal,
            pool_fee_pct: Decimal) -> list[CompareRow]:
    """Every coin of the presets for this hardware, best profit first, then those it cannot mine."""
    rows: list[CompareRow] = []
    for coin in presets.coins.values():
        if not coin.mineable:
            rows.append(CompareRow(coin, False, coin.note or "not mineable", None))
        elif coin.algorithm != algorithm:
            rows.append(CompareRow(coin, False, f"needs a {coin.algorithm} machine; this hardware mines {algorithm}",
                                   None))
        elif coin.difficulty is None or coin.price_usd is None:
            rows.append(CompareRow(coin, False, "no difficulty or price in the presets", None))
        else:
            r = calculate(Inputs(hashrate_hps=hashrate_hps, power_w=power_w, difficulty=coin.difficulty,
                                 subsidy_sat=coin.subsidy_sat, fees_sat=coin.fees_sat, price=coin.price_usd,
                                 electricity=electricity, pool_fee_pct=pool_fee_pct))
            rows.append(CompareRow(coin, True, "", r))
    rows.sort(key=lambda r: (not r.mineable, -(r.result.profit_per_day if r.result else Decimal(0)), r.coin.key))
    return rows
