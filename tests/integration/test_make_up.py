"""The README's first command: `make up` on a fresh datadir runs the whole operation and finds a
block within 60 s; SIGTERM stops every part cleanly."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.nodeproc import free_port
from tests.vectorfiles import REPO_ROOT


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_up_finds_a_block_within_60_s(tmp_path: Path) -> None:
    ports = {flag: free_port() for flag in ("--rpc-port", "--stratum-port", "--api-port", "--pool-api-port", "--miner-api-port", "--ws-port")}
    args = f"--datadir {tmp_path / 'up'} --threads 1 " + " ".join(f"{k} {v}" for k, v in ports.items())
    proc = subprocess.Popen(
        ["make", "-s", "up", f"UP_ARGS={args}"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    lines: list[str] = []
    found = None
    started = time.monotonic()
    try:
        while time.monotonic() - started < 60 and found is None and proc.poll() is None:
            if sel.select(timeout=1.0):
                line = proc.stdout.readline().decode(errors="replace")
                lines.append(line)
                if line.startswith("block found"):
                    found = time.monotonic() - started
        assert found is not None, "".join(lines)[-3000:] + (proc.stderr.read().decode()[-2000:] if proc.poll() is not None and proc.stderr else "")
        text = "".join(lines)
        assert f"http://127.0.0.1:{ports['--api-port']}/" in text  # the dashboard URL
        assert "rewards to hfd1" in text  # the wallet's devnet receive address
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
    assert "stopped: api 0, miner 0, pool 0, node 0" in out.decode(), out.decode()[-2000:] + err.decode()[-2000:]
    assert "Traceback" not in err.decode()


def test_second_up_on_same_datadir_is_refused(tmp_path: Path) -> None:
    import fcntl

    datadir = tmp_path / "up"
    datadir.mkdir()
    with open(datadir / "up.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc = subprocess.run(
            [str(REPO_ROOT / ".venv" / "bin" / "hashforge"), "up", "--datadir", str(datadir)],
            capture_output=True, text=True, timeout=60,
        )
    assert proc.returncode == 2
    assert "in use by another" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run(
            [str(REPO_ROOT / ".venv" / "bin" / "hashforge"), "up", "--datadir", str(tmp_path / "up"),
             "--stratum-port", str(port), "--rpc-port", str(free_port())],
            capture_output=True, text=True, timeout=60,
        )
    assert proc.returncode == 2
    assert f"port {port} (Stratum) is already in use" in proc.stderr
    assert proc.stderr.count("\n") == 1


@pytest.mark.parametrize(("flag", "what"), [("--stratum-port", "Stratum"), ("--ws-port", "pool WebSocket")])
def test_busy_ports_give_the_same_error_and_json_event(tmp_path: Path, flag: str, what: str) -> None:
    """The WebSocket port is checked where the others are: one stderr line, an `error` event with
    --json, exit 2, and a new datadir is not even created."""
    import json
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        ports = {f: str(free_port()) for f in ("--rpc-port", "--stratum-port", "--api-port", "--pool-api-port",
                                                 "--miner-api-port", "--ws-port")}
        ports[flag] = str(port)
        proc = subprocess.run(
            [str(REPO_ROOT / ".venv" / "bin" / "hashforge"), "up", "--datadir", str(tmp_path / "up"), "--json",
             *(x for kv in ports.items() for x in kv)],
            capture_output=True, text=True, timeout=60,
        )
    message = f"port {port} ({what}) is already in use; choose another with {flag}"
    assert proc.returncode == 2
    assert proc.stderr == f"error: {message}\n"
    assert [json.loads(line) for line in proc.stdout.splitlines()] == [{"event": "error", "message": message}]
    assert not (tmp_path / "up").exists()


def test_parts_do_not_outlive_a_killed_up(tmp_path: Path) -> None:
    import json

    import psutil

    datadir = tmp_path / "up"
    args = ["--datadir", str(datadir), "--no-miner", "--json"]
    for flag in ("--rpc-port", "--stratum-port", "--api-port", "--pool-api-port", "--ws-port"):
        args += [flag, str(free_port())]
    proc = subprocess.Popen([str(REPO_ROOT / ".venv" / "bin" / "hashforge"), "up", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line or json.loads(line)["event"] == "ready":
                break

        def parts() -> list[psutil.Process]:
            return [p for p in psutil.process_iter(["cmdline"]) if str(datadir) in " ".join(p.info["cmdline"] or [])
                    and p.pid != proc.pid]

        assert len(parts()) == 3  # node, pool, api
        proc.kill()  # SIGKILL: the supervisor cannot stop anything itself
        proc.wait()
        deadline = time.monotonic() + 30
        while parts() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert parts() == []
    finally:
        if proc.poll() is None:
            proc.kill()
