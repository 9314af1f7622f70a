"""`hashforge alerts ...`: rules, channels, history, maintenance log and settings, on the same
`OPS_DIR/ops.sqlite` the API's evaluator reads (changes apply at its next poll)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from hashforge.cliutil import fail

from .errors import AlertsError, DeliveryError
from .rules import KINDS, LEVELS
from .store import AlertStore

alerts_app = typer.Typer(help="Monitoring rules, notification channels, alert history, maintenance log.",
                         no_args_is_help=True)
rules_app = typer.Typer(help="Alert rules: " + "; ".join(f"{k.name} ({k.unit or 'no threshold'})" for k in KINDS.values()),
                        no_args_is_help=True)
channels_app = typer.Typer(help="Where notifications go: webhook, discord, slack, telegram, email.", no_args_is_help=True)
maint_app = typer.Typer(help="Maintenance log per worker/device: notes and downtime windows.", no_args_is_help=True)
alerts_app.add_typer(rules_app, name="rules")
alerts_app.add_typer(channels_app, name="channels")
alerts_app.add_typer(maint_app, name="maintenance")

OpsDir = Annotated[Path | None, typer.Option("--ops-dir", help="Ops records directory (default ~/.hashforge/NETWORK/ops, else the one `hashforge up` keeps).")]
Network = Annotated[str, typer.Option("--network", "-n", help="Network (picks the default --ops-dir, as `hashforge api` does).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _store(ops_dir: Path | None, network: str) -> AlertStore:
    from hashforge.consensus.params import UnknownNetworkError, get_params
    from hashforge.ops import default_ops_dir

    if ops_dir is None:
        try:
            name = get_params(network).name
        except UnknownNetworkError as e:
            fail(str(e))
        ops_dir = default_ops_dir(name)
    if ops_dir.exists() and not ops_dir.is_dir():
        fail(f"--ops-dir {ops_dir} is not a directory")
    try:
        return AlertStore(ops_dir)
    except (OSError, Exception) as e:  # sqlite3.Error, permissions
        fail(f"cannot open the ops records in {ops_dir}: {e}")


def _out(data: Any, as_json: bool, lines: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        for line in lines:
            typer.echo(line)


def _ts(t: float | None) -> str:
    return "-" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


_REL = re.compile(r"^\+(\d+(?:\.\d+)?)([smhd])$")


def parse_time(text: str, now: float, field: str) -> float:
    """`now`, `+30m`/`+2h`/`+1d`, or ISO 8601 (UTC unless it says otherwise)."""
    text = text.strip()
    if text == "now":
        return now
    m = _REL.match(text)
    if m:
        return now + float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise AlertsError(f"{field}: {text!r} is not a time (now, +2h, or ISO 8601 like 2026-05-01T08:00)") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _run(fn: Any) -> Any:
    try:
        return fn()
    except AlertsError as e:
        fail(str(e))


# --- rules ---------------------------------------------------------------------------------------

@rules_app.command("add")
def rules_add(
    kind: Annotated[str, typer.Argument(help=", ".join(KINDS))],
    threshold: Annotated[float | None, typer.Option("--threshold", "-t", help="Minutes, percent or °C, by kind.")] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="One worker (ADDR.rig1 or rig1) or device (CPU0); default all.")] = None,
    level: Annotated[str | None, typer.Option("--level", help=", ".join(LEVELS) + " (default by kind).")] = None,
    quiet_minutes: Annotated[float | None, typer.Option("--quiet-minutes", help="Repeat notifications at most this often (default: the global setting).")] = None,
    ops_dir: OpsDir = None, network: Network = "devnet", as_json: Json = False,
) -> None:
    """Add a rule."""
    store = _store(ops_dir, network)
    quiet = None if quiet_minutes is None else quiet_minutes * 60
    rule = _run(lambda: store.add_rule(kind, threshold, subject, level, quiet, time.time()))
    _out(_rule_json(rule), as_json, [f"rule #{rule.id}: {rule.describe()} [{rule.level}]"])


def _rule_json(rule: Any) -> dict[str, Any]:
    return {**asdict(rule), "unit": rule.spec.unit, "description": rule.describe()}


@rules_app.command("list")
def rules_list(ops_dir: OpsDir = None, network: Network = "devnet", as_json: Json = False) -> None:
    """List the rules."""
    rules = _store(ops_dir, network).rules()
    _out([_rule_json(r) for r in rules], as_json,
         [f"#{r.id}  {r.describe()}  [{r.level}]{'' if r.enabled else '  (disabled)'}" for r in rules] or ["no rules"])


@rules_app.command("remove")
def rules_remove(rule_id: int, ops_dir: OpsDir = None, network: Network = "devnet", as_json: Json = False) -> None:
    """Remove a rule (its open alerts are resolved; history stays)."""
    store = _store(ops_dir, network)
    _run(lambda: store.remove_rule(rule_id, time.time()))
    _out({"removed": rule_id}, as_json, [f"removed rule #{rule_id}"])


def _set_enabled(rule_id: int, enabled: bool, ops_dir: Path | None, network: str, as_json: bool) -> None:
    store = _store(ops_dir, network)
    rule = _run(lambda: store.update_rule(rule_id, enabled=enabled))
    _out(_rule_json(rule), as_json, [f"rule #{rule.id} {'enabled' if enabled else 'disabled'}"])


@rules_app.command("enable")
def rules_enable(rule_id: int, ops_dir: OpsDir = None, network: Network = "devnet", as_json: Json = False) -> None:
    """Enable a rule."""
    _set_enabled(rule_id, True, ops_dir, network, as_json)


@rules_app.command("disable")
def rules_disable(rule_id: int, ops_dir: OpsDir = None, network: Network = "devnet", as_json: Json = False) -> None:
    """Disable a rule without removing it."""
    _set_enabled(rule_id, False, ops_dir, network, as_json)


# --- channels ------------------------------------------------------------------------------------

def _channel_json(ch: Any) -> dict[str, Any]:
    return {"id": ch.id, "name": ch.name, "kind": ch.kind, "config": ch.config, "enabled": ch.enabled}


@channels_app.command("add")
def channels_add(
    name: Annotated[str, typer.Argument(help="A short name for the channel.")],
    kind: Annotated[str, typer.Argument(help="webhook, discord, slack, telegram or email.")],
    url: Annotated[str | None, typer.Option("--url", help="Webhook URL (webhook, discord, slack) or Telegram bot URL; kept 0600, never shown.")] = None,
    bot_token: Annotated[str | None, typer.Option("--bot-token", envvar="HASHFORGE_TELEGRAM_TOKEN", help="Telegram bot token.")] = None,
    chat_id: Annotated[str | None, typer.Option("--chat-id", help="Telegram chat id.")] = None,
    api_url: Annotated[str | None, typer.Option("--api-url", help="Telegram Bot API base URL.")] = None,
    smtp_host: Annotated[str | None, typer.Option("--smtp-host")] = None,
    ca_file: Annotated[Path | None, typer.Option("--ca-file", help="CA certificate(s) to trust for the SMTP server's TLS (default: the system's).")] = None,
    smtp_port: Annotated[int | None, typer.Option("--smtp-port", help="Default 587 (starttls), 465 (ssl), 25 (none).")] = None,
    security: Annotated[str, typer.Option("--security", help="starttls, ssl or none.")] = "starttls",
    username: Annotated[str | None, typer.Option("--username", help="SMTP user (auth is optional).")] = None,
    password_file: Annotated[Path | None, typer.Option("--password-file", help="File holding the SMTP password.")] = None,
    sender: Annotated[str | None, typer.Option("--from", help="Sender address.")] = None,
    to: Annotated[list[str] | None, typer.Option("--to", help="Recipient (repeatable).")] = None,
    ops_dir: OpsDir = None, network: Network = "devnet", as_json: Json = False,
) -> None:
    """Add a notification channel."""
    secrets: dict[str, Any] = {}
    config: dict[str, Any] = {}
    if url is not None:
        secrets["url"] = url
    if bot_token is not None:
        secrets["bot_token"] = bot_token
    if kind == "telegram":
        config = {"chat_id": chat_id, "api_url": api_url}
    elif kind == "email":
        password = os.environ.get("HASHFORGE_SMTP_PASSWORD")
        if password_file is not None:
            try:
                password = password_file.read_text().strip()
            except OSError as e:
                fail(f"--password-file {password_file}: {e.strerror or e}")
        if password:
            secrets["password"] = password
        config = {"host": smtp_host, "port": smtp_port, "security": security, "username": username,
                  "sender": sender, "to": list(to or []), "ca_file": None if ca_file is None else str(ca_file.resolve())}
    store = _store(ops_dir, network)
    ch = _run(lambda: store.add_channel(name, kind, config, secrets, time.time()))
    _out(_channel_json(ch), as_json, [f"channel #{ch.id}: {ch.name} ({ch.kind})"])


@channels_app.command("list")
def channels_list(ops_dir: OpsDir = None, network: Network = "devnet", as_json: Json = False) -> None:
    """List channels (secrets masked)."""
    chans = _store(ops_dir, network).channels()
    _out([_channel_json(c) for c in chans], as_json,
         [f"#{c.id}  {c.name}  {c.kind}  {json.dumps(c.config)}" for c in chans] or ["no channels"])


@channels_app.command("test")
def channels_test(channel_id: int, ops_dir: OpsDir = None, network: Network = "devnet", as_json: Json = False) -> None:
    """Send a test message through a channel."""
    from .engine import AlertEngine

    engine = AlertEngine(_store(ops_dir, network))
    try:
        asyncio.run(engine.test_channel(channel_id))
    except (AlertsError, DeliveryError) as e:
        fail(f"test of channel #{channel_id} failed: {e}")
    _out({"channel": channel_id, "delivered": True}, as_json, [f"test message delivered to channel #{channel_id}"])


@channels_app.command("remove")
def channels_remove(channel_id: int, ops_dir: OpsDir = None, network: Network = "devnet", as_json: Json = False) -> None:
    """Remove a channel and its secrets."""
    store = _store(ops_dir, network)
    _run(lambda: store.remove_channel(channel_id))
    _out({"removed": channel_id}, as_json, [f"removed channel #{channel_id}"])


# --- history -------------------------------------------------------------------------------------

@alerts_app.command("history")
def history(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
    open_only: Annotated[bool, typer.Option("--open", help="Only alerts still open.")] = False,
    alert_id: Annotated[int | None, typer.Option("--alert", help="One alert's deliveries and state changes.")] = None,
    ops_dir: OpsDir = None, network: Network = "devnet", as_json: Json = False,
) -> None:
    """Alerts, newest first (or one alert's history)."""
    store = _store(ops_dir, network)
    if alert_id is not None:
        alert = _run(lambda: store.alert(alert_id))
        entries = store.history(alert_id)
        _out({"alert": asdict(alert), "history": [asdict(h) for h in entries]}, as_json,
             [f"#{alert.id} {alert.state} {alert.kind} {alert.subject}: {alert.message}"]
             + [f"  {_ts(h.ts)}  {h.action}  {h.detail}" for h in entries])
        return
    alerts = store.alerts(limit, state="open" if open_only else None)
    _out([asdict(a) for a in alerts], as_json,
         [f"#{a.id}  {_ts(a.fired_at)}  {a.state:8}  {a.level:8}  {a.subject}: {a.message}" for a in alerts]
         or ["no alerts"])


@alerts_app.command("config")
def config(
    poll_seconds: Annotated[float | None, typer.Option("--poll-seconds", help="How often the API evaluates the rules (default 30).")] = None,
    quiet_minutes: Annotated[float | None, typer.Option("--quiet-minutes", help="Default quiet period between repeat notifications (default 60).")] = None,
    ops_dir: OpsDir = None, network: Network = "devnet", as_json: Json = False,
) -> None:
    """Show or change the evaluator's settings."""
    store = _store(ops_dir, network)
    if poll_seconds is not None:
        if not 0.2 <= poll_seconds <= 3600:
            fail(f"--poll-seconds must be 0.2 to 3600, not {poll_seconds:g}")
        store.set_setting("poll_s", poll_seconds)
    if quiet_minutes is not None:
        if not 0 <= quiet_minutes <= 43200:
            fail(f"--quiet-minutes must be 0 to 43200, not {quiet_minutes:g}")
        store.set_setting("quiet_s", quiet_minutes * 60)
    s = store.settings()
    _out(s, as_json, [f"poll every {s['poll_s']:g} s; quiet period {s['quiet_s'] / 60:g} min"])


# --- maintenance ---------------------------------------------------------------------------------

@maint_app.command("note")
def maint_note(subject: str, text: str, ops_dir: OpsDir = None, network: Network = "devnet", as_json: Json = False) -> None:
    """Add a note to a worker's or device's log."""
    store = _store(ops_dir, network)
    note = _run(lambda: store.add_note(subject, text, time.time()))
    _out(asdict(note), as_json, [f"note #{note.id} for {note.subject}"])


@maint_app.command("window")
def maint_window(
    subject: Annotated[str, typer.Argument(help="Worker (ADDR.rig1 or rig1), device (CPU0), or * for all.")],
    start: Annotated[str, typer.Option("--start", help="now, +30m, or ISO 8601 (UTC).")] = "now",
    end: Annotated[str, typer.Option("--end", help="+2h, or ISO 8601 (UTC).")] = "+1h",
    reason: Annotated[str, typer.Option("--reason")] = "",
    ops_dir: OpsDir = None, network: Network = "devnet", as_json: Json = False,
) -> None:
    """Schedule downtime: alerts for the subject are silenced during the window."""
    store = _store(ops_dir, network)
    now = time.time()

    def add() -> Any:
        return store.add_window(subject, parse_time(start, now, "start"), parse_time(end, now, "end"), reason, now)

    w = _run(add)
    _out(asdict(w), as_json, [f"window #{w.id} for {w.subject}: {_ts(w.start)} to {_ts(w.end)} UTC"])


@maint_app.command("remove-window")
def maint_remove_window(window_id: int, ops_dir: OpsDir = None, network: Network = "devnet", as_json: Json = False) -> None:
    """Cancel a downtime window."""
    store = _store(ops_dir, network)
    _run(lambda: store.remove_window(window_id))
    _out({"removed": window_id}, as_json, [f"removed window #{window_id}"])


@maint_app.command("list")
def maint_list(
    subject: Annotated[str | None, typer.Option("--subject", help="Only this worker/device.")] = None,
    ops_dir: OpsDir = None, network: Network = "devnet", as_json: Json = False,
) -> None:
    """The maintenance log: notes and downtime windows."""
    store = _store(ops_dir, network)
    notes, windows = store.notes(subject), store.windows(subject)
    _out({"notes": [asdict(n) for n in notes], "windows": [asdict(w) for w in windows]}, as_json,
         [f"note #{n.id}  {_ts(n.ts)}  {n.subject}: {n.text}" for n in notes]
         + [f"window #{w.id}  {w.subject}: {_ts(w.start)} to {_ts(w.end)}  {w.reason}" for w in windows]
         or ["the maintenance log is empty"])
