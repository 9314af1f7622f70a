"""Dashboard page /mine: mine in this browser. Web Workers hash (WebAssembly built from the
project's scalar C kernels, else plain JS) and the page speaks Stratum v1 over the pool's
WebSocket bridge (`hashforge pool --ws-port`), so the browser is an ordinary pool worker.

The page needs a looser CSP than the rest of the dashboard: `connect-src` must name the pool's
WebSocket, and `script-src` needs 'wasm-unsafe-eval' to compile the kernel. The worker script
is served here too (not from /static), because a worker runs under its own response's CSP."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from hashforge.consensus.params import PowAlgorithm
from hashforge.httpedge.access import ReadAccess
from hashforge.httpedge.lookups import NodeDep
from hashforge.services.earnings import (
    chain_params,
    hashes_per_difficulty,
    next_reward,
    sat_per_day,
)

from .render import page, safe

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static" / "webmine"
WASM = STATIC / "hf_kernels.wasm"
BASE_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'self'")


def ws_url(setting: str | None, request: Request) -> str | None:
    """The WebSocket URL the page connects to (":PORT" is the port on the page's own host)."""
    if setting is None:
        return None
    if setting.startswith(":"):
        host = request.url.hostname or "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        scheme = "wss" if request.url.scheme == "https" else "ws"
        return f"{scheme}://{host}{setting}"
    return setting


def csp(ws: str | None) -> str:
    connect = "'self'"
    if ws is not None:
        parts = urlsplit(ws)
        connect += f" {parts.scheme}://{parts.netloc}"
    return f"{BASE_CSP}; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src {connect}"


@router.get("/mine", response_class=HTMLResponse)
async def mine(request: Request, _: ReadAccess, node: NodeDep) -> HTMLResponse:
    settings = request.app.state.settings
    ws = ws_url(settings.stratum_ws, request)
    mining = await safe(node.mining_info())
    params = await safe(chain_params(settings.network, node))
    net: dict[str, Any] | None = None
    if mining is not None and params is not None:
        difficulty = float(mining["difficulty"])
        reward = next_reward(int(mining["blocks"]), params)
        net = {
            "name": params.name, "difficulty": difficulty, "reward_sat": reward,
            "algo": "scrypt" if params.pow_algorithm is PowAlgorithm.SCRYPT else "sha256d",
            "hashes_per_difficulty": hashes_per_difficulty(params),
            # a reference figure computed with the dashboard's own formula (api.earnings)
            "sat_per_day_1mhs": sat_per_day(1e6, difficulty, reward, params),
        }
    response = page(request, "mine.html", ws_url=ws, net=net, wasm_built=WASM.exists(), nav="mine")
    response.headers["content-security-policy"] = csp(ws)
    return response


@router.get("/mine/worker.js")
async def worker_script(_: ReadAccess) -> Response:
    """kernel.js then worker.js, as one script."""
    body = (STATIC / "kernel.js").read_bytes() + b"\n" + (STATIC / "worker.js").read_bytes()
    return Response(body, media_type="text/javascript",
                    headers={"content-security-policy": f"{BASE_CSP}; script-src 'self' 'wasm-unsafe-eval'; "
                                                        "connect-src 'self'", "cache-control": "no-cache"})
