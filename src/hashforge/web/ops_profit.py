"""Dashboard page /profit: the calculator as a GET form (bookmarkable), its figures, charts of profit
vs electricity price and profit over time (difficulty growth, halving), and the coin comparison."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from hashforge.consensus.params import PowAlgorithm
from hashforge.httpedge.access import ReadAccess
from hashforge.ops.gateway import OpsGateway
from hashforge.ops.profit import units
from hashforge.ops.profit.calc import profit_at_electricity, sig
from hashforge.ops.profit.service import CalcRequest, Report, compare
from hashforge.services.errors import NodeFailed, NodeUnavailable, ServiceError
from hashforge.services.ops_profit import BadCalcInput, load_presets, report

from .charts import line_chart

router = APIRouter(include_in_schema=False)
FIELDS = ("preset", "hashrate", "power", "difficulty", "price_usd", "electricity", "pool_fee", "hardware_cost",
          "growth", "coin", "merge", "merge_price_usd", "merge_difficulty")
Text = Annotated[str | None, Query(max_length=64)]
CURVE_POINTS = 21


def usd(value: Decimal | float | None, places: int = 2) -> str:
    """Dollars with `places` decimals; tiny amounts (CPU mining) with 3 significant digits."""
    if value is None:
        return "–"
    d = Decimal(str(value))
    text = f"${d:,.{places}f}" if abs(d) >= Decimal(1).scaleb(-places) or d == 0 else f"${sig(d, 3)}"
    return text.replace("$-", "-$")


def _fnum(value: float) -> str:
    return usd(value)


def _charts(r: Report) -> dict[str, str]:
    i, res = r.inputs, r.result
    top = max(res.break_even_electricity or Decimal(0), i.electricity) * 2 or Decimal("0.30")
    prices = [top * k / (CURVE_POINTS - 1) for k in range(CURVE_POINTS)]
    curve = [(float(p), float(v)) for p, v in profit_at_electricity(i, prices)]
    electricity = line_chart(
        curve, "Profit per day by electricity price", _fnum, x_format=lambda x: f"${x:.3f}/kWh",
        chart_id="chart-profit-electricity", allow_negative=True)
    months = r.projection.months
    monthly = line_chart(
        [(float(m.month), float(m.profit)) for m in months],
        f"Profit per month with difficulty growing {sig(r.projection.growth_pct)} % a month", _fnum,
        x_format=lambda x: f"month {x:.0f}", chart_id="chart-profit-time", allow_negative=True,
        empty_text="Project at least two months to see a chart")
    cumulative = line_chart(
        [(float(m.month), float(m.cumulative_profit)) for m in months], "Cumulative profit", _fnum,
        x_format=lambda x: f"month {x:.0f}", chart_id="chart-profit-cumulative", allow_negative=True,
        series2=[(float(m.month), float(i.hardware_cost)) for m in months] if i.hardware_cost is not None else None,
        series2_label=f"hardware cost {usd(i.hardware_cost)}",
        empty_text="Project at least two months to see a chart")
    return {"electricity": electricity, "monthly": monthly, "cumulative": cumulative}


@router.get("/profit", response_class=HTMLResponse)
async def profit_page(
    request: Request, _: ReadAccess,
    preset: Text = None, hashrate: Text = None, power: Text = None, difficulty: Text = None,
    price_usd: Text = None, electricity: Text = None, pool_fee: Text = None, hardware_cost: Text = None,
    growth: Text = None, months: Text = None, live: Text = None, measured: Text = None,
    coin: Text = None, merge: Text = None, merge_price_usd: Text = None, merge_difficulty: Text = None,
) -> HTMLResponse:
    from .render import page

    ops: OpsGateway | None = request.app.state.components.gateway("ops")
    submitted = any(v is not None for v in (preset, hashrate, power, difficulty, price_usd, electricity, months))
    form = {k: v or "" for k, v in dict(preset=preset, hashrate=hashrate, power=power, difficulty=difficulty,
                                          price_usd=price_usd, electricity=electricity, pool_fee=pool_fee,
                                          hardware_cost=hardware_cost, growth=growth, coin=coin, merge=merge,
                                          merge_price_usd=merge_price_usd, merge_difficulty=merge_difficulty).items()}
    network = ops.params.name if ops is not None else "mainnet"
    if not submitted:  # a machine of the operation's own algorithm; on Litecoin, Dogecoin merged as up does
        scrypt = ops is not None and ops.params.pow_algorithm is PowAlgorithm.SCRYPT
        form.update(preset="l7" if scrypt else "s21", electricity="0.08", pool_fee="2", hardware_cost="5000",
                    growth="2%")
        if network.startswith("litecoin"):
            form.update(merge="doge")
    form["months"] = months or "24"
    test_network = network not in ("mainnet", "litecoin", "dogecoin")  # the networks whose coins have a price
    # a test network's coins have no price: its live difficulty with Bitcoin's price is nonsense
    use_live = (live == "1") if submitted else not test_network
    use_measured = measured == "1"
    ctx: dict[str, Any] = {"nav": "profit", "form": form, "live": use_live, "measured": use_measured,
                           "error": None, "report": None, "charts": None, "comparison": None, "notes": [],
                           "presets": None, "usd": usd, "sig": sig, "human_hashrate": units.human_hashrate}
    if ops is None:
        return page(request, "profit.html", **ctx)
    try:
        presets = load_presets(ops)
    except ServiceError as e:
        ctx["error"] = e.detail
        return page(request, "profit.html", 500, **ctx)
    ctx["presets"] = presets
    try:
        n_months = units.integer("months", form["months"], low=1, high=240)
    except units.InputError as e:
        ctx["error"] = f"months: {e.message}"
        return page(request, "profit.html", 400, **ctx)
    req = CalcRequest(preset=form["preset"], hashrate=form["hashrate"], power=form["power"],
                      difficulty=form["difficulty"], price=form["price_usd"], electricity=form["electricity"],
                      pool_fee=form["pool_fee"], hardware_cost=form["hardware_cost"], months=n_months,
                      growth=form["growth"], coin=form["coin"], merge=form["merge"],
                      merge_price=form["merge_price_usd"], merge_difficulty=form["merge_difficulty"])
    try:
        try:
            r = await report(ops, req, live=use_live, measured=use_measured)
        except (NodeUnavailable, NodeFailed):
            r = await report(ops, req, live=False, measured=use_measured)
            ctx["notes"].append("The node is not answering: reference figures are used instead of live ones.")
    except BadCalcInput as e:
        ctx["error"] = e.detail
        return page(request, "profit.html", 400, **ctx)
    if test_network and not use_live:
        ctx["notes"].append(f"{network} is a test network and its coins have no market price: these figures use "
                            f"{r.symbol} mainnet reference figures. Tick \u201cLive difficulty\u201d to use the node's.")
    elif test_network:
        ctx["notes"].append(f"Live figures from {network}, a test network: its coins have no market price, "
                            "so the revenue is what they would be worth at the price given.")
    ctx["notes"].extend(r.notes)
    ctx.update(report=r, charts=_charts(r), comparison=compare(
        presets, r.algorithm, r.inputs.hashrate_hps, r.inputs.power_w, r.inputs.electricity, r.inputs.pool_fee_pct))
    return page(request, "profit.html", **ctx)
