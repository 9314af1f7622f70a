"""Starts parts (child processes) in order, waits until each is ready, restarts one that crashes
(a few times, with backoff, and says so), and stops them all in reverse order."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MAX_RESTARTS = 3
PR_SET_PDEATHSIG = 1


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


@dataclass
class Part:
    name: str
    argv: list[str]
    log_path: Path
    ready: Callable[[], bool]
    ready_timeout: float = 60.0
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0

    def spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
                start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops parts in order
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def last_log_line(self) -> str:
        try:
            lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        return lines[-1].strip()[:300] if lines else ""

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

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Supervisor:
    def __init__(self, report: Callable[[str], None]) -> None:
        self.parts: list[Part] = []
        self.report = report

    def start(self, part: Part, on_progress: Callable[[str], None] | None = None) -> None:
        if on_progress:
            on_progress(f"starting {part.name}")
        part.spawn()
        self.parts.append(part)
        part.wait_ready()

    def check(self) -> None:
        """Restarts parts that died; raises PartFailed when one keeps dying."""
        for part in self.parts:
            if part.alive() or part.proc is None:
                continue
            code = part.proc.returncode
            if part.restarts >= MAX_RESTARTS:
                raise PartFailed(f"{part.name} keeps crashing (exit {code}): {part.last_log_line() or 'no output'}")
            part.restarts += 1
            self.report(f"{part.name} exited with code {code}; restarting ({part.restarts}/{MAX_RESTARTS}): {part.last_log_line()}")
            time.sleep(min(2.0 ** part.restarts, 10.0))
            part.spawn()
            part.wait_ready()

    def stop_all(self) -> dict[str, int | None]:
        codes = {}
        for part in reversed(self.parts):
            codes[part.name] = part.stop()
        return codes
