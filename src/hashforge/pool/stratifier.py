"""The stratifier owns work, shares and vardiff: it turns templates into jobs, answers the
Stratum methods of every session and validates shares.

It runs on the event loop and never blocks: storage is the recorder's (a future that resolves
once the share is durable), the node is the generator's. Lines go out through `Session.send`,
which the connector keeps in order behind pending share acknowledgements.

Methods: mining.subscribe [agent, session_id?] (session resume), mining.authorize
[ADDRESS.worker, password] (the password may carry "d=DIFF", and with merged mining the aux
payout addresses, "doge=ADDRESS": auxaddress.py), mining.configure (BIP310
version-rolling, minimum-difficulty), mining.suggest_difficulty, mining.extranonce.subscribe,
mining.submit. Duplicates are found per template (the last `jobs_kept` templates of the tip)
by 64 bits of the share's PoW hash; a share of an older template is stale. Errors: 20 other, 21 stale job, 22 duplicate, 23 low difficulty, 24
unauthorized worker, 25 not subscribed.

Share difficulty stays within [operator minimum, ceiling] (vardiff.py) whoever asks: vardiff,
mining.suggest_difficulty (honoured once per `suggest_interval`), the password's d= and
mining.configure's minimum-difficulty. One connection holds at most
`max_workers_per_connection` workers. A miner whose shares are valid but come faster than the
submit budget gets a higher difficulty, not "rate limited" or a flood disconnect: the flood
guard (token bucket, unchecked "rate limited" replies, disconnect) is for clients whose last
share was invalid, i.e. sending what the pool did not ask for.

Block candidates (a share under the network target) go to the node one at a time per previous
block, as ckpool and Core-based pools do: while one submitblock for a tip is in flight, later
candidates on that tip wait (at most `MAX_WAITING_BLOCKS`); once the node took a block at that
height (accepted, "duplicate" or "inconclusive") or a new tip arrived, the waiting ones and
every later one on the old tip are dropped without an RPC call (each could only be a stale
sibling). This bounds the node RPCs on a network where every share is a block (a test network
whose share difficulty is at or above its network difficulty, as on regtest), where submitting
each of them concurrently swamped the RPC client and starved the event loop. The share itself is answered
by the recorder, never by submitblock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from hashforge.consensus.pow import bits_to_target
from hashforge.stratum import (
    StratumErrorCode,
    difficulty_to_target,
    error_reply,
    notification,
    reply,
)

from .config import PoolConfig, Scheme
from .errors import RecorderError, ShareRejected
from .hashrate import share_scale
from .metrics import PoolMetrics
from .pending import Pending
from .records import BlockFound, ShareRecord
from .session import ExtranonceAllocator, Session, SessionJob, TokenBucket, Worker
from .shares import PowFunction, ShareCheck, Submission, check_share, sha256d
from .template import PoolJob, Template, make_job, payout_outputs
from .unsent import UnsentBlocks
from .vardiff import Vardiff

if TYPE_CHECKING:
    from .merged import AuxBundle

log = logging.getLogger(__name__)

WORKER_NAME = re.compile(r"^[A-Za-z0-9_\-]{0,64}$")
Outgoing = bytes | Pending | None

MAX_WAITING_BLOCKS = 16  # block candidates queued behind an in-flight submitblock, per tip
SOLVED_KEPT = 64  # previous-block hashes remembered as taken
TAKEN = (None, "duplicate", "inconclusive")  # submitblock results: the height has a block now


@dataclass(slots=True)
class BlockCandidate:
    block_hex: str
    block_hash: bytes
    record: ShareRecord
    durable: asyncio.Future[bool]


def _found(c: BlockCandidate, result: Any) -> BlockFound:
    r = c.record
    return BlockFound(time.time(), r.instance, r.height, c.block_hash, r.address, r.worker, r.block_reward,
                      r.network_difficulty, result, pow_hash=r.hash)


class ShareSink(Protocol):
    def submit(self, record: ShareRecord, done: Callable[[bool], None]) -> None: ...


class BlockSubmitter(Protocol):
    async def submit_block(self, block_hex: str) -> Any: ...


AddressValidator = Callable[[str], Awaitable[bytes | None]]
BlockCallback = Callable[[BlockFound], Awaitable[None]]


def _true(msg_id: Any) -> bytes:
    """reply(msg_id, True), without json.dumps for the common integer id (the share hot path)."""
    if type(msg_id) is int:
        return b'{"id":%d,"result":true,"error":null}\n' % msg_id
    return reply(msg_id, True)


@lru_cache(maxsize=4096)
def _target(difficulty: float, scrypt: bool) -> int:
    return difficulty_to_target(difficulty, scrypt=scrypt)


class Stratifier:
    def __init__(
        self,
        cfg: PoolConfig,
        recorder: ShareSink,
        submitter: BlockSubmitter,
        validate_address: AddressValidator,
        on_block: BlockCallback,
        *,
        pool_script: bytes | None = None,
        metrics: PoolMetrics | None = None,
        pow_fn: PowFunction = sha256d,
        scrypt: bool = False,
        unsent: UnsentBlocks | None = None,
    ) -> None:
        self.cfg = cfg
        self.unsent = unsent
        self.sc = cfg.stratifier
        self.recorder = recorder
        self.submitter = submitter
        self.validate_address = validate_address
        self.on_block = on_block
        self.pool_script = pool_script
        self.metrics = metrics or PoolMetrics()
        self.pow_fn = pow_fn
        self.scrypt = scrypt
        self.extranonces = ExtranonceAllocator(self.sc.instance_id)
        self.sessions: set[Session] = set()
        self.workers: dict[str, int] = {}  # username -> open connections authorized as it
        self.floor = cfg.min_share_difficulty
        self.test_network = cfg.test_network
        self._said_above_network = False
        self.template: Template | None = None
        self.template_seq = 0
        self.network_target = 0
        self.network_difficulty: float | None = None
        self._pool_job: PoolJob | None = None
        self._solo_jobs: dict[bytes, PoolJob] = {}
        self._seen: dict[int, set[int]] = {}  # template_seq -> 64-bit hash prefixes of its shares
        self._prev_seen: dict[int, set[int]] = {}  # the same for the previous tip (previous_tip_grace)
        self._tip_changed_at = 0.0
        self._ids = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self.new_work_at = 0.0
        # block submission, serialized per previous block (see the module docstring)
        self._block_queue: dict[bytes, list[BlockCandidate]] = {}
        self._submitting: set[bytes] = set()
        self._solved: OrderedDict[bytes, None] = OrderedDict()
        self.blocks_dropped = 0
        # merged mining (merged.py): every checked share of a job with aux chains, to submit AuxPoWs;
        # with the share as recorded and, when it meets an aux chain's target, its durability
        self.on_aux_share: Callable[[PoolJob, bytes, ShareCheck, ShareRecord, asyncio.Future[bool] | None],
                                    None] | None = None
        # merged mining: the aux chains a share of a job carrying this bundle serves (recorded with
        # it: the coins it earns in); without it, every chain in the bundle
        self.aux_chains_of: Callable[[AuxBundle], tuple[str, ...]] | None = None
        # merged mining: checks (and stores) the aux-coin payout addresses an authorize's password
        # names; an error text refuses the worker
        self.on_authorize: Callable[[str, str], Awaitable[str | None]] | None = None

    # --- templates and jobs ----------------------------------------------------------------

    def set_template(self, template: Template) -> bool:
        """Installs a new template and sends its job to every session; True when it was a new tip."""
        clean = self.template is None or template.prev_hash != self.template.prev_hash
        if not clean and self.template is not None and self.template.same_work(template) \
                and template.curtime - self.template.curtime < self.sc.refresh_interval:
            return False
        old = self.template
        self.template = template
        self.template_seq += 1
        self.network_target = bits_to_target(template.bits)
        # share units; with merged mining the easiest chain's (an aux block is never withheld)
        self.network_difficulty = template.ceiling_difficulty * share_scale(self.scrypt)
        self._solo_jobs.clear()
        self._pool_job = None
        if clean:
            self._prev_seen, self._seen = self._seen, {}
            self._tip_changed_at = time.monotonic()
            if old is not None:
                self._mark_solved(old.prev_hash)  # a block at that height exists now
        self._seen[self.template_seq] = set()
        while len(self._seen) > self.sc.jobs_kept:  # dicts keep insertion order: oldest first
            del self._seen[next(iter(self._seen))]
        self.new_work_at = time.monotonic()
        pooled = self._pooled_job() if self.cfg.accounting.scheme is not Scheme.SOLO else None
        line = notification("mining.notify", pooled.job.to_notify()) if pooled else None
        for s in list(self.sessions):
            if not s.workers:
                continue
            if clean:
                s.stale_jobs = dict(s.jobs)
                s.jobs.clear()
            self._clamp_to_network(s)
            if pooled is not None and line is not None:
                self._record_job(s, pooled)
                s.send(line)
            else:
                self._send_job(s, clean)
        self.metrics.jobs.inc()
        return clean

    def _pooled_job(self) -> PoolJob:
        if self._pool_job is None:
            assert self.template is not None and self.pool_script is not None
            outs = payout_outputs(self.template.coinbase_value, self.pool_script, 0.0, None)
            self._pool_job = self._make(outs)
        return self._pool_job

    def _make(self, outputs: list[tuple[bytes, int]]) -> PoolJob:
        assert self.template is not None
        return make_job(
            self.template, self.template_seq, f"{self.template_seq:x}", outputs,
            self.sc.coinbase_tag, self.sc.extranonce2_size, clean=True,
        )

    def _job_for(self, s: Session) -> PoolJob | None:
        if self.template is None:
            return None
        if self.cfg.accounting.scheme is not Scheme.SOLO:
            return self._pooled_job()
        w = s.payout_worker
        if w is None:
            return None
        job = self._solo_jobs.get(w.script)
        if job is None:
            outs = payout_outputs(self.template.coinbase_value, w.script,
                                  self.cfg.accounting.fee_percent, self.pool_script)
            job = self._solo_jobs[w.script] = self._make(outs)
        return job

    def _record_job(self, s: Session, pj: PoolJob) -> None:
        s.jobs[pj.job_id] = SessionJob(pj, s.difficulty)
        while len(s.jobs) > self.sc.jobs_kept:
            s.jobs.popitem(last=False)

    def _send_job(self, s: Session, clean: bool, alias: bool = False) -> None:
        pj = self._job_for(s)
        if pj is None:
            return
        if alias:
            # the current job again under a new id, so the new difficulty applies to it alone
            s.job_alias += 1
            pj = replace(pj, job=replace(pj.job, job_id=f"{pj.job_id}.{s.job_alias:x}"))
        self._record_job(s, pj)
        params = pj.job.to_notify()
        params[8] = clean
        s.send(notification("mining.notify", params))

    def _set_difficulty(self, s: Session, difficulty: float, now: float, resend: bool = True) -> None:
        s.vardiff.reset(difficulty, now)
        net = self.network_difficulty
        if net is not None and difficulty > net and not self._said_above_network:
            self._said_above_network = True
            log.info("share difficulty %.4g is above the network difficulty %.4g on %s, a test network: "
                     "hashes between the two targets are not submitted, blocks arrive at the share rate",
                     difficulty, net, self.cfg.network)
        s.send(notification("mining.set_difficulty", [difficulty]))
        if resend and s.jobs:
            self._send_job(s, clean=False, alias=True)

    def _clamp_to_network(self, s: Session) -> None:
        d = s.vardiff.clamp(s.difficulty, self.network_difficulty)
        if d != s.difficulty:
            self._set_difficulty(s, d, time.monotonic(), resend=False)

    # --- sessions ----------------------------------------------------------------------------

    def new_session(self, peer: str, send: Callable[[bytes], None], close: Callable[[str], None]) -> Session:
        now = time.monotonic()
        self._ids += 1
        vd = Vardiff(self.cfg.vardiff, self.cfg.vardiff.start_difficulty, now, floor=self.floor,
                     above_network=self.test_network)
        vd.difficulty = vd.start(vd.difficulty, self.network_difficulty)
        c = self.cfg.connector
        s = Session(self._ids, peer, b"", send, close, vd, TokenBucket(c.submit_rate, c.submit_burst, now))
        self.sessions.add(s)
        self.metrics.connections.inc()
        return s

    def end_session(self, s: Session) -> None:
        if s in self.sessions:
            self.sessions.discard(s)
            self.metrics.connections.dec()
            if s.extranonce1:
                self.extranonces.release(s.extranonce1)
            for username in s.workers:
                self._worker_gone(username)
            s.workers.clear()
            s.jobs.clear()
        s.closed = True

    def _worker_gone(self, username: str) -> None:
        n = self.workers.get(username, 0) - 1
        if n > 0:
            self.workers[username] = n
        else:  # the worker's last connection: nothing of it stays
            self.workers.pop(username, None)
            self.metrics.workers.dec()

    def reassign_extranonce(self, s: Session) -> bool:
        """Gives `s` a fresh extranonce1 with mining.set_extranonce (only if it subscribed to it)."""
        if not s.extranonce_subscribed:
            return False
        old = s.extranonce1
        s.extranonce1 = self.extranonces.allocate()
        self.extranonces.release(old)
        s.jobs.clear()
        s.send(notification("mining.set_extranonce", [s.extranonce1.hex(), self.sc.extranonce2_size]))
        self._send_job(s, clean=True)
        return True

    def shutdown_notice(self, host: str | None = None, port: int | None = None) -> None:
        """client.reconnect to every session (pool going down; come back here or to host:port)."""
        params: list[Any] = [host, port, 0] if host and port else []
        line = notification("client.reconnect", params)
        for s in list(self.sessions):
            s.send(line)

    def tick(self) -> None:
        """Periodic: idle vardiff decay."""
        now = time.monotonic()
        for s in list(self.sessions):
            if s.workers:
                new = s.vardiff.on_idle(now, self.network_difficulty)
                if new is not None:
                    self._set_difficulty(s, new, now)

    # --- methods -----------------------------------------------------------------------------

    def handle(self, s: Session, msg: dict[str, Any]) -> Outgoing:
        method = msg.get("method")
        msg_id = msg.get("id")
        params = msg.get("params", [])
        if method is None:
            return None  # a reply from the miner (to client.reconnect etc.): nothing to do
        handler = self._METHODS.get(method)
        if handler is None:
            return error_reply(msg_id, StratumErrorCode.OTHER, f"unknown method {method}"[:200])
        try:
            return handler(self, s, msg_id, params)
        except ShareRejected as e:
            return error_reply(msg_id, e.code, e.reason)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError) as e:
            return error_reply(msg_id, StratumErrorCode.OTHER, f"bad params: {e}"[:200])

    def _subscribe(self, s: Session, msg_id: Any, params: Any) -> Outgoing:
        if not isinstance(params, list):
            raise ValueError("params must be an array")
        if s.subscribed:
            return error_reply(msg_id, StratumErrorCode.OTHER, "already subscribed")
        agent = params[0] if params and isinstance(params[0], str) else ""
        resume = params[1] if len(params) > 1 and isinstance(params[1], str) else None
        s.user_agent = agent[:128]
        s.extranonce1 = self.extranonces.allocate(resume)
        s.subscribed = True
        sid = s.extranonce1.hex()
        return reply(msg_id, [[["mining.set_difficulty", sid], ["mining.notify", sid]], sid,
                              self.sc.extranonce2_size])

    def _authorize(self, s: Session, msg_id: Any, params: Any) -> Outgoing:
        if not s.subscribed:
            return error_reply(msg_id, StratumErrorCode.NOT_SUBSCRIBED, "not subscribed")
        if not isinstance(params, list) or not params or not isinstance(params[0], str):
            raise ValueError("mining.authorize needs [username, password]")
        username = params[0].strip()
        password = params[1] if len(params) > 1 and isinstance(params[1], str) else ""
        address, _, name = username.partition(".")
        if not WORKER_NAME.match(name) or not address or len(address) > 128:
            return error_reply(msg_id, StratumErrorCode.UNAUTHORIZED_WORKER, "bad worker name")
        cap = self.cfg.connector.max_workers_per_connection
        if username not in s.workers and len(s.workers) + s.authorizing >= cap:
            return error_reply(msg_id, StratumErrorCode.UNAUTHORIZED_WORKER,
                               f"too many workers on this connection (at most {cap})")
        s.authorizing += 1
        fut = Pending()

        async def checked() -> tuple[bytes | None, str | None]:
            """(the address' script, None) or (None, why the worker is refused)."""
            try:
                script = await self.validate_address(address)
            except Exception as e:
                log.warning("address validation failed: %s", e)
                script = None
            if script is None:
                return None, f"invalid address for this network: {address}"
            if self.on_authorize is not None and not s.closed:
                try:
                    refused = await self.on_authorize(address, password)
                except Exception as e:
                    log.warning("aux payout address check failed: %s", e)
                    refused = "aux payout address not stored; try again"
                if refused is not None:
                    return None, refused
            return script, None

        async def check() -> None:
            try:
                script, refused = await checked()
            finally:
                s.authorizing -= 1
            if s.closed:
                fut.set(b"")
                return
            if script is None:
                fut.set(error_reply(msg_id, StratumErrorCode.UNAUTHORIZED_WORKER, (refused or "")[:200]))
                return
            first = not s.workers
            solo = self.cfg.accounting.scheme is Scheme.SOLO
            payout = s.payout_worker
            if solo and payout is not None and payout.script != script:
                fut.set(error_reply(msg_id, StratumErrorCode.UNAUTHORIZED_WORKER,
                                    "SOLO: one payout address per connection"))
                return
            if username not in s.workers:
                self.workers[username] = self.workers.get(username, 0) + 1
                if self.workers[username] == 1:
                    self.metrics.workers.inc()
            s.workers[username] = Worker(username, address, name or "default", script)
            fut.set(reply(msg_id, True))
            if first:
                self._after_first_authorize(s, password)

        self._spawn(check())
        return fut

    def _after_first_authorize(self, s: Session, password: str) -> None:
        now = time.monotonic()
        d = s.difficulty
        m = re.search(r"(?:^|[,;\s])d=([0-9.eE+-]+)", password)
        if m:
            with contextlib.suppress(ValueError):
                wanted = float(m.group(1))
                if wanted > 0 and wanted != float("inf"):
                    d = wanted
        d = s.vardiff.clamp(d, self.network_difficulty)
        self._set_difficulty(s, d, now, resend=False)
        self._send_job(s, clean=True)

    def _configure(self, s: Session, msg_id: Any, params: Any) -> Outgoing:
        if not isinstance(params, list) or not params or not isinstance(params[0], list):
            raise ValueError("mining.configure needs [extensions, params]")
        opts = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        result: dict[str, Any] = {}
        for ext in params[0]:
            if ext == "version-rolling":
                client_mask = int(str(opts.get("version-rolling.mask", "ffffffff")), 16) & 0xFFFFFFFF
                s.version_mask = self.sc.version_mask & client_mask
                result["version-rolling"] = True
                result["version-rolling.mask"] = f"{s.version_mask:08x}"
            elif ext == "minimum-difficulty":
                value = float(opts.get("minimum-difficulty.value", 0))
                if value > 0:
                    s.vardiff.reset(s.vardiff.clamp(max(value, s.difficulty), self.network_difficulty),
                                    time.monotonic())
                result["minimum-difficulty"] = True
            elif isinstance(ext, str):
                result[ext] = False
        return reply(msg_id, result)

    def _suggest_difficulty(self, s: Session, msg_id: Any, params: Any) -> Outgoing:
        if not isinstance(params, list) or not params:
            raise ValueError("mining.suggest_difficulty needs [difficulty]")
        d = float(params[0])
        if not d > 0 or d != d or d == float("inf"):
            raise ValueError("difficulty must be a positive number")
        now = time.monotonic()
        interval = self.cfg.vardiff.suggest_interval
        if s.suggested_at is not None and now - s.suggested_at < interval:
            if msg_id is None:
                return None
            return error_reply(msg_id, StratumErrorCode.OTHER,
                               f"difficulty suggestion ignored: at most one per {interval:g} s")
        s.suggested_at = now
        d = s.vardiff.clamp(d, self.network_difficulty)
        if s.workers:
            self._set_difficulty(s, d, now)
        else:
            s.vardiff.reset(d, now)
        return reply(msg_id, True) if msg_id is not None else None

    def _extranonce_subscribe(self, s: Session, msg_id: Any, params: Any) -> Outgoing:
        s.extranonce_subscribed = True
        return reply(msg_id, True)

    def _submit(self, s: Session, msg_id: Any, params: Any) -> Outgoing:
        if not s.subscribed:
            return error_reply(msg_id, StratumErrorCode.NOT_SUBSCRIBED, "not subscribed")
        now_m = time.monotonic()
        if not s.bucket.take(now_m):
            if s.invalid_streak == 0 and s.accepted > 0:
                # Over the budget, but every share so far was valid: the difficulty the pool gave is
                # too low, the miner does as told. Checked as usual (each costs the miner the work
                # of a share, at least the operator's minimum) and the difficulty goes up.
                new = s.vardiff.on_flood(now_m, self.network_difficulty)
                if new is not None:
                    self._set_difficulty(s, new, now_m)
            else:
                s.rate_violations += 1
                self.metrics.rejected.labels("rate").inc()
                if s.rate_violations >= self.cfg.connector.max_rate_violations:
                    s.close("share flood")
                return error_reply(msg_id, StratumErrorCode.OTHER, "rate limited")
        s.rate_violations = 0
        try:
            return self._check_and_record(s, msg_id, params, now_m)
        except ShareRejected as e:
            s.rejected += 1
            s.invalid_streak += 1
            self.metrics.rejected.labels(e.code.name.lower()).inc()
            if s.invalid_streak >= self.cfg.connector.max_invalid_shares:
                s.close("too many invalid shares")
            return error_reply(msg_id, e.code, e.reason)

    def _check_and_record(self, s: Session, msg_id: Any, params: Any, now_m: float) -> Outgoing:
        sub = Submission.parse(params)
        worker = s.workers.get(sub.worker)
        if worker is None:
            raise ShareRejected(StratumErrorCode.UNAUTHORIZED_WORKER, "unauthorized worker")
        sj = s.jobs.get(sub.job_id)
        previous_tip = False
        if sj is None:
            sj = s.stale_jobs.get(sub.job_id)
            grace = self.test_network and now_m - self._tip_changed_at <= self.sc.previous_tip_grace
            if sj is None or not grace:
                self._count_stale(s, sub.job_id, now_m)
                raise ShareRejected(StratumErrorCode.JOB_NOT_FOUND, "job not found (stale)")
            previous_tip = True  # a share, never a block: that height has one
        required = min(sj.difficulty, s.difficulty)
        pj = sj.pool_job
        now = int(time.time())
        share = check_share(
            pj.job, s.extranonce1, sub,
            extranonce2_size=self.sc.extranonce2_size,
            version_mask=s.version_mask,
            share_target=_target(required, self.scrypt),
            network_target=0 if previous_tip else self.network_target,
            now=now,
            ntime_future=self.sc.ntime_future,
            pow_fn=self.pow_fn,
            scrypt=self.scrypt,
        )
        seen = (self._prev_seen if previous_tip else self._seen).get(pj.template_seq)
        if seen is None:
            raise ShareRejected(StratumErrorCode.JOB_NOT_FOUND, "job not found (stale)")
        key = int.from_bytes(share.pow_hash[:8], "little")  # the random end of the hash
        if key in seen:
            raise ShareRejected(StratumErrorCode.DUPLICATE_SHARE, "duplicate share")
        seen.add(key)
        t = pj.template
        netdiff = t.network_difficulty * share_scale(self.scrypt)
        aux = t.aux
        record = ShareRecord(time.time(), self.sc.instance_id, worker.address, worker.name, required,
                             share.hash_difficulty, netdiff, t.height, t.coinbase_value,
                             share.pow_hash, share.is_block, self._aux_chains(aux))
        out = Pending()
        durable: asyncio.Future[bool] | None = None
        aux_block = aux is not None and self.on_aux_share is not None and bool(aux.met_by(share.pow_hash))
        if share.is_block or aux_block:
            durable = asyncio.get_running_loop().create_future()

        def done(ok: bool) -> None:
            out.set(_true(msg_id) if ok else error_reply(msg_id, StratumErrorCode.OTHER, "share not recorded"))
            if durable is not None and not durable.done():
                durable.set_result(ok)

        try:
            self.recorder.submit(record, done)
        except RecorderError as e:
            return error_reply(msg_id, StratumErrorCode.OTHER, f"share not recorded: {e}"[:200])
        if aux is not None and self.on_aux_share is not None:
            self.on_aux_share(pj, s.extranonce1, share, record, durable if aux_block else None)
        if share.is_block:
            assert durable is not None
            self._block_candidate(pj, s.extranonce1, share.extranonce2, share.header, record, durable)
        s.invalid_streak = 0
        s.accepted += 1
        # Shares of jobs sent before a raise measure the old difficulty: a fast miner has many in
        # flight, and counted they would retarget again and again, past every job still kept.
        if sj.difficulty >= s.difficulty:
            new = s.vardiff.on_share(required, now_m, self.network_difficulty)
            if new is not None:
                self._set_difficulty(s, new, now_m)
        return out

    def _aux_chains(self, aux: AuxBundle | None) -> tuple[str, ...]:
        if aux is None:
            return ()
        if self.aux_chains_of is None:
            return tuple(w.network for w in aux.works)
        return self.aux_chains_of(aux)

    def _count_stale(self, s: Session, job_id: str, now: float) -> None:
        """A stale share of a job dropped by the last new tip still measures the miner's rate
        (where tips change at the share rate, it may be most of what a fast miner sends).
        Unchecked, so counting it can only raise the sender's own difficulty."""
        sj = s.stale_jobs.get(job_id)
        if sj is not None and sj.difficulty >= s.difficulty:
            new = s.vardiff.on_share(sj.difficulty, now, self.network_difficulty)
            if new is not None:
                self._set_difficulty(s, new, now)

    # --- block candidates ----------------------------------------------------------------

    def _mark_solved(self, prev_hash: bytes) -> None:
        self._solved[prev_hash] = None
        self._solved.move_to_end(prev_hash)
        while len(self._solved) > SOLVED_KEPT:
            self._solved.popitem(last=False)
        waiting = self._block_queue.pop(prev_hash, [])
        if waiting:
            self._drop(waiting, "a block at this height was taken")
            if self.unsent is not None:
                for c in waiting:
                    self.unsent.remove(c.block_hash)

    def _drop(self, candidates: list[BlockCandidate], why: str) -> None:
        self.blocks_dropped += len(candidates)
        self.metrics.blocks.labels("dropped").inc(len(candidates))
        for c in candidates:
            log.debug("block candidate %s at height %d not submitted: %s",
                      c.block_hash[::-1].hex(), c.record.height, why)

    def _block_candidate(self, pj: PoolJob, extranonce1: bytes, extranonce2: bytes, header: bytes,
                         record: ShareRecord, durable: asyncio.Future[bool]) -> None:
        prev = pj.template.prev_hash
        block_hash = sha256d(header)
        candidate = BlockCandidate("", block_hash, record, durable)
        if prev in self._solved:
            self._drop([candidate], "a block at this height was taken")
            return
        waiting = self._block_queue.setdefault(prev, [])
        if len(waiting) >= MAX_WAITING_BLOCKS:
            self._drop([candidate], "too many candidates waiting for this tip")
            return
        candidate.block_hex = pj.block(extranonce1, extranonce2, header).hex()
        log.info("block candidate %s at height %d by %s", block_hash[::-1].hex(), record.height, record.address)
        if self.unsent is not None:  # on disk before the node sees it: a stop or a kill now loses nothing
            try:
                self.unsent.save(candidate.block_hex, _found(candidate, None))
            except OSError as e:
                log.error("cannot keep block candidate %s on disk: %s", block_hash[::-1].hex(), e)
        waiting.append(candidate)
        if prev not in self._submitting:
            self._submitting.add(prev)
            self._spawn(self._submit_blocks(prev))

    async def _submit_blocks(self, prev: bytes) -> None:
        """Submits the candidates on `prev`, one at a time, until the node takes one."""
        try:
            while prev not in self._solved:
                waiting = self._block_queue.get(prev)
                if not waiting:
                    break
                c = waiting.pop(0)
                try:
                    result = await self.submitter.submit_block(c.block_hex)
                except Exception as e:  # the node is down or refused: record why
                    result = f"submitblock failed: {e}"
                self.metrics.blocks.labels("accepted" if result is None else "rejected").inc()
                if result in TAKEN:
                    self._mark_solved(prev)
                self._spawn(self._found_block(_found(c, result), c.durable))
        finally:
            self._submitting.discard(prev)
            if not self._block_queue.get(prev, True):
                del self._block_queue[prev]

    async def _found_block(self, found: BlockFound, durable: asyncio.Future[bool]) -> None:
        if not await durable:
            log.error("block share was not recorded")
        await self.on_block(found)
        if self.unsent is not None:
            self.unsent.remove(found.hash)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    _METHODS: ClassVar[dict[str, Callable[[Stratifier, Session, Any, Any], Outgoing]]] = {
        "mining.subscribe": _subscribe,
        "mining.authorize": _authorize,
        "mining.configure": _configure,
        "mining.suggest_difficulty": _suggest_difficulty,
        "mining.extranonce.subscribe": _extranonce_subscribe,
        "mining.submit": _submit,
    }
