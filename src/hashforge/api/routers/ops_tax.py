"""/v1/ops/tax: the tax ledger (see hashforge.ops.ledger) — settings, prices, income, expenses,
hardware, disposals, yearly reports and exports (Koinly CSV, generic CSV, printable HTML).

Reads need the read scope (as all of /v1); writes and imports need `control`. Refused input is a
422 problem whose detail is the ledger's one-line reason (file:line: field for CSVs).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query, Response
from fastapi.concurrency import run_in_threadpool

from hashforge.httpedge.access import ControlAccess
from hashforge.ops.ledger import CSVError, LedgerError, NotFoundError, OverDisposalError
from hashforge.ops.ledger import export as exports
from hashforge.ops.ledger.expenses import parse_life
from hashforge.ops.ledger.money import parse_when
from hashforge.services.gateways.wallet import WalletGateway
from hashforge.services.ops_tax import ledger_of

from ..errors import NotFound, Rejected, problem_responses
from .ops_deps import OpsDep
from .ops_tax_models import (
    CsvImport,
    DisposalIn,
    DisposalOut,
    ExpenseIn,
    ExpenseOut,
    FmvIn,
    HardwareIn,
    HardwareOut,
    ImportOut,
    IncomeIn,
    IncomeOut,
    PriceImportOut,
    PriceList,
    ReportOut,
    SettingsIn,
    SettingsOut,
    WalletImport,
)

router = APIRouter(tags=["ops: tax"], responses=problem_responses(404, 422))
T = TypeVar("T")
YearQ = Annotated[int, Query(ge=1970, le=9999, description="Tax year.")]
OptYearQ = Annotated[int | None, Query(ge=1970, le=9999, description="Only this tax year.")]
MethodQ = Annotated[Literal["fifo", "lifo", "hifo"], Query(description="Lot matching for gains.")]


async def _call(fn: Callable[[], T]) -> T:
    try:
        return await run_in_threadpool(fn)
    except CSVError as e:
        raise Rejected(str(e), kind="invalid-csv") from None
    except OverDisposalError as e:
        raise Rejected(str(e), kind="insufficient-holdings") from None
    except NotFoundError as e:
        raise NotFound(str(e).capitalize() + ".") from None
    except LedgerError as e:
        raise Rejected(str(e), kind="bad-input") from None


def _when(text: str, what: str) -> int:
    try:
        ts = parse_when(text, what)
    except ValueError as e:
        raise Rejected(str(e), kind="bad-input") from None
    if not 0 <= ts < 253402300800:
        raise Rejected(f"{what} must be between 1970 and 9999", kind="bad-input")
    return ts


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Rejected(f"{what} must be a date YYYY-MM-DD, not {text!r}", kind="bad-input") from None


# --- settings and prices ------------------------------------------------------------------------------

@router.get("/settings", summary="Jurisdiction settings and the record-keeping note")
async def get_settings(ops: OpsDep) -> SettingsOut:
    return SettingsOut(**await _call(lambda: ledger_of(ops).jurisdiction.as_dict()))


@router.put("/settings", summary="Change the jurisdiction settings (control scope)")
async def put_settings(ops: OpsDep, _: ControlAccess, body: SettingsIn) -> SettingsOut:
    return SettingsOut(**await _call(lambda: ledger_of(ops).configure(
        body.jurisdiction, body.currency, body.long_term_days, body.coin).as_dict()))


@router.get("/prices", summary="Daily prices and the days missing between them")
async def get_prices(ops: OpsDep) -> PriceList:
    def read() -> dict[str, Any]:
        ledger = ledger_of(ops)
        return {"currency": ledger.jurisdiction.currency,
                "prices": [{"date": d.isoformat(), "price": str(p)} for d, p in ledger.prices().items()],
                "gaps": [d.isoformat() for d in ledger.price_gaps()]}

    return PriceList(**await _call(read))


@router.post("/prices/import", summary="Import a CSV of daily prices, all rows or none (control scope)")
async def import_prices(ops: OpsDep, _: ControlAccess, body: CsvImport) -> PriceImportOut:
    r = await _call(lambda: ledger_of(ops).import_prices(body.csv, body.name, body.replace))
    return PriceImportOut(added=r.added, unchanged=r.unchanged, replaced=r.replaced,
                          first=None if r.first is None else r.first.isoformat(),
                          last=None if r.last is None else r.last.isoformat(),
                          gaps=[d.isoformat() for d in r.gaps])


# --- income -------------------------------------------------------------------------------------------

@router.get("/income", summary="Income entries, oldest first (fmv null: needs price)")
async def list_income(ops: OpsDep, year: OptYearQ = None) -> list[IncomeOut]:
    return [IncomeOut(**i) for i in await _call(lambda: [i.as_dict() for i in ledger_of(ops).income(year)])]


@router.post("/income", summary="Record one income entry (control scope)", status_code=201)
async def add_income(ops: OpsDep, _: ControlAccess, body: IncomeIn) -> IncomeOut:
    ts = _when(body.time, "time")

    def add() -> dict[str, Any]:
        ledger = ledger_of(ops)
        new_id = ledger.add_income(ts, body.amount_sat, body.source, body.txid, body.vout, _dec(body.fmv),
                                   body.description)
        return next(i.as_dict() for i in ledger.income() if i.id == new_id)

    return IncomeOut(**await _call(add))


@router.put("/income/{income_id}/fmv", summary="Enter or clear a manual fair market value (control scope)")
async def set_fmv(ops: OpsDep, _: ControlAccess, income_id: Annotated[int, Path(ge=1, le=2**62)], body: FmvIn) -> IncomeOut:
    def put() -> dict[str, Any]:
        ledger = ledger_of(ops)
        if not any(i.id == income_id for i in ledger.income()):
            raise NotFound(f"No income entry with id {income_id}.")
        ledger.set_fmv(income_id, _dec(body.fmv))
        return next(i.as_dict() for i in ledger.income() if i.id == income_id)

    return IncomeOut(**await _call(put))


@router.post("/income/import-csv", summary="Import external pool payouts from a CSV (control scope)")
async def import_income_csv(ops: OpsDep, _: ControlAccess, body: CsvImport) -> ImportOut:
    r = await _call(lambda: ledger_of(ops).import_income_csv(body.csv, body.name))
    return ImportOut(added=r.added, unchanged=r.unchanged)


@router.post("/income/import-wallet", summary="Record the attached wallet's rewards and payouts (control scope)")
async def import_wallet(ops: OpsDep, _: ControlAccess, body: WalletImport) -> ImportOut:
    wallet: WalletGateway | None = ops.components.gateway("wallet")
    if wallet is None:
        raise NotFound("No wallet is attached to this API.")
    ledger = ledger_of(ops)
    pools = set(body.payout_addresses) if body.payout_addresses else None
    try:
        r = await wallet.call(lambda w: ledger.import_wallet(w, pools, body.payments))
    except LedgerError as e:
        raise Rejected(str(e), kind="bad-input") from None
    return ImportOut(added=r.added, unchanged=r.unchanged, skipped=r.skipped, removed=r.removed)


# --- expenses, hardware, disposals -------------------------------------------------------------------

@router.get("/expenses", summary="Expenses, oldest first")
async def list_expenses(ops: OpsDep, year: OptYearQ = None) -> list[ExpenseOut]:
    return [ExpenseOut(**e) for e in await _call(lambda: [e.as_dict() for e in ledger_of(ops).expenses(year)])]


@router.post("/expenses", summary="Record an expense: a bill, a pool fee, or kW × hours × price (control scope)",
             status_code=201)
async def add_expense(ops: OpsDep, _: ControlAccess, body: ExpenseIn) -> ExpenseOut:
    day = _day(body.date, "date")
    computed = (body.kw, body.hours, body.price_kwh)

    def add() -> dict[str, Any]:
        ledger = ledger_of(ops)
        if any(v is not None for v in computed):
            if body.category != "electricity" or None in computed or body.amount or body.amount_sat:
                raise LedgerError("computed electricity needs category electricity with kw, hours and price_kwh "
                                  "and no amount")
            kw, hours, price = (Decimal(v or "0") for v in computed)
            new_id = ledger.add_electricity(day, kw, hours, price, body.description)
        else:
            new_id = ledger.add_expense(day, body.category, _dec(body.amount), body.amount_sat, body.description)
        return next(e.as_dict() for e in ledger.expenses() if e.id == new_id)

    return ExpenseOut(**await _call(add))


@router.get("/hardware", summary="Hardware and its straight-line depreciation schedule")
async def list_hardware(ops: OpsDep, year: OptYearQ = None) -> list[HardwareOut]:
    return [HardwareOut(**h) for h in await _call(lambda: [h.as_dict(year) for h in ledger_of(ops).hardware()])]


@router.post("/hardware", summary="Record a hardware purchase (control scope)", status_code=201)
async def add_hardware(ops: OpsDep, _: ControlAccess, body: HardwareIn) -> HardwareOut:
    day = _day(body.in_service, "in_service")

    def add() -> dict[str, Any]:
        ledger = ledger_of(ops)
        new_id = ledger.add_hardware(body.name, Decimal(body.cost), Decimal(body.salvage), parse_life(body.life), day)
        return next(h.as_dict() for h in ledger.hardware() if h.id == new_id)

    return HardwareOut(**await _call(add))


@router.get("/disposals", summary="Sales and spends, oldest first")
async def list_disposals(ops: OpsDep, year: OptYearQ = None) -> list[DisposalOut]:
    return [DisposalOut(**d) for d in await _call(lambda: [d.as_dict() for d in ledger_of(ops).disposals(year)])]


@router.post("/disposals", summary="Record a sale or spend; more than held is refused (control scope)",
             status_code=201)
async def add_disposal(ops: OpsDep, _: ControlAccess, body: DisposalIn) -> DisposalOut:
    ts = _when(body.time, "time")

    def add() -> dict[str, Any]:
        ledger = ledger_of(ops)
        new_id = ledger.add_disposal(ts, body.amount_sat, Decimal(body.proceeds), Decimal(body.fee), body.txid,
                                     body.description)
        return next(d.as_dict() for d in ledger.disposals() if d.id == new_id)

    return DisposalOut(**await _call(add))


IdP = Annotated[int, Path(ge=1, le=2**62)]


@router.delete("/income/{record_id}", summary="Delete an income entry (control scope)", status_code=204)
async def delete_income(ops: OpsDep, _: ControlAccess, record_id: IdP) -> Response:
    await _call(lambda: ledger_of(ops).delete("income", record_id))
    return Response(status_code=204)


@router.delete("/expenses/{record_id}", summary="Delete an expense (control scope)", status_code=204)
async def delete_expense(ops: OpsDep, _: ControlAccess, record_id: IdP) -> Response:
    await _call(lambda: ledger_of(ops).delete("expense", record_id))
    return Response(status_code=204)


@router.delete("/hardware/{record_id}", summary="Delete a hardware purchase (control scope)", status_code=204)
async def delete_hardware(ops: OpsDep, _: ControlAccess, record_id: IdP) -> Response:
    await _call(lambda: ledger_of(ops).delete("hardware", record_id))
    return Response(status_code=204)


@router.delete("/disposals/{record_id}", summary="Delete a disposal (control scope)", status_code=204)
async def delete_disposal(ops: OpsDep, _: ControlAccess, record_id: IdP) -> Response:
    await _call(lambda: ledger_of(ops).delete("disposal", record_id))
    return Response(status_code=204)


# --- reports and exports ------------------------------------------------------------------------------

@router.get("/report", summary="A tax year: income, expenses, depreciation, gains, net")
async def report(ops: OpsDep, year: YearQ, method: MethodQ = "fifo") -> ReportOut:
    return ReportOut.model_validate(await _call(lambda: ledger_of(ops).report(year, method).as_dict()))


def _download(body: str, media: str, name: str) -> Response:
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/export/koinly", summary="Koinly universal CSV of a year", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
async def export_koinly(ops: OpsDep, year: YearQ) -> Response:
    text = await _call(lambda: exports.koinly_csv(ledger_of(ops).report(year)))
    return _download(text, "text/csv; charset=utf-8", f"hashforge-koinly-{year}.csv")


@router.get("/export/csv", summary="Every record of a year as a generic CSV", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
async def export_csv(ops: OpsDep, year: YearQ, method: MethodQ = "fifo") -> Response:
    text = await _call(lambda: exports.generic_csv(ledger_of(ops).report(year, method)))
    return _download(text, "text/csv; charset=utf-8", f"hashforge-tax-{year}-{method}.csv")


@router.get("/export/html", summary="A printable report of a year with charts (download)", response_class=Response,
            responses={200: {"content": {"text/html": {}}}})
async def export_html(ops: OpsDep, year: YearQ, method: MethodQ = "fifo") -> Response:
    text = await _call(lambda: exports.html_report(ledger_of(ops).report(year, method)))
    return _download(text, "text/html; charset=utf-8", f"hashforge-tax-{year}-{method}.html")
