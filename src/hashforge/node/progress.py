"""Startup progress for `hashforge node`: a Rich bar on a terminal, plain log lines otherwise.

The chain manager reports `(stage, done, total)` while it loads the block index and while it
connects blocks that were stored but not connected when the node last stopped (or crashed). Short
work stays silent: a stage is shown only when its total reaches the stage's threshold.
"""

from __future__ import annotations

import logging
import time
from typing import IO, Any

log = logging.getLogger(__name__)

STAGES = {
    # stage: (description, threshold for showing it)
    "load-index": ("Loading block index", 50_000),
    "connect": ("Connecting stored blocks", 10),
}
LOG_INTERVAL_S = 2.0


class StartupProgress:
    """Callable as the chain manager's `progress(stage, done, total)`."""

    def __init__(self, stream: IO[str] | None = None, *, rich: bool | None = None, log_interval: float = LOG_INTERVAL_S) -> None:
        self.stream = stream
        self.rich = bool(stream is not None and stream.isatty()) if rich is None else rich
        self.log_interval = log_interval
        self._bar: Any = None  # rich.progress.Progress while a stage runs on a terminal
        self._task: Any = None
        self._stage: str | None = None
        self._started = 0.0
        self._last_log = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        description, threshold = STAGES.get(stage, (stage, 1))
        if total < threshold:
            return
        now = time.monotonic()
        if stage != self._stage:
            self._finish()
            self._stage, self._started, self._last_log = stage, now, now
            self._start(description, total)
            if not self.rich:
                log.info("%s: %d to go", description.lower(), total)
        if self.rich:
            self._bar.update(self._task, completed=done, total=total)
        elif now - self._last_log >= self.log_interval and done < total:
            self._last_log = now
            log.info("%s: %d/%d (%.0f%%)", description.lower(), done, total, 100.0 * done / total)
        if done >= total:
            if not self.rich:
                log.info("%s: %d/%d done in %.1f s", description.lower(), done, total, now - self._started)
            self._finish()

    def _start(self, description: str, total: int) -> None:
        if not self.rich:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        console = Console(file=self.stream, force_terminal=True) if self.stream is not None else Console(stderr=True)
        self._bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=console,
        )
        self._bar.start()
        self._task = self._bar.add_task(description, total=total)

    def _finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        self._bar = self._task = self._stage = None

    def close(self) -> None:
        self._finish()
