"""Notifications for real: a local HTTP webhook receiver (http.server in a thread) checks each
payload format, a local SMTP server (aiosmtpd) receives the e-mail, failures are retried and
recorded, and secrets stay in a 0600 file."""

from __future__ import annotations

import asyncio
import json
import socket
import stat
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from hashforge.ops.alerts import (
    AlertEngine,
    AlertsError,
    AlertStore,
    Notifier,
    Snapshot,
    WorkerState,
)
from hashforge.ops.alerts.store import SECRETS_FILE
from hashforge.services.events import EventBus

W = "bcrt1qexampleaddress0000.rig1"
T0 = 1_800_000_000.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """Records every POST (path, JSON body); answers `status` (a list of statuses is used in turn)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, Any]] = []
        self.statuses: list[int] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.posts.append((self.path, json.loads(body)))
                code = owner.statuses.pop(0) if owner.statuses else 200
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"ops" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535 itself


@pytest.fixture()
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    yield inbox, port
    controller.stop()


class Clock:
    now = T0

    def __call__(self) -> float:
        return self.now


async def _nosleep(_: float) -> None:
    return None


def fire(store: AlertStore, sleeps: list[float] | None = None) -> int:
    """Fires one offline alert through every channel; returns its id."""
    async def record(s: float) -> None:
        if sleeps is not None:
            sleeps.append(s)

    engine = AlertEngine(store, EventBus(), Notifier(retries=3, backoff_s=0.5, timeout_s=5, sleep=record), clock=Clock())
    store.add_rule("offline", 1, None, None, None, T0)
    asyncio.run(engine.evaluate(Snapshot(True, (WorkerState(W, 0.0, T0 - 600),))))
    [alert] = store.open_alerts()
    return alert.id


def test_webhook_payload_formats(tmp_path: Path, receiver: Receiver) -> None:
    store = AlertStore(tmp_path)
    store.add_channel("generic", "webhook", {}, {"url": receiver.url + "/hook/SECRET1"}, T0)
    store.add_channel("discord", "discord", {}, {"url": receiver.url + "/api/webhooks/1/SECRET2"}, T0)
    store.add_channel("slack", "slack", {}, {"url": receiver.url + "/services/T/B/SECRET3"}, T0)
    store.add_channel("tg", "telegram", {"chat_id": "-100123", "api_url": receiver.url}, {"bot_token": "123:SECRET4"}, T0)
    alert_id = fire(store)
    posts = dict(receiver.posts)
    assert len(receiver.posts) == 4
    generic = posts["/hook/SECRET1"]
    assert generic["alert_id"] == alert_id and generic["kind"] == "offline" and generic["state"] == "firing"
    assert generic["subject"] == W and generic["level"] == "critical" and generic["time"] == int(T0)
    assert generic["text"].startswith("[CRITICAL] firing: Worker " + W)
    assert set(posts["/api/webhooks/1/SECRET2"]) == {"content", "username"}
    assert posts["/api/webhooks/1/SECRET2"]["content"] == generic["text"]
    assert posts["/services/T/B/SECRET3"] == {"text": generic["text"]}
    tg = posts["/bot123:SECRET4/sendMessage"]
    assert tg["chat_id"] == "-100123" and tg["text"] == generic["text"]
    notified = [h for h in store.history(alert_id) if h.action == "notified"]
    assert len(notified) == 4 and {h.channel_id for h in notified} == {c.id for c in store.channels()}


def test_email_via_local_smtp_with_auth(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    store = AlertStore(tmp_path)
    store.add_channel("mail", "email", {"host": "127.0.0.1", "port": port, "security": "none", "username": "ops",
                                        "sender": "rig@example.org", "to": ["me@example.org", "you@example.org"]},
                      {"password": "s3cret"}, T0)
    alert_id = fire(store)
    [(rcpt, msg)] = inbox.messages
    assert rcpt == ["me@example.org", "you@example.org"]
    assert msg["From"] == "rig@example.org" and msg["Subject"] == f"hashforge critical: offline firing ({W})"
    assert f"alert #{alert_id}" in msg.get_payload()
    assert [h.action for h in store.history(alert_id)] == ["fired", "notified"]


def test_email_bad_password_is_recorded_as_failed(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    store = AlertStore(tmp_path)
    store.add_channel("mail", "email", {"host": "127.0.0.1", "port": port, "security": "none", "username": "ops",
                                        "sender": "rig@example.org", "to": ["me@example.org"]}, {"password": "wrong"}, T0)
    sleeps: list[float] = []
    alert_id = fire(store, sleeps)
    assert inbox.messages == [] and sleeps == []  # bad credentials are not retried
    [failed] = [h for h in store.history(alert_id) if h.action == "failed"]
    assert failed.detail.startswith("mail: SMTP 127.0.0.1:") and "wrong" not in failed.detail


def test_retry_with_backoff_then_success(tmp_path: Path, receiver: Receiver) -> None:
    store = AlertStore(tmp_path)
    store.add_channel("hook", "webhook", {}, {"url": receiver.url + "/x"}, T0)
    receiver.statuses = [500, 502]
    sleeps: list[float] = []
    alert_id = fire(store, sleeps)
    assert len(receiver.posts) == 3 and sleeps == [0.5, 1.0]
    [ok] = [h for h in store.history(alert_id) if h.action == "notified"]
    assert "(3 tries)" in ok.detail


def test_http_4xx_is_not_retried(tmp_path: Path, receiver: Receiver) -> None:
    store = AlertStore(tmp_path)
    store.add_channel("hook", "discord", {}, {"url": receiver.url + "/gone"}, T0)
    receiver.statuses = [404, 200]
    alert_id = fire(store)
    assert len(receiver.posts) == 1
    [failed] = [h for h in store.history(alert_id) if h.action == "failed"]
    assert "answered HTTP 404" in failed.detail


def test_delivery_failure_recorded_never_raised(tmp_path: Path, receiver: Receiver) -> None:
    store = AlertStore(tmp_path)
    dead = f"http://127.0.0.1:{free_port()}/hook/TOKEN"  # nothing listens there
    store.add_channel("dead", "slack", {}, {"url": dead}, T0)
    store.add_channel("live", "webhook", {}, {"url": receiver.url + "/ok"}, T0)
    receiver.statuses = []
    alert_id = fire(store)
    by = {h.channel_id: h for h in store.history(alert_id) if h.channel_id is not None}
    dead_id, live_id = (c.id for c in store.channels())
    assert by[dead_id].action == "failed" and "ConnectError" in by[dead_id].detail
    assert "TOKEN" not in by[dead_id].detail
    assert by[live_id].action == "notified"
    assert store.alert(alert_id).notify_count == 1


def test_secrets_kept_0600_and_masked(tmp_path: Path) -> None:
    store = AlertStore(tmp_path)
    ch = store.add_channel("d", "discord", {}, {"url": "https://discord.com/api/webhooks/99/TOPSECRET"}, T0)
    assert ch.config == {"url": "https://discord.com/…"}
    secrets = tmp_path / SECRETS_FILE
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert "TOPSECRET" in secrets.read_text()
    assert b"TOPSECRET" not in (tmp_path / "ops.sqlite").read_bytes()
    store.remove_channel(ch.id)
    assert "TOPSECRET" not in secrets.read_text() and store.channels() == []


@pytest.mark.parametrize(("kind", "config", "secrets", "field"), [
    ("pager", {}, {}, "kind"),
    ("webhook", {}, {"url": "ftp://x/y"}, "url"),
    ("slack", {}, {}, "url"),
    ("telegram", {}, {"bot_token": "1:a"}, "chat_id"),
    ("telegram", {"chat_id": "5"}, {}, "bot_token"),
    ("email", {"sender": "a@b", "to": ["c@d"]}, {}, "smtp host"),
    ("email", {"host": "h", "sender": "a@b", "to": ["c@d"], "security": "tls"}, {}, "security"),
    ("email", {"host": "h", "sender": "a@b", "to": []}, {}, "to"),
    ("email", {"host": "h", "sender": "a@b", "to": ["c@d"]}, {"password": "p"}, "username"),
])
def test_bad_channels_refused(tmp_path: Path, kind: str, config: dict[str, Any], secrets: dict[str, Any],
                              field: str) -> None:
    store = AlertStore(tmp_path)
    with pytest.raises(AlertsError, match=f"^{field}: "):
        store.add_channel("c", kind, config, secrets, T0)
    assert store.channels() == [] and not (tmp_path / SECRETS_FILE).exists()


def test_duplicate_channel_name_refused(tmp_path: Path) -> None:
    store = AlertStore(tmp_path)
    store.add_channel("c", "slack", {}, {"url": "https://hooks.slack.com/services/A"}, T0)
    with pytest.raises(AlertsError, match="exists already"):
        store.add_channel("c", "slack", {}, {"url": "https://hooks.slack.com/services/B"}, T0)
    assert len(store.channels()) == 1


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), made here: the test's own CA."""
    crypto = pytest.importorskip("cryptography")
    del crypto
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hashforge test smtp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_over_tls(tmp_path: Path, security: str) -> None:
    import ssl

    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    inbox = Inbox()
    port = free_port()
    tls: dict[str, Any] = ({"tls_context": server_ctx, "require_starttls": True} if security == "starttls"
                           else {"ssl_context": server_ctx, "auth_require_tls": False})  # aiosmtpd: implicit TLS is not "TLS" to it
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator, **tls)
    controller.start()
    try:
        store = AlertStore(tmp_path / "ops")
        store.add_channel("tls", "email", {"host": "127.0.0.1", "port": port, "security": security, "username": "ops",
                                           "sender": "rig@example.org", "to": ["me@example.org"], "ca_file": str(cert)},
                          {"password": "s3cret"}, T0)
        alert_id = fire(store)
        assert [h.action for h in store.history(alert_id)] == ["fired", "notified"]
        [(_, msg)] = inbox.messages
        assert msg["Subject"].startswith("hashforge critical: offline firing")
        # without our CA the server's certificate is refused, and that is recorded
        store2 = AlertStore(tmp_path / "ops2")
        store2.add_channel("tls", "email", {"host": "127.0.0.1", "port": port, "security": security,
                                            "sender": "rig@example.org", "to": ["me@example.org"]}, {}, T0)
        alert2 = fire(store2)
        [failed] = [h for h in store2.history(alert2) if h.action == "failed"]
        assert "CERTIFICATE_VERIFY_FAILED" in failed.detail
        assert len(inbox.messages) == 1
    finally:
        controller.stop()


