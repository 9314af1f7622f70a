"""The pool over its REST API (`hashforge pool --api-port P`: `/v1/pool/...`), and `PoolWatcher`,
which turns what it sees there into live events.

The pool's API has no share stream, so the watcher polls aggregates and publishes the differences:
per worker, the count and difficulty of shares over a sliding hour (new shares since the last poll
become share events, at most `max_share_events` per worker and poll, each with the batch's mean
difficulty); rejected shares from the pool's Prometheus counters (by reason; the pool does not
record which worker sent them); new blocks (a share event with `block`); blocks orphaned (an alert);
payouts broadcast or confirmed (payout events). The first poll only takes a baseline.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families

from hashforge.logs import Repeated

from ..errors import (
    ComponentFailed,
    ComponentUnavailable,
    Conflict,
    NotFound,
    Rejected,
    ServiceError,
)
from ..events import AlertEvent, EventBus, PayoutEvent, ShareEvent

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_WINDOW = 30 * 86400
REJECTED_METRIC = "hashforge_pool_shares_rejected"


def pool_base_url(url: str) -> str:
    """`http://host:port[/]` (or a URL already ending in /v1/pool) -> `http://host:port/v1/pool`."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the pool API URL must be http(s)://host:port/, not {url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith("/v1/pool"):
        path += "/v1/pool"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class CookieAuth(httpx.Auth):
    """HTTP Basic from the pool's cookie file (`DATADIR/api.cookie`), read when first needed and
    again after a 401 (the operator replaced it), so a long-running API never holds a stale one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._header: str | None = None
        self._warned = ""

    def _load(self) -> str | None:
        try:
            user, sep, secret = self.path.read_text().strip().partition(":")  # `__cookie__:<hex>`
            if not sep:
                raise ValueError("not a cookie file")
        except (OSError, UnicodeDecodeError, ValueError) as e:
            problem = f"cannot read the pool API cookie {self.path}: {e}"
            if problem != self._warned:  # once per condition, not once per poll
                log.warning("%s", problem)
                self._warned = problem
            return None
        self._warned = ""
        return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._header is None:
            self._header = self._load()
        if self._header is not None:
            request.headers["Authorization"] = self._header
        response = yield request
        if response.status_code == 401:
            fresh = self._load()
            if fresh is not None and fresh != self._header:
                self._header = fresh
                request.headers["Authorization"] = fresh
                yield request


class PoolGateway:
    """Reads the pool's REST API (and writes contracts through it) with the pool's cookie. One
    instance per app; safe to share between requests."""

    def __init__(self, url: str, cookie: Path | None = None, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = pool_base_url(url)
        self.cookie = cookie
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport,
                                       auth=CookieAuth(cookie) if cookie is not None else None)
        self._repeated = Repeated(log)  # the watcher asks every 2 s: counted lines while the pool is away

    def _refused(self, path: str, status: int) -> ServiceError:
        """The pool's guard said no: a setup problem the operator must see plainly."""
        if status == 401:
            fix = (f"check its cookie file {self.cookie}" if self.cookie is not None
                   else "give this API the pool's cookie file (--pool-api-cookie POOL_DATADIR/api.cookie)")
        elif status == 421:
            fix = "reach it as 127.0.0.1 or localhost, or name this host with the pool's --api-host-name"
        else:
            fix = "see the pool's log"
        self._repeated.warning(f"refused {status}", "pool API refused this API (HTTP %s): %s", status, fix)
        return ComponentFailed(f"The pool's API refused this API (HTTP {status}): {fix}.")

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _get(self, path: str, params: dict[str, Any] | None = None, not_found: str | None = None) -> Any:
        try:
            r = await self._http.get(path, params=params)
        except httpx.HTTPError as e:
            self._repeated.warning("unreachable", "pool API unreachable: %s", e or type(e).__name__)
            raise ComponentUnavailable("The pool's API did not answer; the pool may be starting or stopped.") from None
        self._repeated.clear("unreachable", "pool API reachable again")
        if r.status_code == 404 and not_found is not None:
            raise NotFound(not_found)
        if r.status_code in (401, 403, 421):
            raise self._refused(path, r.status_code)
        if r.status_code != 200:
            log.warning("pool API %s answered %s: %s", path, r.status_code, r.text[:200])
            raise ComponentFailed(f"The pool's API answered {path} with HTTP {r.status_code}.")
        if path == "/metrics":
            return r.text
        try:
            return r.json()
        except ValueError:
            raise ComponentFailed(f"The pool's API answered {path} with something that is not JSON.") from None

    @staticmethod
    def _shape(what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ComponentFailed(f"The pool's API answered {what} in an unexpected shape.") from None

    async def stats(self, window: int = 600) -> dict[str, Any]:
        data = await self._get("/stats", {"window": window})
        return self._shape("stats", lambda: dict(data))

    async def workers(self, window: int = 600) -> list[dict[str, Any]]:
        data = await self._get("/workers", {"window": min(MAX_WINDOW, max(60, window))})
        return self._shape("workers", lambda: [dict(w) for w in data])

    async def blocks(self, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        data = await self._get("/blocks", {"limit": limit, "offset": offset})
        return self._shape("blocks", lambda: [dict(b) for b in data])

    async def payments(self, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        data = await self._get("/payments", {"limit": limit, "offset": offset})
        return self._shape("payments", lambda: [dict(p) for p in data])

    async def miner(self, address: str, window: int = 600) -> dict[str, Any]:
        data = await self._get(f"/miners/{address}", {"window": window}, not_found=f"The pool does not know {address}.")
        return self._shape("miners", lambda: dict(data))

    async def history(self, window: int, bucket: int, address: str | None = None) -> list[tuple[int, float]]:
        params: dict[str, Any] = {"window": min(MAX_WINDOW, max(60, window)), "bucket": bucket}
        if address is not None:
            params["address"] = address
        data = await self._get("/hashrate/history", params)
        return self._shape("hashrate/history", lambda: [(int(p["time"]), float(p["hashrate"])) for p in data])

    async def metrics(self) -> str:
        return str(await self._get("/metrics"))

    async def contracts(self, method: str, path: str = "", params: dict[str, Any] | None = None,
                        body: dict[str, Any] | None = None) -> Any:
        """The pool's `/pool/contracts{path}`; its 400/404/409 answers become our problems, with its detail."""
        url = f"/contracts{path}"
        # the pool's guard takes writes only as JSON (a cross-site page cannot send that unasked)
        headers = {"Content-Type": "application/json"} if method != "GET" else None
        try:
            r = await self._http.request(method, url, params=params, json=body, headers=headers)
        except httpx.HTTPError as e:
            log.warning("pool API %s failed: %s", url, e)
            raise ComponentUnavailable("The pool's API did not answer; the pool may be starting or stopped.") from None
        try:
            data = r.json()
        except ValueError:
            raise ComponentFailed(f"The pool's API answered {url} with something that is not JSON.") from None
        if r.status_code in (200, 201):
            return data
        if r.status_code in (401, 403, 421):
            raise self._refused(url, r.status_code)
        if r.status_code == 422 and isinstance(data, dict) and isinstance(data.get("detail"), list):
            first = data["detail"][0] if data["detail"] else {}
            where = ".".join(str(x) for x in first.get("loc", ())[1:]) if isinstance(first, dict) else ""
            msg = str(first.get("msg", "invalid")) if isinstance(first, dict) else "invalid"
            raise Rejected(f"The pool refused the request: {where}: {msg}"[:500])
        detail = str(data.get("detail", "")) if isinstance(data, dict) else ""
        errors: dict[int, type[ServiceError]] = {400: Rejected, 404: NotFound, 409: Conflict}
        if r.status_code in errors and detail:
            raise errors[r.status_code](detail[:500])
        log.warning("pool API %s answered %s: %s", url, r.status_code, r.text[:200])
        raise ComponentFailed(f"The pool's API answered {url} with HTTP {r.status_code}.")


def rejected_counts(text: str) -> dict[str, float]:
    """Rejected shares by reason from the pool's Prometheus text."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != REJECTED_METRIC:
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                reason = sample.labels.get("reason", "unknown")
                out[reason] = out.get(reason, 0.0) + float(sample.value)
    return out


@dataclass(frozen=True)
class _WorkerSeen:
    shares: int
    difficulty: float
    last: float


class PoolWatcher:
    """Polls the pool every `interval` seconds and publishes what changed (see the module doc)."""

    def __init__(self, pool: PoolGateway, bus: EventBus, interval: float = 2.0, window: int = 3600,
                 max_share_events: int = 20) -> None:
        self.pool = pool
        self.bus = bus
        self.interval = interval
        self.window = window
        self.max_share_events = max_share_events
        self.up: bool | None = None
        self._baseline = False
        self._workers: dict[str, _WorkerSeen] = {}
        self._blocks: dict[int, str] = {}
        self._payments: dict[int, str] = {}
        self._rejected: dict[str, float] = {}
        self._repeated = Repeated(log)

    async def run(self) -> None:
        while True:
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self._repeated.failure("poll", "pool watcher poll failed", e)
            await asyncio.sleep(self.interval)

    async def poll(self) -> None:
        try:
            workers, blocks, payments, metrics = await asyncio.gather(
                self.pool.workers(self.window), self.pool.blocks(50), self.pool.payments(50), self.pool.metrics())
        except (ComponentUnavailable, ComponentFailed):
            self._set_up(False)
            return
        self._set_up(True)
        first = not self._baseline
        self._baseline = True
        self._shares(workers, quiet=first)
        self._rejects(rejected_counts(metrics), quiet=first)
        self._found(blocks, quiet=first)
        self._paid(payments, quiet=first)

    def _shares(self, rows: list[dict[str, Any]], quiet: bool) -> None:
        seen: dict[str, _WorkerSeen] = {}
        for w in rows:
            name = f"{w['address']}.{w['worker']}"
            now = _WorkerSeen(int(w["shares"]), float(w["hashrate"]) * float(w["window_seconds"]) / 2**32,
                              float(w["last_share"] or 0))
            seen[name] = now
            before = self._workers.get(name)
            if quiet or (before is not None and now.last <= before.last):
                continue
            count = now.shares - (before.shares if before else 0)
            count = max(1, count)
            diff = max(0.0, now.difficulty - (before.difficulty if before else 0.0)) / count
            for _ in range(min(count, self.max_share_events)):
                self.bus.publish(ShareEvent(worker=name[:256], difficulty=diff, accepted=True))
        self._workers = seen

    def _rejects(self, counts: dict[str, float], quiet: bool) -> None:
        for reason, total in counts.items():
            new = int(total - self._rejected.get(reason, 0.0))
            if not quiet and new > 0:
                for _ in range(min(new, self.max_share_events)):
                    self.bus.publish(ShareEvent(worker="(not recorded by the pool)", difficulty=0.0, accepted=False,
                                                reason=reason[:256]))
        self._rejected = counts

    def _found(self, rows: list[dict[str, Any]], quiet: bool) -> None:
        for b in reversed(rows):  # oldest first
            block_id, status = int(b["id"]), str(b["status"])
            before = self._blocks.get(block_id)
            self._blocks[block_id] = status
            if quiet or before == status:
                continue
            if before is None:
                self.bus.publish(ShareEvent(worker=f"{b['address']}.{b['worker']}"[:256],
                                            difficulty=float(b["network_difficulty"]), accepted=True, block=True))
            if status in ("orphaned", "rejected"):
                coin = f"{b['coin']} " if b.get("coin") else ""  # merged mining: which chain's block
                self.bus.publish(AlertEvent(level="warning", source="pool",
                                            message=f"Pool {coin}block {b['height']} ({b['hash']}) was {status}."))
        if len(self._blocks) > 1000:
            for key in sorted(self._blocks)[:-500]:
                del self._blocks[key]

    def _paid(self, rows: list[dict[str, Any]], quiet: bool) -> None:
        for p in reversed(rows):
            pid, status = int(p["id"]), str(p["status"])
            before = self._payments.get(pid)
            self._payments[pid] = status
            if quiet or before == status or status not in ("broadcast", "confirmed"):
                continue
            self.bus.publish(PayoutEvent(txid=str(p["txid"]), address=None, amount_sat=int(p["total"]),
                                         status="confirmed" if status == "confirmed" else "broadcast"))
        if len(self._payments) > 1000:
            for key in sorted(self._payments)[:-500]:
                del self._payments[key]

    def _set_up(self, up: bool) -> None:
        if self.up is not None and up != self.up:
            self.bus.publish(AlertEvent(
                level="info" if up else "critical", source="pool",
                message="The pool's API answers again." if up else "The pool's API stopped answering."))
        self.up = up
