"""`hashforge api` and `hashforge api-key`: the commands in-process (CliRunner), and the server as a
real process (through `python -m hashforge.api` until the top-level CLI registers the commands)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from typer.testing import CliRunner

from hashforge.api.cli import standalone
from tests.api.conftest import Chain
from tests.helpers.nodeproc import free_port

CMD = [sys.executable, "-m", "hashforge.api"]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run(*args: str | Path) -> Ran:
    result = CliRunner().invoke(standalone(), [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def one_line_error(proc: Ran, code: int, fragment: str) -> None:
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_api_key_create_list_revoke(tmp_path: Path) -> None:
    made = run("api-key", "create", "--name", "grafana", "--scope", "read,control", "--datadir", tmp_path, "--json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert key["scopes"] == ["control", "read"] and key["token"].startswith("hfk_")
    plain = run("api-key", "create", "--name", "ci", "--datadir", tmp_path)
    assert plain.stdout.strip().startswith("hfk_") and "shown once" in plain.stderr
    one_line_error(run("api-key", "create", "--name", "grafana", "--datadir", tmp_path), 1, "exists already")
    one_line_error(run("api-key", "create", "--name", "x", "--scope", "read,root", "--datadir", tmp_path), 2,
                   "unknown scope")
    listed = json.loads(run("api-key", "list", "--datadir", tmp_path, "--json").stdout)
    assert sorted(k["name"] for k in listed) == ["ci", "grafana"] and "token" not in listed[0]
    assert run("api-key", "revoke", "--name", "ci", "--datadir", tmp_path).returncode == 0
    assert "revoked" in run("api-key", "list", "--datadir", tmp_path).stdout
    one_line_error(run("api-key", "revoke", "--name", "nobody", "--datadir", tmp_path), 1, "no key named")
    assert key["token"].split("_")[-1].encode() not in (tmp_path / "api_keys.sqlite3").read_bytes()


def test_api_refuses_unsafe_or_impossible_settings(tmp_path: Path, chain: Chain) -> None:
    node = ["--node-rpc", chain.node.url, "--node-cookie", str(chain.node.datadir / ".cookie"), "--datadir", str(tmp_path)]
    one_line_error(run("api", *node, "--host", "0.0.0.0", "--anonymous-read"), 2, "anonymous reads")
    one_line_error(run("api", *node, "--cors-origin", "*"), 2, "CORS")
    one_line_error(run("api", *node, "--node-rpc", "ftp://x"), 2, "node RPC URL")
    one_line_error(run("api", "--node-rpc", chain.node.url, "--node-cookie", str(tmp_path / "nope"), "--datadir", str(tmp_path)),
                   2, "node credentials")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        one_line_error(run("api", *node, "--port", str(busy.getsockname()[1])), 2, "cannot listen")


def test_api_serves_and_stops_cleanly(tmp_path: Path, chain: Chain) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*CMD, "api", "--network", "regtest", "--node-rpc", chain.node.url, "--node-cookie",
         str(chain.node.datadir / ".cookie"), "--port", str(port), "--datadir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                tip = httpx.get(f"http://127.0.0.1:{port}/v1/chain/tip", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() >= deadline or proc.poll() is not None:
                    proc.kill()  # before reading its stderr: a live process never ends the read
                    raise AssertionError(proc.communicate(timeout=10)[1]) from None
                time.sleep(0.1)
        assert tip.json()["height"] == chain.node.call("getblockcount")
        # an open event stream must not hold shutdown up
        with httpx.stream("GET", f"http://127.0.0.1:{port}/v1/events", timeout=10) as stream:
            next(stream.iter_lines())
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _, err = proc.communicate()
    assert "anonymous reads allowed" in err and "Traceback" not in err


def test_api_component_flags_refuse_bad_values(tmp_path: Path, chain: Chain) -> None:
    node = ["--node-rpc", chain.node.url, "--node-cookie", str(chain.node.datadir / ".cookie"), "--datadir", str(tmp_path)]
    one_line_error(run("api", *node, "--miner-api", "nonsense"), 2, "HOST:PORT")
    one_line_error(run("api", *node, "--pool-api", "ftp://pool"), 2, "pool API URL")
    one_line_error(run("api", *node, "--wallet-passphrase-file", str(tmp_path / "pw")), 2, "needs --wallet-dir")
    one_line_error(run("api", *node, "--wallet-dir", str(tmp_path), "--wallet-passphrase-file", str(tmp_path / "pw")),
                   2, "passphrase file")
