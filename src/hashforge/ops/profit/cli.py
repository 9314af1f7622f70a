"""`hashforge calc`: the profitability calculator on the command line (`calc`, `calc presets`,
`calc compare`), every command with `--json`."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from hashforge.cliutil import fail

from . import presets as presets_mod
from . import units
from .calc import sig
from .jsonview import compare_json, presets_json, report_json
from .presets import PresetError, Presets
from .service import (
    DEFAULT_FEE_BLOCKS,
    REFERENCE_COIN,
    CalcRequest,
    LiveInputs,
    Report,
    bench_hashrate,
    build,
    compare,
    comparison_machine,
    live_inputs,
)
from .units import InputError

OPTION = {"price": "--price-usd", "pool_fee": "--pool-fee", "hardware_cost": "--hardware-cost",
          "fees_per_block": "--fees"}

calc_app = typer.Typer(
    help="Mining profitability: coins/day, revenue, electricity, profit, break-even, projection.",
    invoke_without_command=True, add_completion=False,
)

PresetsFile = Annotated[Path | None, typer.Option("--presets", help="Your own presets TOML (adds to/overrides the shipped ones).")]
OpsDir = Annotated[Path | None, typer.Option("--ops-dir", help="Ops directory: its presets.toml is read if present.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _option(field: str) -> str:
    return OPTION.get(field, "--" + field.replace("_", "-"))


def _load(presets_file: Path | None, ops_dir: Path | None) -> Presets:
    if presets_file is not None and not presets_file.is_file():
        fail(f"--presets: {presets_file}: no such file")
    try:
        return presets_mod.load_for_ops_dir(ops_dir, presets_file)
    except PresetError as e:
        fail(str(e))


def _fiat(value: Decimal | None, per: str = "") -> str:
    if value is None:
        return "–"
    text = f"${value:,.2f}" if abs(value) >= Decimal("0.01") or value == 0 else f"${sig(value, 3)}"
    return text.replace("$-", "-$") + per


def _num(value: Decimal | None, places: int = 2) -> str:
    return "–" if value is None else f"{value:,.{places}f}"


def _fetch_live(node_rpc: str, node_cookie: Path | None, fee_blocks: int, coin: str | None = None,
                option: str = "--node-rpc") -> LiveInputs:
    from hashforge.rpcclient import AsyncRPCClient, RPCClientError, RPCTransportError, split_rpc_url

    url, user, password = split_rpc_url(node_rpc)
    if node_cookie is not None and not node_cookie.is_file():
        fail(f"{option.replace('rpc', 'cookie')}: {node_cookie}: no such file")

    try:
        AsyncRPCClient(url, user, password, node_cookie)  # checks the credentials only (no I/O)
    except ValueError as e:
        fail(f"{option}: {e} (http://USER:PASS@HOST:PORT or {option.replace('rpc', 'cookie')} FILE)")

    async def run() -> LiveInputs:
        client = AsyncRPCClient(url, user, password, node_cookie, timeout=30)
        try:
            return await live_inputs(client.call, url, fee_blocks, coin)
        finally:
            await client.aclose()

    try:
        return asyncio.run(run())
    except (RPCTransportError, RPCClientError) as e:
        fail(f"{option}: cannot read live inputs from {url}: {e}")
    except (KeyError, TypeError, ValueError) as e:
        fail(f"{option}: {url} answered something that is not Bitcoin Core's RPC ({e!r})")


def _symbol(presets: Presets, coin: str | None) -> str | None:
    """The ticker of a coin preset key (ltc -> LTC), which tells a node's network apart (a
    litecoind's getblockchaininfo says "regtest" like bitcoind's); None when not a known coin."""
    found = presets.coins.get(coin.strip().lower()) if coin else None
    return None if found is None else found.symbol


def _preset_coin(presets: Presets, preset: str | None) -> str | None:
    """The reference coin of a hardware preset's algorithm (an L7 mines scrypt: ltc)."""
    hw = presets.hardware.get(preset.strip().lower()) if preset else None
    return None if hw is None else REFERENCE_COIN.get(hw.algorithm)


