"""Starts parts (child processes) in order, waits until each is ready, restarts one that crashes,
and stops them all in reverse order.

A crashed part is restarted after an exponential backoff, counted against a budget per window
(default 3 crashes in 10 minutes): crashes months apart never add up, while a part that keeps
crashing gives up the operation with a clear message. `check()` never sleeps: a part waiting out
its backoff is due at a time, so supervising the other parts goes on meanwhile. Each part's output
goes to a size-rotated log (hashforge.logs.RotatingLog) through a pipe.
"""

from __future__ import annotations

import collections
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hashforge.logs import RotatingLog

PR_SET_PDEATHSIG = 1
LOG_MAX_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 3


def _die_with_parent() -> None:
    """Runs in the child before exec: if the supervisor dies (even by SIGKILL), the part gets
    SIGTERM instead of living on as an orphan holding ports and datadirs (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class PartFailed(RuntimeError):
    """A part could not start, or kept crashing."""


@dataclass(frozen=True)
class RestartPolicy:
    """`max_crashes` crashes of one part within `window_s` are restarted; one more gives up."""

    max_crashes: int = 3
    window_s: float = 600.0
    backoff_s: float = 1.0  # the first restart's delay; doubles with each crash in the window
    max_backoff_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_crashes < 1 or self.window_s <= 0 or self.backoff_s < 0 or self.max_backoff_s < self.backoff_s:
            raise ValueError("restart policy needs max_crashes >= 1, window_s > 0 and 0 <= backoff <= max backoff")

    def delay(self, crashes: int) -> float:
        return min(self.backoff_s * 2.0 ** (crashes - 1), self.max_backoff_s)


@dataclass(frozen=True)
class Restart:
    """One crash of a part and what the supervisor does about it (an event for `up --json` and alerts)."""

    part: str
    exit_code: int | None
    crashes: int  # within the window, this one included
    policy: RestartPolicy
    delay_s: float
    last_line: str

    @property
    def message(self) -> str:
        return (f"{self.part} exited with code {self.exit_code}; restarting ({self.crashes}/{self.policy.max_crashes} "
                f"within {self.policy.window_s:g} s) in {self.delay_s:g} s: {self.last_line or 'no output'}")


@dataclass
class Part:
    name: str
    argv: list[str]
    log_path: Path
    ready: Callable[[], bool]
    ready_timeout: float = 60.0
    stop_timeout: float = 20.0  # SIGTERM, then SIGKILL after this long (a coin daemon flushes its caches)
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    crashes: collections.deque[float] = field(default_factory=collections.deque)  # clock times in the window
    due_at: float | None = None  # when a crashed part is restarted (None: not waiting)
    log: RotatingLog | None = None
    _last_line: bytes = b""
    _pump: threading.Thread | None = None

    def spawn(self, log_max_bytes: int = LOG_MAX_BYTES, log_backups: int = LOG_BACKUPS) -> None:
        if self.log is None:
            self.log = RotatingLog(self.log_path, log_max_bytes, log_backups)
        self._last_line = b""
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops parts in order
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.started_at = time.monotonic()
        self._pump = threading.Thread(target=self._copy_output, args=(self.proc, self.log), daemon=True,
                                      name=f"log-{self.name}")
        self._pump.start()

    def _copy_output(self, proc: subprocess.Popen[bytes], log: RotatingLog) -> None:
        assert proc.stdout is not None
        with proc.stdout:
            for line in iter(proc.stdout.readline, b""):
                log.write(line)
                if line.strip():
                    self._last_line = line

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def last_log_line(self) -> str:
        """The part's last line of output (its dying words, once it exited)."""
        if self._pump is not None and not self.alive():
            self._pump.join(2.0)  # the pipe may still hold the last lines
        return self._last_line.decode(errors="replace").strip()[:300]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if not self.alive():
                code = self.proc.returncode if self.proc else None
                raise PartFailed(f"{self.name} exited with code {code} while starting: {self.last_log_line() or 'no output'}")
            try:
                if self.ready():
                    return
            except Exception:  # readiness probes fail in many ways until the part is up
                pass
            time.sleep(0.1)
        raise PartFailed(f"{self.name} did not become ready within {self.ready_timeout:.0f} s (log: {self.log_path})")

    def stop(self, timeout: float | None = None) -> int | None:
        self.due_at = None
        timeout = self.stop_timeout if timeout is None else timeout
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._pump is not None:
            self._pump.join(5.0)
        return self.proc.returncode


class Supervisor:
    def __init__(self, report: Callable[[Restart], None], policy: RestartPolicy | None = None, *,
                 clock: Callable[[], float] = time.monotonic, on_restarted: Callable[[Part], None] | None = None,
                 log_max_bytes: int = LOG_MAX_BYTES, log_backups: int = LOG_BACKUPS) -> None:
        self.parts: list[Part] = []
        self.report = report
        self.policy = policy or RestartPolicy()
        self.clock = clock
        self.on_restarted = on_restarted
        self.log_max_bytes = log_max_bytes
        self.log_backups = log_backups

    def start(self, part: Part, on_progress: Callable[[str], None] | None = None) -> None:
        if on_progress:
            on_progress(f"starting {part.name}")
        part.spawn(self.log_max_bytes, self.log_backups)
        self.parts.append(part)
        part.wait_ready()

    def check(self) -> None:
        """Restarts the parts whose backoff is over, schedules a restart for each part that died;
        raises PartFailed when one crashed more than the budget allows within the window. Never waits."""
        now = self.clock()
        for part in self.parts:
            if part.due_at is not None:
                if now >= part.due_at:
                    part.due_at = None
                    part.restarts += 1
                    part.spawn(self.log_max_bytes, self.log_backups)
                    if self.on_restarted is not None:
                        self.on_restarted(part)
                continue
            if part.alive() or part.proc is None:
                continue
            while part.crashes and now - part.crashes[0] >= self.policy.window_s:
                part.crashes.popleft()
            part.crashes.append(now)
            code = part.proc.returncode
            last = part.last_log_line()
            if len(part.crashes) > self.policy.max_crashes:
                raise PartFailed(f"{part.name} keeps crashing (exit {code}): {len(part.crashes)} crashes within "
                                 f"{self.policy.window_s:g} s; last output: {last or 'none'}")
            delay = self.policy.delay(len(part.crashes))
            part.due_at = now + delay
            self.report(Restart(part.name, code, len(part.crashes), self.policy, delay, last))

    def stop_all(self) -> dict[str, int | None]:
        codes = {}
        for part in reversed(self.parts):
            codes[part.name] = part.stop()
        for part in self.parts:
            if part.log is not None:
                part.log.close()
        return codes
