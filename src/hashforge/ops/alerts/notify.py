"""Notification channels: webhooks (generic JSON, Discord, Slack, Telegram) and e-mail (SMTP).

A delivery is retried with exponential backoff; the outcome of each channel is recorded in the
alert's history by the engine. Nothing here raises past `Notifier.deliver`: a broken channel
never stops the evaluator or the API.
"""

from __future__ import annotations

import asyncio
import math
import re
import smtplib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .errors import AlertsError, DeliveryError, PermanentDeliveryError

CHANNEL_KINDS = ("webhook", "discord", "slack", "telegram", "email")
SECURITY = ("none", "starttls", "ssl")
TELEGRAM_API = "https://api.telegram.org"


@dataclass(frozen=True)
class Notification:
    alert_id: int
    rule_id: int
    kind: str
    subject: str
    level: str
    state: str  # firing, resolved, event, test
    message: str
    time: int

    @property
    def text(self) -> str:
        return f"[{self.level.upper()}] {self.state}: {self.message}"


def _url(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise AlertsError(f"{field}: a URL is required")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AlertsError(f"{field}: {mask_url(value)!r} is not an http(s) URL")
    return value.strip()


def mask_url(url: str) -> str:
    """Scheme and host only: webhook paths and bot URLs carry the secret token."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme or '?'}://{host}{port}/…"


def validate_channel(name: str, kind: str, config: dict[str, Any],
                     secrets: dict[str, Any]) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """Checks a channel; returns (name, kind, public config, secrets). AlertsError names the bad field."""
    name = name.strip()
    if not name or len(name) > 64 or any(ch.isspace() for ch in name):
        raise AlertsError(f"name: {name!r} must be 1 to 64 characters without spaces")
    if kind not in CHANNEL_KINDS:
        raise AlertsError(f"kind: unknown channel kind {kind!r}; known: {', '.join(CHANNEL_KINDS)}")
    if kind in ("webhook", "discord", "slack"):
        url = _url(secrets.get("url"), "url")
        return name, kind, {"url": mask_url(url)}, {"url": url}
    if kind == "telegram":
        if secrets.get("url") and not secrets.get("bot_token"):  # the bot URL: https://api.telegram.org/bot<token>
            parts = urlsplit(_url(secrets["url"], "url"))
            m = re.match(r"^/bot([^/]+)(?:/sendMessage)?/?$", parts.path)
            if m is None:
                raise AlertsError("url: a Telegram bot URL looks like https://api.telegram.org/bot<token>")
            secrets = {"bot_token": m.group(1)}
            config = {**config, "api_url": config.get("api_url") or f"{parts.scheme}://{parts.netloc}"}
        token = secrets.get("bot_token")
        if not isinstance(token, str) or not token.strip() or any(ch in token for ch in "/ ?#"):
            raise AlertsError("bot_token: the Telegram bot token is required (as BotFather gave it)")
        chat = config.get("chat_id")
        if chat is None or not str(chat).strip() or " " in str(chat).strip():
            raise AlertsError("chat_id: the Telegram chat id (a number or @channel) is required")
        api = _url(config.get("api_url") or TELEGRAM_API, "api_url").rstrip("/")
        return name, kind, {"chat_id": str(chat).strip(), "api_url": api}, {"bot_token": token.strip()}
    host = config.get("host")
    if not isinstance(host, str) or not host.strip() or " " in host.strip():
        raise AlertsError("smtp host: the SMTP server's host name is required")
    security = config.get("security") or "starttls"
    if security not in SECURITY:
        raise AlertsError(f"security: {security!r} is not one of {', '.join(SECURITY)}")
    port = config.get("port") or (465 if security == "ssl" else 587 if security == "starttls" else 25)
    if not isinstance(port, int) or not 0 < port < 65536:
        raise AlertsError(f"port: {port!r} is not a TCP port")
    sender = config.get("sender")
    to = config.get("to")
    if not isinstance(sender, str) or "@" not in sender:
        raise AlertsError("from: the sender address (name@host) is required")
    if not isinstance(to, list) or not to or not all(isinstance(t, str) and "@" in t and " " not in t for t in to):
        raise AlertsError("to: at least one recipient address (name@host) is required")
    username = config.get("username") or None
    password = secrets.get("password") or None
    if password is not None and username is None:
        raise AlertsError("username: a password was given without a user name")
    ca_file = config.get("ca_file") or None
    if ca_file is not None and (security == "none" or not Path(ca_file).is_file()):
        raise AlertsError(f"ca_file: {ca_file!r} is not a file (and needs --security starttls or ssl)")
    public = {"host": host.strip(), "port": port, "security": security, "username": username,
              "sender": sender, "to": list(to), "ca_file": ca_file, "password_set": password is not None}
    return name, kind, public, ({"password": password} if password else {})


def payload(kind: str, n: Notification, config: dict[str, Any]) -> dict[str, Any]:
    """The JSON body a webhook of `kind` expects."""
    if kind == "discord":
        return {"content": n.text[:2000], "username": "hashforge"}
    if kind == "slack":
        return {"text": n.text}
    if kind == "telegram":
        return {"chat_id": config["chat_id"], "text": n.text[:4096], "disable_web_page_preview": True}
    return {**asdict(n), "text": n.text, "source": "hashforge"}


def _send_mail(config: dict[str, Any], password: str | None, n: Notification, timeout: float) -> None:
    msg = EmailMessage()
    msg["From"] = config["sender"]
    msg["To"] = ", ".join(config["to"])
    msg["Subject"] = f"hashforge {n.level}: {n.kind} {n.state} ({n.subject})"
    msg.set_content(f"{n.text}\n\nrule #{n.rule_id}, alert #{n.alert_id}, subject {n.subject}, time {n.time}\n")
    security = config["security"]
    context = ssl.create_default_context(cafile=config.get("ca_file") or None)
    smtp: smtplib.SMTP
    if security == "ssl":
        smtp = smtplib.SMTP_SSL(config["host"], config["port"], timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(config["host"], config["port"], timeout=timeout)
    with smtp:
        if security == "starttls":
            smtp.starttls(context=context)
        if config.get("username"):
            smtp.login(config["username"], password or "")
        smtp.send_message(msg)


class Notifier:
    """Sends a notification to one channel, with `retries` tries and exponential backoff."""

    def __init__(self, retries: int = 3, backoff_s: float = 1.0, timeout_s: float = 10.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.retries = max(1, retries)
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.sleep = sleep
        self.transport = transport

    async def send_once(self, kind: str, config: dict[str, Any], secrets: dict[str, Any], n: Notification) -> None:
        if kind == "email":
            try:
                await asyncio.to_thread(_send_mail, config, secrets.get("password"), n, self.timeout_s)
            except (smtplib.SMTPAuthenticationError, smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as e:
                raise PermanentDeliveryError(f"SMTP {config['host']}:{config['port']}: "
                                             f"{' '.join(str(e).split())[:300]}") from None
            except (OSError, smtplib.SMTPException) as e:
                raise DeliveryError(f"SMTP {config['host']}:{config['port']}: {' '.join(str(e).split())[:300]}") from None
            return
        if kind == "telegram":
            url = f"{config['api_url']}/bot{secrets['bot_token']}/sendMessage"
        else:
            url = secrets["url"]
        where = mask_url(url)
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s, transport=self.transport) as http:
                r = await http.post(url, json=payload(kind, n, config))
        except httpx.HTTPError as e:
            raise DeliveryError(f"{where}: {type(e).__name__}: {' '.join(str(e).split())[:200]}") from None
        if 400 <= r.status_code < 500 and r.status_code not in (408, 429):
            raise PermanentDeliveryError(f"{where} answered HTTP {r.status_code}")
        if not 200 <= r.status_code < 300:
            raise DeliveryError(f"{where} answered HTTP {r.status_code}")

    async def send(self, kind: str, config: dict[str, Any], secrets: dict[str, Any], n: Notification) -> int:
        """Delivers with retries; returns the number of tries; DeliveryError after the last failure."""
        for attempt in range(self.retries):
            try:
                await self.send_once(kind, config, secrets, n)
                return attempt + 1
            except DeliveryError as e:
                if attempt + 1 == self.retries or isinstance(e, PermanentDeliveryError):
                    raise
                await self.sleep(self.backoff_s * math.pow(2, attempt))
            except Exception as e:  # a bug or odd config must not stop the evaluator
                raise DeliveryError(f"{type(e).__name__}: {e}") from None
        raise AssertionError("unreachable")
