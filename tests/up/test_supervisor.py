"""Issue 17 item 2: the `up` supervisor on real child processes with an injected clock: a restart
budget per window (crashes months apart never add up; crashes inside the window give up with a
clear message), backoff that never blocks supervising the other parts, each restart reported, the
report reaching the alert rules (`part_restarted`), and each part's log rotated by size."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hashforge.ops.alerts import AlertEngine, AlertStore, Snapshot
from hashforge.services.events import EventBus
from hashforge.up.supervisor import Part, PartFailed, Restart, RestartPolicy, Supervisor

SLEEPER = "import sys, time; print('part up', flush=True); time.sleep(600)"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def part(tmp: Path, name: str, code: str = SLEEPER) -> Part:
    p = Part(name, [sys.executable, "-c", code], tmp / "logs" / f"{name}.log", lambda: p.last_log_line() == "part up")
    return p


def kill(p: Part) -> None:
    assert p.proc is not None and p.alive()
    p.proc.kill()
    p.proc.wait()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reports() -> list[Restart]:
    return []


@pytest.fixture
def sup(clock: Clock, reports: list[Restart]) -> Iterator[Supervisor]:
    s = Supervisor(reports.append, RestartPolicy(max_crashes=3, window_s=600, backoff_s=1, max_backoff_s=30),
                   clock=clock)
    yield s
    s.stop_all()


def crash_and_restart(sup: Supervisor, clock: Clock, p: Part) -> None:
    kill(p)
    sup.check()  # schedules the restart
    assert p.due_at is not None and not p.alive()
    clock.now = p.due_at
    sup.check()  # due: restarted
    assert p.alive() and p.due_at is None
    p.wait_ready()


def test_four_crashes_spread_beyond_the_window_do_not_stop_the_operation(
        tmp_path: Path, sup: Supervisor, clock: Clock, reports: list[Restart]) -> None:
    p = part(tmp_path, "pool")
    sup.start(p)
    for _ in range(6):  # the old supervisor gave up at the fourth crash, however far apart
        crash_and_restart(sup, clock, p)
        clock.now += 400  # two crashes at most within any 600 s
    assert p.restarts == 6
    assert [r.crashes for r in reports] == [1, 2, 2, 2, 2, 2]
    assert [r.delay_s for r in reports] == [1, 2, 2, 2, 2, 2]  # backoff doubles with each crash in the window
    assert reports[0].message.startswith("pool exited with code -9; restarting (1/3 within 600 s) in 1 s: part up")


def test_crashes_inside_the_window_give_up_with_a_clear_message(
        tmp_path: Path, sup: Supervisor, clock: Clock, reports: list[Restart]) -> None:
    p = part(tmp_path, "pool")
    sup.start(p)
    for _ in range(3):
        crash_and_restart(sup, clock, p)
    assert [r.delay_s for r in reports] == [1, 2, 4]
    kill(p)
    with pytest.raises(PartFailed, match=r"^pool keeps crashing \(exit -9\): 4 crashes within 600 s; "
                                         r"last output: part up$"):
        sup.check()


def test_one_part_in_backoff_does_not_delay_restarting_another(
        tmp_path: Path, sup: Supervisor, clock: Clock, reports: list[Restart]) -> None:
    a, b = part(tmp_path, "miner"), part(tmp_path, "api")
    sup.start(a)
    sup.start(b)
    for _ in range(2):
        crash_and_restart(sup, clock, a)
    kill(a)
    kill(b)
    started = time.monotonic()
    sup.check()  # the miner waits 4 s now (its third crash), the api 1 s
    assert time.monotonic() - started < 0.5  # no sleep inside the supervising loop
    assert a.due_at == clock.now + 4 and b.due_at == clock.now + 1
    clock.now += 1
    sup.check()
    assert b.alive() and b.restarts == 1
    assert not a.alive() and a.due_at is not None  # still in its backoff
    clock.now += 3
    sup.check()
    assert a.alive() and a.restarts == 3
    assert [r.part for r in reports] == ["miner"] * 3 + ["api"]


def test_restarts_reach_the_part_restarted_alert_rule(tmp_path: Path, sup: Supervisor, clock: Clock,
                                                       reports: list[Restart]) -> None:
    store = AlertStore(tmp_path / "ops")
    store.add_rule("part_restarted", None, None, None, None, time.time())
    sup.report = lambda r: store.post_event("part_restarted", r.part, r.message, time.time())  # as `up` does
    p = part(tmp_path, "node")
    sup.start(p)
    crash_and_restart(sup, clock, p)
    engine = AlertEngine(store, EventBus())
    asyncio.run(engine.evaluate(Snapshot()))
    [alert] = store.alerts(10)
    assert (alert.kind, alert.subject, alert.state, alert.level) == ("part_restarted", "node", "event", "warning")
    assert "node exited with code -9; restarting (1/3" in alert.message
    asyncio.run(engine.evaluate(Snapshot()))
    assert len(store.alerts(10)) == 1  # taken once


def test_part_logs_rotate_by_size(tmp_path: Path, clock: Clock) -> None:
    chatty = "import sys\nfor i in range(400): print(f'line {i:04d} ' + 'x' * 40)\nprint('the last line')"
    sup = Supervisor(lambda r: None, clock=clock, log_max_bytes=4000, log_backups=2)
    p = part(tmp_path, "pool", chatty)
    p.spawn(sup.log_max_bytes, sup.log_backups)
    sup.parts.append(p)
    assert p.proc is not None
    p.proc.wait(30)
    assert p.last_log_line() == "the last line"
    sup.stop_all()
    logs = sorted(x.name for x in (tmp_path / "logs").iterdir())
    assert logs == ["pool.log", "pool.log.1", "pool.log.2"]
    for name in logs:
        size = (tmp_path / "logs" / name).stat().st_size
        assert 0 < size <= 4000
    assert (tmp_path / "logs" / "pool.log").read_text().endswith("the last line\n")
    lines = (tmp_path / "logs" / "pool.log.1").read_text().splitlines()
    assert all(line.startswith("line ") and len(line) == 50 for line in lines)  # no line split across files


def test_restart_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RestartPolicy(max_crashes=0)
    with pytest.raises(ValueError):
        RestartPolicy(window_s=0)


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--restart-max", "0", "--restart-max must be at least 1"),
    ("--restart-window", "0", "--restart-window must be more than 0 and at most a year (seconds)"),
    ("--log-max-mb", "0", "--log-max-mb must be between 0.01 and 1048576"),
    ("--log-backups", "-1", "--log-backups must be 0..1000"),
])
def test_up_refuses_a_bad_budget_or_log_size(tmp_path: Path, flag: str, value: str, message: str) -> None:
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "hashforge", "up", "--datadir", str(tmp_path / "up"), flag, value],
                          capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stderr) == (2, f"error: {message}\n")
    assert not (tmp_path / "up").exists()