def _print_report(r: Report) -> None:
    i, res, p = r.inputs, r.result, r.projection
    what = f"{r.hardware.name} (preset {r.hardware.key})" if r.hardware else "Your hardware"
    eff = f", {_num(res.efficiency_j_per_th, 1)} J/TH" if res.efficiency_j_per_th is not None else ""
    typer.echo(f"{what}: {r.algorithm}, {units.human_hashrate(i.hashrate_hps)}, {_num(i.power_w, 0)} W{eff}")
    typer.echo(f"  difficulty {sig(i.difficulty, 6)} ({r.sources['difficulty']}); reward "
               f"{Decimal(i.subsidy_sat) / units.COIN} + {Decimal(i.fees_sat) / units.COIN} {r.symbol} fees per block")
    typer.echo(f"  price {_fiat(i.price)}/{r.symbol} ({r.sources['price']}); electricity {_fiat(i.electricity, '/kWh')} "
               f"({r.sources['electricity']}); pool fee {sig(i.pool_fee_pct)} %")
    typer.echo(f"Per day:    {sig(res.coins_per_day, 6)} {r.symbol} ({_num(res.sat_per_day, 1)} sat), revenue "
               f"{_fiat(res.revenue_per_day)}, electricity {_fiat(res.cost_per_day)} "
               f"({_num(res.energy_kwh_per_day, 1)} kWh), profit {_fiat(res.profit_per_day)}")
    margin = "–" if res.margin_pct is None else f"{res.margin_pct:.1f} %"
    typer.echo(f"Per month:  profit {_fiat(res.profit_per_month)}; per year {_fiat(res.profit_per_year)}; "
               f"margin {margin}")
    days = "never at these figures" if res.break_even_days is None else f"{_num(res.break_even_days, 0)} days"
    hw = f"; hardware {_fiat(i.hardware_cost)} pays back in {days}" if i.hardware_cost is not None else ""
    typer.echo(f"Break-even: electricity {_fiat(res.break_even_electricity, '/kWh')}; coin price "
               f"{_fiat(res.break_even_price)}{hw}")
    typer.echo(f"Projection: {len(p.months)} months, difficulty {sig(p.growth_pct)} %/month, next halving at "
               f"height {p.next_halving_height:,} in {_num(p.next_halving_day, 0)} days; total profit "
               f"{_fiat(p.total_profit)}" + (f"; paid back in month {p.payback_month}" if p.payback_month else ""))
    typer.echo(f"  {'month':>5} {'difficulty':>12} {'revenue':>14} {'electricity':>14} {'profit':>14} {'cumulative':>14}")
    for m in p.months:
        mark = " halving" if m.halving else ""
        typer.echo(f"  {m.month:>5} {sig(m.difficulty, 4):>12} {_fiat(m.revenue):>14} {_fiat(m.cost):>14} "
                   f"{_fiat(m.profit):>14} {_fiat(m.cumulative_profit):>14}{mark}")
    if r.merged is not None:
        _print_merged(r)
    for note in r.notes:
        typer.echo(f"Note: {note}")


def _print_merged(r: Report) -> None:
    m = r.merged
    assert m is not None
    typer.echo(f"Merged mining ({' + '.join(c.coin for c in m.chains)}), per day:")
    for c in m.chains:
        share = "" if c.revenue_share_pct is None else f", {c.revenue_share_pct:.1f} % of revenue"
        typer.echo(f"  {c.coin:<5} {sig(c.coins_per_day, 6)} {c.coin} at difficulty {sig(c.difficulty, 6)}, "
                   f"{_fiat(c.price)}/{c.coin} -> {_fiat(c.revenue_per_day)}{share}")
    typer.echo(f"  total revenue {_fiat(m.revenue_per_day)}, electricity {_fiat(m.cost_per_day)}, profit "
               f"{_fiat(m.profit_per_day)} (month {_fiat(m.profit_per_month)}, year {_fiat(m.profit_per_year)})")
    aux = ", ".join(f"{k} {v}" for k, v in r.merge_sources.items())
    typer.echo(f"  {m.chains[-1].coin} figures: {aux}")