def test_telegram_bot_url(tmp_path: Path, receiver: Receiver) -> None:
    store = AlertStore(tmp_path)
    ch = store.add_channel("tg", "telegram", {"chat_id": "@miners"}, {"url": receiver.url + "/bot42:ABC/sendMessage"}, T0)
    assert ch.config == {"chat_id": "@miners", "api_url": receiver.url}
    assert store.channel_secrets(ch.id) == {"bot_token": "42:ABC"}
    fire(store)
    [(path, body)] = receiver.posts
    assert path == "/bot42:ABC/sendMessage" and body["chat_id"] == "@miners"
    with pytest.raises(AlertsError, match=r"^url: a Telegram bot URL"):
        store.add_channel("tg2", "telegram", {"chat_id": "1"}, {"url": "https://api.telegram.org/notabot"}, T0)


def test_damaged_secrets_file_is_a_recorded_failure(tmp_path: Path, receiver: Receiver) -> None:
    store = AlertStore(tmp_path)
    store.add_channel("hook", "webhook", {}, {"url": receiver.url + "/x"}, T0)
    (tmp_path / SECRETS_FILE).write_text("{not json")
    alert_id = fire(store)
    [failed] = [h for h in store.history(alert_id) if h.action == "failed"]
    assert "cannot read" in failed.detail and SECRETS_FILE in failed.detail
    assert receiver.posts == []
