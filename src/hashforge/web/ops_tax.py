"""Dashboard page /tax: a tax year's income, expenses and gains (by lot method), charts, warnings
(days needing a price), and download links for the Koinly CSV, generic CSV and printable report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from hashforge.httpedge.access import ReadAccess
from hashforge.ops.gateway import OpsGateway
from hashforge.ops.ledger import NOTE, LedgerError
from hashforge.ops.ledger.export import charts, money
from hashforge.ops.ledger.lots import METHODS
from hashforge.ops.ledger.money import sat_to_coins
from hashforge.services.ops_tax import ledger_of

router = APIRouter(include_in_schema=False)


@router.get("/tax", response_class=HTMLResponse)
async def tax_page(request: Request, _: ReadAccess,
                   year: Annotated[str | None, Query(max_length=8)] = None,
                   method: Annotated[str | None, Query(max_length=8)] = None) -> HTMLResponse:
    from .render import page

    ops: OpsGateway | None = request.app.state.components.gateway("ops")
    ctx: dict[str, Any] = {"nav": "tax", "note": NOTE, "report": None, "error": None, "years": [],
                           "year": None, "method": (method or "fifo").lower(), "methods": METHODS,
                           "money": money, "coins": sat_to_coins, "charts": None}
    if ops is None:
        return page(request, "tax.html", **ctx)
    ledger = ledger_of(ops)
    this_year = datetime.now(UTC).year
    years, active = await run_in_threadpool(lambda: (ledger.years(), ledger.record_years()))
    ctx["years"] = sorted({*years, this_year}, reverse=True)
    if year is None:  # the newest year with income, expenses or sales
        chosen = active[0] if active else this_year
    elif year.isdigit() and 1970 <= int(year) <= 9999:
        chosen = int(year)
    else:
        ctx["error"] = f"year must be a number such as {this_year}, not {year!r}"
        return page(request, "tax.html", 400, **ctx)
    if ctx["method"] not in METHODS:
        ctx["error"] = f"method must be fifo, lifo or hifo, not {method!r}"
        ctx["method"] = "fifo"
        return page(request, "tax.html", 400, **ctx)
    ctx["year"] = chosen
    if chosen not in ctx["years"]:
        ctx["years"] = sorted({*ctx["years"], chosen}, reverse=True)
    try:
        r = await run_in_threadpool(ledger.report, chosen, ctx["method"])
    except LedgerError as e:
        ctx["error"] = str(e)
        return page(request, "tax.html", 400, **ctx)
    ctx.update(report=r, charts=charts(r))
    return page(request, "tax.html", **ctx)