@calc_app.callback()
def calc(
    ctx: typer.Context,
    preset: Annotated[str | None, typer.Option("--preset", help="Hardware preset (see `calc presets`): s21, s21-pro, bitaxe-gamma, l7, cpu, ...")] = None,
    hashrate: Annotated[str | None, typer.Option("--hashrate", help="Hash rate, e.g. 200TH/s (overrides the preset).")] = None,
    power: Annotated[str | None, typer.Option("--power", help="Power draw, e.g. 3500W or 3.5kW.")] = None,
    difficulty: Annotated[str | None, typer.Option("--difficulty", help="Network difficulty, e.g. 1.1e14 or 110T.")] = None,
    subsidy: Annotated[str | None, typer.Option("--subsidy", help="Block subsidy in coins, e.g. 3.125.")] = None,
    fees: Annotated[str | None, typer.Option("--fees", help="Average fees per block in coins, e.g. 0.02.")] = None,
    price_usd: Annotated[str | None, typer.Option("--price-usd", help="Coin price in USD.")] = None,
    electricity: Annotated[str | None, typer.Option("--electricity", help="Electricity price, USD per kWh (default 0.10).")] = None,
    pool_fee: Annotated[str | None, typer.Option("--pool-fee", help="Pool fee in percent, e.g. 2 or 2%.")] = None,
    hardware_cost: Annotated[str | None, typer.Option("--hardware-cost", help="Hardware cost in USD, for break-even days.")] = None,
    coin: Annotated[str | None, typer.Option("--coin", help="Reference coin for figures not given (btc, bch, ltc, doge).")] = None,
    months: Annotated[int, typer.Option("--months", help="Projection length in months (1-240).")] = 12,
    growth: Annotated[str | None, typer.Option("--growth", help="Difficulty growth per month in percent, e.g. 3%.")] = None,
    node_rpc: Annotated[str | None, typer.Option("--node-rpc", help="Live inputs from a node: http://USER:PASS@HOST:PORT (ours or Bitcoin Core).")] = None,
    node_cookie: Annotated[Path | None, typer.Option("--node-cookie", help="Node RPC cookie file (instead of USER:PASS).")] = None,
    fee_blocks: Annotated[int, typer.Option("--fee-blocks", help="Recent blocks averaged for fees (live).", min=1, max=1000)] = DEFAULT_FEE_BLOCKS,
    bench_seconds: Annotated[float, typer.Option("--bench-seconds", help="How long the cpu preset benchmarks.", min=0.1, max=60)] = 1.0,
    merge: Annotated[str | None, typer.Option("--merge", help="Merge-mined auxiliary coin (doge with ltc): adds its revenue.")] = None,
    merge_difficulty: Annotated[str | None, typer.Option("--merge-difficulty", help="The aux chain's difficulty.")] = None,
    merge_subsidy: Annotated[str | None, typer.Option("--merge-subsidy", help="The aux chain's block subsidy in its coins.")] = None,
    merge_fees: Annotated[str | None, typer.Option("--merge-fees", help="The aux chain's fees per block in its coins.")] = None,
    merge_price_usd: Annotated[str | None, typer.Option("--merge-price-usd", help="The aux coin's price in USD.")] = None,
    merge_node_rpc: Annotated[str | None, typer.Option("--merge-node-rpc", help="Live aux-chain inputs from its node (dogecoind): http://USER:PASS@HOST:PORT.")] = None,
    merge_node_cookie: Annotated[Path | None, typer.Option("--merge-node-cookie", help="The aux node's RPC cookie file.")] = None,
    presets_file: PresetsFile = None,
    ops_dir: OpsDir = None,
    as_json: Json = False,
) -> None:
    """Expected coins/day, revenue, electricity cost, profit, margin and break-even for your hardware.

    Example: hashforge calc --preset s21 --difficulty 1.1e14 --price-usd 95000 --electricity 0.08 --pool-fee 2
    """
    if ctx.invoked_subcommand is not None:
        return
    presets = _load(presets_file, ops_dir)
    if merge_node_rpc and not merge:
        fail("--merge-node-rpc: give --merge COIN (the aux chain's coin, e.g. doge)")
    live = _fetch_live(node_rpc, node_cookie, fee_blocks, _symbol(presets, coin or _preset_coin(presets, preset))) \
        if node_rpc else None
    merge_live = _fetch_live(merge_node_rpc, merge_node_cookie, fee_blocks, _symbol(presets, merge),
                             "--merge-node-rpc") if merge_node_rpc else None
    req = CalcRequest(preset=preset, hashrate=hashrate, power=power, difficulty=difficulty, subsidy=subsidy,
                      fees=fees, price=price_usd, electricity=electricity, pool_fee=pool_fee,
                      hardware_cost=hardware_cost, coin=coin, months=months, growth=growth, merge=merge,
                      merge_difficulty=merge_difficulty, merge_subsidy=merge_subsidy, merge_fees=merge_fees,
                      merge_price=merge_price_usd)
    try:
        report = build(req, presets, live, bench=lambda algo: bench_hashrate(algo, bench_seconds),
                       merge_live=merge_live)
    except InputError as e:
        fail(f"{_option(e.field)}: {e.message}")
    if as_json:
        typer.echo(json.dumps(report_json(report)))
    else:
        _print_report(report)


