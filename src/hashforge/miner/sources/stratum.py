"""The Stratum v1 client: one pool connection, reconnected with backoff, feeding Work.

Session (what cgminer/cpuminer and BIP310 do):
1. mining.configure (version-rolling) first, when enabled; the mask we roll is ours AND the pool's;
2. mining.subscribe [agent, session id] - the id of the previous session asks the pool to resume
   it (same extranonce1);
3. mining.authorize [user, pass]; then mining.suggest_difficulty and mining.extranonce.subscribe
   when configured.
Notifications: mining.notify (a job; clean_jobs or a new prevhash makes older jobs stale),
mining.set_difficulty / mining.set_extranonce / mining.set_version_mask (all apply from the next
job), client.reconnect, client.show_message, client.get_version.

Anything malformed (bad JSON, a line over 16 KB, wrong hex lengths, a connection dropped
mid-line) is logged and answered with a reconnect; it never escapes the run loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
from collections import deque
from pathlib import Path
from typing import Any

from hashforge import __version__
from hashforge.consensus.pow import bits_to_target
from hashforge.stratum import (
    MAX_LINE_BYTES,
    Job,
    StratumError,
    StratumErrorCode,
    StratumProtocolError,
    SubscribeResult,
    decode_line,
    difficulty_to_target,
    encode_message,
    negotiated_version_mask,
    parse_stratum_url,
    parse_version_mask,
    reply,
    request,
    submit_params,
    version_rolling_request,
)

from ..aio import cancel_and_wait, sleep_unless_cancelled
from ..errors import PoolDisconnected, PoolProtocolError, PoolRedirect, SourceError
from ..work import Share, ShareResult, Verdict, Work
from .base import PoolStatus, WorkSource

log = logging.getLogger("hashforge.miner")

USER_AGENT = f"hashforge/{__version__}"
MAX_JOBS_KEPT = 16


class StratumSource(WorkSource):
    kind = "stratum"

    def __init__(
        self,
        index: int,
        url: str,
        user: str = "",
        password: str = "x",
        *,
        algo: str = "sha256d",
        priority: int | None = None,
        quota: int = 1,
        version_rolling: bool = True,
        suggest_difficulty: float | None = None,
        extranonce_subscribe: bool = True,
        ntime_window: int = 600,
        backoff: tuple[float, float] = (1.0, 60.0),
        connect_timeout: float = 10.0,
        response_timeout: float = 30.0,
        configure_timeout: float = 5.0,
        tls_verify: bool = True,
        tls_ca: Path | None = None,
    ) -> None:
        parsed = parse_stratum_url(url)
        super().__init__(index, url, user or parsed.user or "", password or parsed.password or "x", priority, quota)
        self.host, self.port, self.tls = parsed.host, parsed.port, parsed.tls
        self.algo = algo
        self.version_rolling = version_rolling
        self.suggested_difficulty = suggest_difficulty
        self.extranonce_subscribe = extranonce_subscribe
        self.ntime_window = ntime_window
        self.backoff = backoff
        self.connect_timeout = connect_timeout
        self.response_timeout = response_timeout
        self.configure_timeout = configure_timeout
        self.tls_verify = tls_verify
        self.tls_ca = tls_ca
        self.session_id: str | None = None
        self.resumed = False
        self.extranonce1 = b""
        self.extranonce2_size = 0
        self._mask = 0
        self._pending_difficulty: float | None = None
        self._pending_extranonce: tuple[bytes, int] | None = None
        self._pending_mask: int | None = None
        self._jobs: deque[str] = deque(maxlen=MAX_JOBS_KEPT)
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._last_prev: bytes | None = None
        self.connected = False
        self.protocol_errors = 0

    # --- lifecycle --------------------------------------------------------------------------

    async def run(self) -> None:
        delay = self.backoff[0]
        while True:
            await self.wait_out_rejecting()
            if self.status == PoolStatus.REJECTING:
                self.status = PoolStatus.DEAD
            worked = False
            try:
                worked = await self._session()
            except PoolRedirect as r:
                log.info("pool %d: %s", self.index, r)
                self.host, self.port = r.host, r.port
                self._lost()
                await sleep_unless_cancelled(r.wait)
                delay = self.backoff[0]
                continue
            except (SourceError, OSError, TimeoutError, ssl.SSLError, StratumError, ValueError) as e:
                self.last_error = str(e) or type(e).__name__
                log.error("pool %d %s: %s; reconnecting", self.index, self.url, self.last_error)
            finally:
                worked = worked or self.current is not None
                self._lost()
            if worked:
                self.remote_failures += 1
                delay = self.backoff[0]
            else:
                self.get_failures += 1
            if self.status != PoolStatus.REJECTING:
                await sleep_unless_cancelled(delay)
                delay = min(delay * 2, self.backoff[1])

    def disconnect(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def _lost(self) -> None:
        self.connected = False
        self._writer = None
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(PoolDisconnected("connection lost"))
        self._pending.clear()
        self.epoch += 1
        self._jobs.clear()
        if self.status != PoolStatus.REJECTING and self.enabled:
            self.status = PoolStatus.DEAD
        self.set_work(None)

    def _tls_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        ctx = ssl.create_default_context(cafile=str(self.tls_ca) if self.tls_ca else None)
        if not self.tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    async def _session(self) -> bool:
        ctx = self._tls_context()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=ctx, limit=MAX_LINE_BYTES + 2,
                                    server_hostname=self.host if ctx else None),
            self.connect_timeout,
        )
        self._writer = writer
        self.connected = True
        self._last_prev = None
        read_task = asyncio.create_task(self._read_loop(reader))
        try:
            try:
                await self._handshake()
            except PoolDisconnected:
                if read_task.done() and not read_task.cancelled() and read_task.exception() is not None:
                    raise read_task.exception() from None  # type: ignore[misc]
                raise
            self.set_status(PoolStatus.ALIVE)
            await read_task
        finally:
            await cancel_and_wait([read_task])
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)
        return True

    async def _handshake(self) -> None:
        requested = 0xFFFFFFFF
        self._mask = 0
        if self.version_rolling:
            try:
                res = await self._request("mining.configure", version_rolling_request(requested),
                                          self.configure_timeout)
                self._mask = negotiated_version_mask(res, requested)
            except (StratumError, TimeoutError) as e:
                log.info("pool %d: no version rolling (%s)", self.index, e or "no answer")
        params: list[Any] = [USER_AGENT]
        if self.session_id:
            params.append(self.session_id)
        sub = SubscribeResult.from_result(await self._request("mining.subscribe", params))
        self.resumed = bool(self.session_id) and sub.extranonce1 == self.extranonce1
        if self.resumed:
            log.info("pool %d: session %s resumed", self.index, self.session_id)
        self.session_id = sub.subscription_id or self.session_id
        self.extranonce1, self.extranonce2_size = sub.extranonce1, sub.extranonce2_size
        self._pending_extranonce = None
        if self.suggested_difficulty is not None:
            await self._send(request(next(self._ids), "mining.suggest_difficulty", [self.suggested_difficulty]))
        ok = await self._request("mining.authorize", [self.user, self.password])
        if ok is not True:
            raise SourceError(f"worker {self.user!r} not authorized")
        if self.extranonce_subscribe:
            await self._send(request(next(self._ids), "mining.extranonce.subscribe", []))

    # --- wire -------------------------------------------------------------------------------

    async def _send(self, data: bytes) -> None:
        if self._writer is None:
            raise PoolDisconnected("not connected")
        self._writer.write(data)
        await self._writer.drain()

    async def _request(self, method: str, params: list[Any], timeout: float | None = None) -> Any:
        msg_id = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        try:
            await self._send(request(msg_id, method, params))
            return await asyncio.wait_for(fut, timeout or self.response_timeout)
        finally:
            self._pending.pop(msg_id, None)

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            await self._read_lines(reader)
        except BaseException as e:
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(PoolDisconnected(f"connection lost: {e}"))
            raise

    async def _read_lines(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as e:
                if e.partial.strip():
                    raise PoolDisconnected("connection closed mid-line") from None
                raise PoolDisconnected("connection closed by pool") from None
            except asyncio.LimitOverrunError:
                raise PoolProtocolError(f"line longer than {MAX_LINE_BYTES} bytes") from None
            line = line.strip()
            if not line:
                continue
            try:
                msg = decode_line(line)
                await self._dispatch(msg)
            except (StratumProtocolError, ValueError, TypeError, KeyError, IndexError) as e:
                self.protocol_errors += 1
                raise PoolProtocolError(f"bad message from pool: {e}") from None

    async def _dispatch(self, msg: dict[str, Any]) -> None:
        method = msg.get("method")
        if method is None:
            fut = self._pending.get(msg.get("id"))  # type: ignore[arg-type]
            if fut is None or fut.done():
                return  # a reply to a request we did not wait for (suggest_difficulty, ...)
            if msg.get("error"):
                fut.set_exception(StratumError.from_json(msg["error"]))
            else:
                fut.set_result(msg.get("result"))
            return
        params = msg["params"]
        handler = _HANDLERS.get(method)
        if handler is not None:
            await handler(self, params, msg.get("id"))
        elif msg.get("id") is not None:
            log.debug("pool %d: unknown method %s", self.index, method)
            await self._send(encode_message({"id": msg["id"], "result": None,
                                             "error": [StratumErrorCode.OTHER, "unknown method", None]}))

    # --- notifications ----------------------------------------------------------------------

    async def _on_notify(self, params: Any, _id: Any) -> None:
        job = Job.from_notify(params)
        if self._pending_difficulty is not None:
            self.difficulty = self._pending_difficulty
            self._pending_difficulty = None
        if self._pending_extranonce is not None:
            self.extranonce1, self.extranonce2_size = self._pending_extranonce
            self._pending_extranonce = None
        if self._pending_mask is not None:
            self._mask, self._pending_mask = self._pending_mask, None
        if self.difficulty <= 0:
            self.difficulty = 1.0  # Stratum's default until set_difficulty
        new_block = self._last_prev is not None and job.prev_hash != self._last_prev
        if job.clean_jobs or new_block:
            self.epoch += 1
            self._jobs.clear()
        self._last_prev = job.prev_hash
        self._jobs.append(job.job_id)
        self.jobs_received += 1
        work = Work(
            source=self.index,
            job=job,
            extranonce1=self.extranonce1,
            extranonce2_size=self.extranonce2_size,
            difficulty=self.difficulty,
            target=difficulty_to_target(self.difficulty, scrypt=self.algo == "scrypt"),
            block_target=bits_to_target(job.bits),
            version_mask=self._mask,
            ntime_window=self.ntime_window,
            algo=self.algo,
            epoch=self.epoch,
        )
        log.debug("pool %d: job %s diff %g clean=%s", self.index, job.job_id, self.difficulty, job.clean_jobs)
        self.set_work(work)

    async def _on_set_difficulty(self, params: Any, _id: Any) -> None:
        d = params[0]
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not d > 0:
            raise PoolProtocolError(f"bad difficulty {d!r}")
        log.info("pool %d: difficulty %g (from the next job)", self.index, d)
        if self.current is None:
            self.difficulty = float(d)
        self._pending_difficulty = float(d)

    async def _on_set_extranonce(self, params: Any, _id: Any) -> None:
        sub = SubscribeResult.from_result([None, *params[:2]])
        log.info("pool %d: extranonce1 %s size %d (from the next job)", self.index,
                 sub.extranonce1.hex(), sub.extranonce2_size)
        self._pending_extranonce = (sub.extranonce1, sub.extranonce2_size)

    async def _on_set_version_mask(self, params: Any, _id: Any) -> None:
        mask = parse_version_mask(params[0])
        self._pending_mask = mask if self.version_rolling else 0

    async def _on_reconnect(self, params: Any, _id: Any) -> None:
        host = params[0] if len(params) > 0 and params[0] else self.host
        port = int(params[1]) if len(params) > 1 and params[1] else self.port
        wait = float(params[2]) if len(params) > 2 and params[2] else 0.0
        if not isinstance(host, str) or not _same_domain(host, self.host):
            log.warning("pool %d: ignoring client.reconnect to another domain (%s)", self.index, host)
            return
        raise PoolRedirect(host, port, min(max(wait, 0.0), 600.0))

    async def _on_show_message(self, params: Any, _id: Any) -> None:
        self.message = str(params[0]) if params else ""
        log.info("pool %d says: %s", self.index, self.message)

    async def _on_get_version(self, _params: Any, msg_id: Any) -> None:
        if msg_id is not None:
            await self._send(reply(msg_id, USER_AGENT))

    # --- shares -----------------------------------------------------------------------------

    def is_stale(self, work: Work) -> bool:
        return work.epoch != self.epoch or work.job_id not in self._jobs or not self.connected

    async def _send_share(self, share: Share) -> ShareResult:
        w = share.work
        params = submit_params(self.user, w.job_id, share.extranonce2, share.ntime, share.nonce,
                               share.version, w.version_mask)
        try:
            result = await self._request("mining.submit", params)
        except StratumError as e:
            if e.code == StratumErrorCode.JOB_NOT_FOUND or "stale" in e.message.lower():
                return ShareResult(Verdict.STALE, e.message)
            return ShareResult(Verdict.REJECTED, e.message)
        except (TimeoutError, PoolDisconnected, OSError) as e:
            return ShareResult(Verdict.STALE, f"no answer ({e or 'timeout'})")
        if result is True:
            return ShareResult(Verdict.ACCEPTED)
        return ShareResult(Verdict.REJECTED, "rejected" if result in (False, None) else str(result))


def _same_domain(new: str, old: str) -> bool:
    """client.reconnect may move us within the pool's own domain (or to the same address)."""
    if new == old:
        return True
    a, b = new.lower().rstrip(".").split("."), old.lower().rstrip(".").split(".")
    if all(p.isdigit() for p in a + b):
        return False
    return len(a) >= 2 and len(b) >= 2 and a[-2:] == b[-2:]


_HANDLERS = {
    "mining.notify": StratumSource._on_notify,
    "mining.set_difficulty": StratumSource._on_set_difficulty,
    "mining.set_extranonce": StratumSource._on_set_extranonce,
    "mining.set_version_mask": StratumSource._on_set_version_mask,
    "client.reconnect": StratumSource._on_reconnect,
    "client.show_message": StratumSource._on_show_message,
    "client.get_version": StratumSource._on_get_version,
}
