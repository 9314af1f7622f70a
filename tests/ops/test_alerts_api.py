"""/v1/ops/alerts and /v1/ops/maintenance over real HTTP against a real node: rules CRUD with the
control scope, channels with masked secrets, paginated history, maintenance, problem+json on
bad input; and the CLI (`hashforge alerts ...`) on the same records."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hashforge.api import ComponentAPI, EventBus
from hashforge.ops.alerts import AlertStore
from hashforge.services.keys import Scope
from tests.api.served import ServedApi, serve
from tests.helpers.nodeproc import NodeProcess

W = "bcrt1qexampleaddress0000.rig1"


def serve_with_ops(node: NodeProcess, datadir: Path, ops_dir: Path,
                   *extras: Callable[[EventBus], ComponentAPI]) -> ServedApi:
    """As tests.api.served.serve, plus the ops component over `ops_dir`."""
    return serve(node, datadir, *extras, ops_dir=ops_dir, tip_poll_s=0.2)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    n = NodeProcess(tmp_path_factory.mktemp("alertnode") / "regtest").start()
    yield n
    n.stop()


@pytest.fixture(scope="module")
def served(node: NodeProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedApi, Path]]:
    root = tmp_path_factory.mktemp("alertapi")
    api = serve_with_ops(node, root / "data", root / "ops")
    yield api, root / "ops"
    api.stop()


@pytest.fixture(scope="module")
def control(served: tuple[ServedApi, Path]) -> dict[str, str]:
    _, token = served[0].keys.create("alerts-control", frozenset({Scope.READ, Scope.CONTROL}))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def client(served: tuple[ServedApi, Path]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[0].url + "/v1/ops", timeout=30) as c:
        yield c


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


def test_rules_crud_needs_control(client: httpx.Client, control: dict[str, str]) -> None:
    body = {"kind": "temperature", "threshold": 85, "subject": "GPU0"}
    problem(client.post("/alerts/rules", json=body), 401)
    r = client.post("/alerts/rules", json=body, headers=control)
    assert r.status_code == 201, r.text
    rule = r.json()
    assert rule["kind"] == "temperature" and rule["unit"] == "celsius" and rule["level"] == "critical"
    assert rule["description"] == "temperature > 85 celsius (GPU0)"
    assert rule["id"] in [x["id"] for x in client.get("/alerts/rules").json()]
    r = client.patch(f"/alerts/rules/{rule['id']}", json={"threshold": 90, "enabled": False}, headers=control)
    assert r.status_code == 200 and r.json()["threshold"] == 90 and r.json()["enabled"] is False
    assert r.json()["subject"] == "GPU0"  # untouched fields stay
    assert client.delete(f"/alerts/rules/{rule['id']}", headers=control).status_code == 204
    problem(client.delete(f"/alerts/rules/{rule['id']}", headers=control), 404)


@pytest.mark.parametrize(("body", "needle"), [
    ({"kind": "offline"}, "threshold: a offline rule needs"),
    ({"kind": "offline", "threshold": -1}, "threshold: -1 is out of range"),
    ({"kind": "loud"}, "kind: unknown rule kind 'loud'"),
    ({"kind": "offline", "threshold": 5, "level": "panic"}, "level: 'panic'"),
])
def test_bad_rules_are_problems(client: httpx.Client, control: dict[str, str], body: dict[str, Any],
                                needle: str) -> None:
    before = client.get("/alerts/rules").json()
    p = problem(client.post("/alerts/rules", json=body, headers=control), 422)
    assert needle in p["detail"] and p["type"].endswith("bad-input")
    assert client.get("/alerts/rules").json() == before


def test_validation_errors_are_problems(client: httpx.Client, control: dict[str, str]) -> None:
    p = problem(client.post("/alerts/rules", json={"kind": "offline", "threshold": "soon"}, headers=control), 422)
    assert p["errors"][0]["loc"][-1] == "threshold"
    problem(client.get("/alerts", params={"cursor": "bm90LW91cnM"}), 400)
    problem(client.get("/alerts/999999"), 404)


def test_channels_secrets_masked(client: httpx.Client, control: dict[str, str]) -> None:
    r = client.post("/alerts/channels", headers=control, json={
        "name": "ops-discord", "kind": "discord", "url": "https://discord.com/api/webhooks/1/VERYSECRET"})
    assert r.status_code == 201, r.text
    assert "VERYSECRET" not in r.text and r.json()["config"]["url"] == "https://discord.com/…"
    r = client.post("/alerts/channels", headers=control, json={
        "name": "mail", "kind": "email", "host": "smtp.example.org", "username": "u", "password": "PW123",
        "sender": "a@example.org", "to": ["b@example.org"]})
    assert r.status_code == 201 and "PW123" not in r.text and r.json()["config"]["password_set"] is True
    listed = client.get("/alerts/channels")
    assert "VERYSECRET" not in listed.text and "PW123" not in listed.text
    p = problem(client.post("/alerts/channels", headers=control, json={"name": "x", "kind": "slack", "url": "nope"}), 422)
    assert p["detail"].startswith("url: ")
    for ch in listed.json():
        assert client.delete(f"/alerts/channels/{ch['id']}", headers=control).status_code == 204


def test_channel_test_failure_is_502(client: httpx.Client, control: dict[str, str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ch = client.post("/alerts/channels", headers=control, json={
        "name": "deadhook", "kind": "webhook", "url": f"http://127.0.0.1:{port}/x"}).json()
    try:
        p = problem(client.post(f"/alerts/channels/{ch['id']}/test", headers=control), 502)
        assert "not delivered" in p["detail"]
    finally:
        client.delete(f"/alerts/channels/{ch['id']}", headers=control)


def test_history_paginates(client: httpx.Client, served: tuple[ServedApi, Path]) -> None:
    store = AlertStore(served[1])
    rule = store.add_rule("offline", 1, "pagetest", None, None, time.time())
    ids = []
    for i in range(5):
        a = store.create_alert(rule, f"pagetest{i}", f"message {i}", time.time())
        store.resolve_alert(a.id, time.time(), "ok")
        ids.append(a.id)
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 2, "state": "resolved"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/alerts", params=params).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [i for i in seen if i in ids] == sorted(ids, reverse=True)
    detail = client.get(f"/alerts/{ids[0]}").json()
    assert [h["action"] for h in detail["history"]] == ["fired", "resolved"]
    store.remove_rule(rule.id, time.time())


def test_maintenance_log(client: httpx.Client, control: dict[str, str]) -> None:
    now = int(time.time())
    r = client.post("/maintenance/notes", headers=control, json={"subject": "CPU0", "text": "re-pasted the cooler"})
    assert r.status_code == 201
    w = client.post("/maintenance/windows", headers=control,
                    json={"subject": "CPU0", "start": now - 60, "end": now + 3600, "reason": "fan swap"}).json()
    assert w["active"] is True
    log = client.get("/maintenance", params={"subject": "CPU0"}).json()
    assert log["notes"][0]["text"] == "re-pasted the cooler" and log["windows"][0]["id"] == w["id"]
    p = problem(client.post("/maintenance/windows", headers=control,
                            json={"subject": "CPU0", "start": now, "end": now - 1}), 422)
    assert "end after it starts" in p["detail"]
    assert client.delete(f"/maintenance/windows/{w['id']}", headers=control).status_code == 204
    problem(client.delete(f"/maintenance/windows/{w['id']}", headers=control), 404)


def test_settings(client: httpx.Client, control: dict[str, str]) -> None:
    assert client.get("/alerts/settings").json() == {"poll_s": 30.0, "quiet_minutes": 60.0}
    problem(client.put("/alerts/settings", json={"poll_s": 0.01, "quiet_minutes": 5}, headers=control), 422)
    r = client.put("/alerts/settings", json={"poll_s": 15, "quiet_minutes": 5}, headers=control)
    assert r.json() == {"poll_s": 15, "quiet_minutes": 5}
    client.put("/alerts/settings", json={"poll_s": 30, "quiet_minutes": 60}, headers=control)


# --- CLI -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def cli(ops_dir: Path, *args: str) -> Ran:
    """`hashforge alerts ARGS --ops-dir D` in-process (the console entry point is run once, below)."""
    from typer.testing import CliRunner

    from hashforge.cli import app

    r = CliRunner().invoke(app, ["alerts", *args, "--ops-dir", str(ops_dir)])
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return Ran(r.exit_code, r.stdout, r.stderr)


def test_cli_rules_channels_history_maintenance(tmp_path: Path) -> None:
    r = cli(tmp_path, "rules", "add", "offline", "--threshold", "10", "--subject", "rig1", "--json")
    assert r.returncode == 0, r.stderr
    rule = json.loads(r.stdout)
    assert rule["kind"] == "offline" and rule["threshold"] == 10 and rule["subject"] == "rig1"
    listed = json.loads(cli(tmp_path, "rules", "list", "--json").stdout)
    assert [x["id"] for x in listed] == [rule["id"]]
    r = cli(tmp_path, "channels", "add", "team", "slack", "--url", "https://hooks.slack.com/services/T/B/SEKRIT", "--json")
    assert r.returncode == 0 and "SEKRIT" not in r.stdout
    assert "SEKRIT" not in cli(tmp_path, "channels", "list").stdout
    r = cli(tmp_path, "maintenance", "window", "rig1", "--start", "2026-01-01T00:00", "--end", "+1h", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["start"] == 1767225600.0
    assert cli(tmp_path, "maintenance", "note", "rig1", "new PSU").returncode == 0
    log = json.loads(cli(tmp_path, "maintenance", "list", "--json").stdout)
    assert log["notes"][0]["text"] == "new PSU" and len(log["windows"]) == 1
    assert json.loads(cli(tmp_path, "history", "--json").stdout) == []
    r = cli(tmp_path, "config", "--poll-seconds", "5", "--json")
    assert json.loads(r.stdout)["poll_s"] == 5
    assert cli(tmp_path, "rules", "remove", str(rule["id"])).returncode == 0
    assert AlertStore(tmp_path).rules() == []


@pytest.mark.parametrize(("args", "needle"), [
    (("rules", "add", "offline"), "error: threshold: a offline rule needs a threshold in minutes"),
    (("rules", "add", "temperature", "-t", "500"), "error: threshold: 500 is out of range"),
    (("rules", "remove", "42"), "error: no alert rule #42"),
    (("channels", "add", "x", "webhook", "--url", "not-a-url"), "error: url: "),
    (("channels", "add", "m", "email", "--smtp-host", "h", "--from", "a@b"), "error: to: "),
    (("maintenance", "window", "rig1", "--start", "tomorrow"), "error: start: 'tomorrow' is not a time"),
    (("config", "--poll-seconds", "0"), "error: --poll-seconds must be"),
    (("channels", "test", "7"), "error: test of channel #7 failed: no alert channel #7"),
])
def test_cli_bad_input(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    r = cli(tmp_path, *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith(needle) and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    store = AlertStore(tmp_path)
    assert store.rules() == [] and store.channels() == [] and store.windows() == []


def test_cli_channel_test_history_and_default_dir(tmp_path: Path) -> None:
    from tests.ops.test_alerts_notify import Receiver

    receiver = Receiver()
    try:
        r = cli(tmp_path, "channels", "add", "hook", "webhook", "--url", receiver.url + "/h/TOKEN", "--json")
        ch = json.loads(r.stdout)
        r = cli(tmp_path, "channels", "test", str(ch["id"]))
        assert r.returncode == 0, r.stderr
        [(path, body)] = receiver.posts
        assert path == "/h/TOKEN" and body["state"] == "test" and body["subject"] == "hook"
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    store = AlertStore(tmp_path)
    rule = store.add_rule("offline", 1, None, None, None, time.time())
    alert = store.create_alert(rule, W, "gone quiet", time.time())
    store.record(alert.id, "failed", time.time(), "hook: refused", ch["id"])
    out = json.loads(cli(tmp_path, "history", "--open", "--json").stdout)
    assert [a["id"] for a in out] == [alert.id]
    detail = json.loads(cli(tmp_path, "history", "--alert", str(alert.id), "--json").stdout)
    assert [h["action"] for h in detail["history"]] == ["fired", "failed"]
    assert json.loads(cli(tmp_path, "rules", "disable", str(rule.id), "--json").stdout)["enabled"] is False
    text = cli(tmp_path, "rules", "list").stdout
    assert f"#{rule.id}  offline for 1 minutes (all)  [critical]  (disabled)" in text
    # without --ops-dir: ~/.hashforge/NETWORK/ops, devnet by default as for `hashforge api`
    home = tmp_path / "home"
    r = subprocess.run([sys.executable, "-m", "hashforge", "alerts", "rules", "add", "pool_down", "--json"],
                       capture_output=True, text=True, timeout=60, env={**__import__("os").environ, "HOME": str(home)})
    assert r.returncode == 0, r.stderr
    assert [x.kind for x in AlertStore(home / ".hashforge" / "devnet" / "ops").rules()] == ["pool_down"]


def test_routes_in_the_schema(served: tuple[ServedApi, Path]) -> None:
    schema = httpx.get(served[0].url + "/v1/openapi.json", timeout=30).json()
    paths = schema["paths"]
    for path in ("/v1/ops/alerts", "/v1/ops/alerts/rules", "/v1/ops/alerts/rules/{rule_id}", "/v1/ops/alerts/channels",
                 "/v1/ops/alerts/channels/{channel_id}/test", "/v1/ops/alerts/{alert_id}", "/v1/ops/maintenance",
                 "/v1/ops/maintenance/windows"):
        assert path in paths, path
    assert "delete" in paths["/v1/ops/alerts/rules/{rule_id}"] and "patch" in paths["/v1/ops/alerts/rules/{rule_id}"]