@calc_app.command("presets")
def presets_command(presets_file: PresetsFile = None, ops_dir: OpsDir = None, as_json: Json = False) -> None:
    """List the hardware and coin presets (shipped, plus yours)."""
    p = _load(presets_file, ops_dir)
    if as_json:
        typer.echo(json.dumps(presets_json(p)))
        return
    typer.echo("Hardware:")
    for h in p.hardware.values():
        rate = "measured by hashforge bench" if h.hashrate_hps is None else units.human_hashrate(h.hashrate_hps)
        typer.echo(f"  {h.key:<14} {h.name} — {h.algorithm}, {rate}, {_num(h.power_w, 0)} W ({h.source})")
    typer.echo("Coins:")
    for c in p.coins.values():
        if not c.mineable:
            typer.echo(f"  {c.key:<14} {c.name} — {c.note}")
        else:
            typer.echo(f"  {c.key:<14} {c.name} ({c.symbol}) — {c.algorithm}, {c.block_time_s} s blocks, "
                       f"difficulty {sig(c.difficulty, 4)}, {_fiat(c.price_usd)} (as of {c.as_of})")


@calc_app.command("compare")
def compare_command(
    preset: Annotated[str | None, typer.Option("--preset", help="Hardware preset.")] = None,
    hashrate: Annotated[str | None, typer.Option("--hashrate", help="Hash rate (with --algorithm when no preset).")] = None,
    power: Annotated[str | None, typer.Option("--power", help="Power draw.")] = None,
    algorithm: Annotated[str | None, typer.Option("--algorithm", help="sha256d or scrypt (default: the preset's).")] = None,
    electricity: Annotated[str, typer.Option("--electricity", help="USD per kWh.")] = "0.10",
    pool_fee: Annotated[str, typer.Option("--pool-fee", help="Pool fee in percent.")] = "0",
    bench_seconds: Annotated[float, typer.Option("--bench-seconds", min=0.1, max=60)] = 1.0,
    presets_file: PresetsFile = None,
    ops_dir: OpsDir = None,
    as_json: Json = False,
) -> None:
    """Compare the coins of the presets (SHA-256d and scrypt chains) for one machine."""
    p = _load(presets_file, ops_dir)
    try:
        algo, rate, watts = comparison_machine(p, preset, hashrate, power, algorithm, bench_seconds)
        rows = compare(p, algo, rate, watts, units.money("electricity", electricity),
                       units.percent("pool_fee", pool_fee))
    except InputError as e:
        fail(f"{_option(e.field)}: {e.message}")
    if as_json:
        typer.echo(json.dumps(compare_json(algo, rate, watts, rows)))
        return
    typer.echo(f"{units.human_hashrate(rate)} {algo} at {_num(watts, 0)} W (coin figures: reference values from "
               "the presets; see `calc presets`)")
    for r in rows:
        if r.result is None:
            typer.echo(f"  {r.coin.name:<14} –  {r.reason}")
        else:
            typer.echo(f"  {r.coin.name:<14} {sig(r.result.coins_per_day, 6)} {r.coin.symbol}/day, revenue "
                       f"{_fiat(r.result.revenue_per_day)}, profit {_fiat(r.result.profit_per_day)}/day")
