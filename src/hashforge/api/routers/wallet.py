"""`/v1/wallet`: the hashforge wallet (balance, addresses, history, send). A new receive address
needs the control scope; sending needs the spend scope. Refusals carry the wallet's own reason."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Request

from hashforge.httpedge.access import ControlAccess, SpendAccess
from hashforge.httpedge.lookups import get_components
from hashforge.services.gateways.wallet import WalletGateway
from hashforge.services.paging import Page, cursor_int, cursor_str, decode_cursor, encode_cursor

from ..errors import NotFound, problem_responses
from ..pagination import Cursor, Limit
from .wallet_models import HistoryItem, SendRequest, SendResult, WalletAddress, WalletBalance

router = APIRouter(responses=problem_responses(502, 503))


def get_wallet(request: Request) -> WalletGateway:
    gateway = get_components(request).gateway("wallet")
    if gateway is None:
        raise NotFound("No wallet is attached to this API.")
    return cast(WalletGateway, gateway)


WalletDep = Annotated[WalletGateway, Depends(get_wallet)]


@router.get("/balance", summary="Spendable, immature and unconfirmed balance")
async def balance(wallet: WalletDep) -> WalletBalance:
    b = await wallet.balance()
    return WalletBalance(spendable_sat=b.confirmed, immature_sat=b.immature, unconfirmed_sat=b.unconfirmed,
                         total_sat=b.total, synced_height=b.tip_height, coin=wallet.params.coin)


@router.get("/addresses", summary="The wallet's addresses in derivation order", responses=problem_responses(400))
async def addresses(wallet: WalletDep, cursor: Cursor = None, limit: Limit = 20) -> Page[WalletAddress]:
    rows = [WalletAddress(**a) for a in await wallet.addresses()]
    rows.sort(key=lambda a: (a.change, a.type, a.index))
    if cursor is not None:
        pos = decode_cursor("wallet-addresses", cursor)
        after = (bool(cursor_int(pos, "ch", 0, 1)), cursor_str(pos, "t", 16), cursor_int(pos, "i"))
        rows = [a for a in rows if (a.change, a.type, a.index) > after]
    page = rows[:limit]
    last = page[-1] if page else None
    nxt = encode_cursor("wallet-addresses", ch=int(last.change), t=last.type, i=last.index) \
        if last is not None and len(rows) > limit else None
    return Page[WalletAddress](items=page, limit=limit, next_cursor=nxt)


@router.post("/addresses", summary="A new receive address (control scope)", status_code=201)
async def new_address(wallet: WalletDep, _: ControlAccess) -> WalletAddress:
    return WalletAddress(**await wallet.new_address())


@router.get("/history", summary="Transactions, newest first (mempool first)", responses=problem_responses(400))
async def history(wallet: WalletDep, cursor: Cursor = None, limit: Limit = 20) -> Page[HistoryItem]:
    entries = await wallet.history()
    big = 2**40
    keyed = sorted(((-(e.height if e.height is not None else big), e.txid), e) for e in entries)
    if cursor is not None:
        pos = decode_cursor("wallet-history", cursor)
        after = (cursor_int(pos, "h", -big, 0), cursor_str(pos, "t", 64))
        keyed = [k for k in keyed if k[0] > after]
    page = keyed[:limit]
    items = [HistoryItem(txid=e.txid, status=e.status, amount_sat=e.amount, fee_sat=e.fee,
                         confirmations=e.confirmations, height=e.height, block_hash=e.block_hash,
                         block_time=e.block_time, coinbase=e.coinbase, replaced_by=e.replaced_by) for _, e in page]
    nxt = encode_cursor("wallet-history", h=page[-1][0][0], t=page[-1][0][1]) if len(keyed) > limit else None
    return Page[HistoryItem](items=items, limit=limit, next_cursor=nxt)


@router.post("/send", summary="Pay an address (spend scope); returns the txid once broadcast",
             responses=problem_responses(409))
async def send(wallet: WalletDep, body: SendRequest, _: SpendAccess) -> SendResult:
    prepared = await wallet.send(body.address, body.amount_sat, body.fee_rate_sat_vb, body.idempotency_key)
    return SendResult(txid=prepared.txid, fee_sat=prepared.fee, fee_rate_sat_vb=float(prepared.fee_rate_sat_vb),
                      vsize=prepared.vsize)

