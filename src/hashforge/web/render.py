"""How every dashboard page is rendered: the Jinja templates with the project's filters, the
context every page shares (which components are present, the sign-in state), and `safe()` for
component calls whose failure should leave a gap on the page rather than an error page."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from hashforge.consensus.params import UnknownNetworkError, get_params
from hashforge.services.errors import ServiceError
from hashforge.services.registry import KNOWN_COMPONENTS, Components

from . import fmt

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters.update(
    hashrate=fmt.hashrate, difficulty=fmt.difficulty, utc=fmt.utc, iso=fmt.iso, ago=fmt.ago, short=fmt.short_hash,
    coins=fmt.coins, percent=fmt.percent,
)

ABSENT = {
    "pool": Markup("Pool not running — start the whole stack with <code>hashforge up</code>."),
    "miner": Markup("No miner connected — start one with <code>hashforge up</code> or point a Stratum miner at the pool."),
    "wallet": Markup("Wallet not running — start it with <code>hashforge up</code>."),
    "ops": Markup("Operations (profitability, tax) not configured."),
}


def sign_in_state(request: Request) -> dict[str, Any]:
    from_cookie = bool(getattr(request.state, "api_key_from_cookie", False))
    key = getattr(request.state, "api_key", None)
    return {"needs_key": request.app.state.settings.reads_need_key, "signed_in": from_cookie,
            "key_name": key.name if from_cookie and key is not None else None}


def network_ticker(network: str | None) -> str:
    """The coin of the API's configured network (BTC, LTC, DOGE), labelling every amount shown;
    "coins" where the network is not configured or unknown."""
    if network is None:
        return "coins"
    try:
        return get_params(network).coin
    except UnknownNetworkError:
        return "coins"


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    components: Components = request.app.state.components
    context.setdefault("present", {n: components.has(n) for n in KNOWN_COMPONENTS})
    context.setdefault("ticker", network_ticker(request.app.state.settings.network))
    context.setdefault("absent_text", ABSENT)
    for k, v in sign_in_state(request).items():  # the header's "Sign out" (base.html), on every page
        context.setdefault(k, v)
    return templates.TemplateResponse(request, name, context, status_code=status)


async def safe(coro: Any) -> Any:
    """The awaited result, or None (logged) when the component answered with an API error."""
    try:
        return await coro
    except ServiceError as e:
        log.info("dashboard: %s", e)
        return None
