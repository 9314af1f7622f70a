"""`AlertStore`: rules, channels, alerts, their history and the maintenance log in `ops.sqlite`.

Tables are prefixed `alert_` / `maint_` (the file is shared with the profit and tax parts). Each
call opens its own short connection (WAL, busy timeout), so the CLI, the API's routes (thread pool)
and the evaluator can use the file at once. Channel secrets (webhook URLs, bot tokens, SMTP
passwords) live apart in `alerts-secrets.json`, mode 0600, never in the database.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..schema import migrate_ops
from .errors import AlertsError, UnknownItem
from .rules import Rule, validate_rule

SECRETS_FILE = "alerts-secrets.json"
DEFAULT_POLL_S = 30.0
DEFAULT_QUIET_S = 3600.0
SAMPLE_KEEP_S = 86400.0



@dataclass(frozen=True)
class Channel:
    id: int
    name: str
    kind: str
    config: dict[str, Any]  # non-secret settings
    enabled: bool


@dataclass(frozen=True)
class Alert:
    id: int
    rule_id: int
    kind: str
    subject: str
    level: str
    message: str
    state: str  # open, resolved, event
    fired_at: float
    resolved_at: float | None
    last_notified_at: float | None
    notify_count: int


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    alert_id: int
    ts: float
    action: str  # fired, resolved, event, notified, failed, suppressed
    channel_id: int | None
    detail: str


@dataclass(frozen=True)
class Note:
    id: int
    subject: str
    ts: float
    text: str


@dataclass(frozen=True)
class Window:
    id: int
    subject: str
    start: float
    end: float
    reason: str

    def covers(self, subject: str, now: float) -> bool:
        return subject_matches(self.subject, subject) and self.start <= now < self.end


def subject_matches(scope: str | None, subject: str) -> bool:
    """A rule or window scope names one worker (`ADDR.rig1` or just `rig1`), one device (`CPU0`), or all (None/'*')."""
    if scope is None or scope == "*":
        return True
    return scope == subject or subject.rpartition(".")[2] == scope


def _rule(r: sqlite3.Row) -> Rule:
    return Rule(id=r["id"], kind=r["kind"], threshold=r["threshold"], subject=r["subject"], level=r["level"],
                quiet_s=r["quiet_s"], enabled=bool(r["enabled"]), created_at=r["created_at"])


def _alert(r: sqlite3.Row) -> Alert:
    return Alert(**{k: r[k] for k in r.keys()})  # noqa: SIM118 (sqlite3.Row is not a mapping)


class AlertStore:
    def __init__(self, ops_dir: Path) -> None:
        self.dir = ops_dir
        from hashforge.ops import DB_FILE

        self.path = ops_dir / DB_FILE
        self.secrets_path = ops_dir / SECRETS_FILE
        ops_dir.mkdir(parents=True, exist_ok=True)
        with self._db() as c:
            migrate_ops(c, self.path)  # the tables live in ops/schema.py

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            with conn:  # one transaction: committed on success, rolled back on error
                yield conn
        finally:
            conn.close()

    # --- settings ------------------------------------------------------------------------------
    def setting(self, key: str, default: float) -> float:
        with self._db() as c:
            row = c.execute("SELECT value FROM alert_settings WHERE key = ?", (key,)).fetchone()
        return float(row["value"]) if row else default

    def set_setting(self, key: str, value: float) -> None:
        with self._db() as c:
            c.execute("INSERT INTO alert_settings(key, value) VALUES (?, ?) "
                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def settings(self) -> dict[str, float]:
        return {"poll_s": self.setting("poll_s", DEFAULT_POLL_S), "quiet_s": self.setting("quiet_s", DEFAULT_QUIET_S)}

    # --- events from other processes (e.g. `hashforge up`'s supervisor) ------------------------
    def post_event(self, kind: str, subject: str, message: str, now: float) -> None:
        """Queues an event for the evaluator (it fires the matching event rules at its next poll)."""
        with self._db() as c:
            c.execute("INSERT INTO alert_inbox(ts, kind, subject, message) VALUES (?, ?, ?, ?)",
                      (now, kind, subject, message[:1000]))

    def take_events(self) -> list[tuple[str, str, str]]:
        """The queued events, oldest first, removed from the queue in the same transaction."""
        with self._db() as c:
            rows = c.execute("SELECT id, kind, subject, message FROM alert_inbox ORDER BY id").fetchall()
            if rows:
                c.execute("DELETE FROM alert_inbox WHERE id <= ?", (rows[-1]["id"],))
        return [(r["kind"], r["subject"], r["message"]) for r in rows]

    # --- rules ---------------------------------------------------------------------------------
    def add_rule(self, kind: str, threshold: float | None, subject: str | None, level: str | None,
                 quiet_s: float | None, now: float) -> Rule:
        kind, threshold, subject, level = validate_rule(kind, threshold, subject, level, quiet_s)
        with self._db() as c:
            cur = c.execute("INSERT INTO alert_rules(kind, threshold, subject, level, quiet_s, enabled, created_at) "
                            "VALUES (?, ?, ?, ?, ?, 1, ?)", (kind, threshold, subject, level, quiet_s, now))
            rule_id = cur.lastrowid
        assert rule_id is not None
        return self.rule(rule_id)

    def rules(self) -> list[Rule]:
        with self._db() as c:
            return [_rule(r) for r in c.execute("SELECT * FROM alert_rules ORDER BY id")]

    def rule(self, rule_id: int) -> Rule:
        with self._db() as c:
            row = c.execute("SELECT * FROM alert_rules WHERE id = ?", (rule_id,)).fetchone()
        if row is None:
            raise UnknownItem(f"no alert rule #{rule_id}")
        return _rule(row)

    def update_rule(self, rule_id: int, **changes: Any) -> Rule:
        """Changes threshold, subject, level, quiet_s or enabled; validated as a whole."""
        old = self.rule(rule_id)
        merged = {"threshold": old.threshold, "subject": old.subject, "level": old.level, "quiet_s": old.quiet_s,
                  "enabled": old.enabled, **changes}
        _, threshold, subject, level = validate_rule(old.kind, merged["threshold"], merged["subject"],
                                                        merged["level"], merged["quiet_s"])
        with self._db() as c:
            c.execute("UPDATE alert_rules SET threshold = ?, subject = ?, level = ?, quiet_s = ?, enabled = ? "
                      "WHERE id = ?", (threshold, subject, level, merged["quiet_s"], int(bool(merged["enabled"])),
                                       rule_id))
        return self.rule(rule_id)

    def remove_rule(self, rule_id: int, now: float) -> None:
        """Deletes the rule; its open alerts are resolved (history stays)."""
        self.rule(rule_id)
        with self._db() as c:
            for row in c.execute("SELECT id FROM alert_alerts WHERE rule_id = ? AND state = 'open'", (rule_id,)).fetchall():
                c.execute("UPDATE alert_alerts SET state = 'resolved', resolved_at = ? WHERE id = ?", (now, row["id"]))
                c.execute("INSERT INTO alert_history(alert_id, ts, action, detail) VALUES (?, ?, 'resolved', ?)",
                          (row["id"], now, "rule removed"))
            c.execute("DELETE FROM alert_rules WHERE id = ?", (rule_id,))

    # --- channels ------------------------------------------------------------------------------
    def _read_secrets(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.secrets_path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise AlertsError(f"cannot read {self.secrets_path}: {e}") from None
        return data if isinstance(data, dict) else {}

    def _write_secrets(self, data: dict[str, dict[str, Any]]) -> None:
        # written to a 0600 temporary file then renamed: never readable by others, never half written
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".alerts-secrets.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(data, f)
            os.replace(tmp, self.secrets_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def add_channel(self, name: str, kind: str, config: dict[str, Any], secrets: dict[str, Any], now: float) -> Channel:
        from .notify import validate_channel

        name, kind, config, secrets = validate_channel(name, kind, config, secrets)
        with self._db() as c:
            if c.execute("SELECT 1 FROM alert_channels WHERE name = ?", (name,)).fetchone():
                raise AlertsError(f"a channel named {name!r} exists already")
            cur = c.execute("INSERT INTO alert_channels(name, kind, config, enabled, created_at) VALUES (?, ?, ?, 1, ?)",
                            (name, kind, json.dumps(config), now))
            channel_id = cur.lastrowid
            assert channel_id is not None
            all_secrets = self._read_secrets()
            all_secrets[str(channel_id)] = secrets
            self._write_secrets(all_secrets)  # if this fails, the row is rolled back
        return self.channel(channel_id)

    def channels(self) -> list[Channel]:
        with self._db() as c:
            return [Channel(r["id"], r["name"], r["kind"], json.loads(r["config"]), bool(r["enabled"]))
                    for r in c.execute("SELECT * FROM alert_channels ORDER BY id")]

    def channel(self, channel_id: int) -> Channel:
        for ch in self.channels():
            if ch.id == channel_id:
                return ch
        raise UnknownItem(f"no alert channel #{channel_id}")

    def channel_secrets(self, channel_id: int) -> dict[str, Any]:
        return dict(self._read_secrets().get(str(channel_id), {}))

    def remove_channel(self, channel_id: int) -> None:
        self.channel(channel_id)
        with self._db() as c:
            c.execute("DELETE FROM alert_channels WHERE id = ?", (channel_id,))
            all_secrets = self._read_secrets()
            if all_secrets.pop(str(channel_id), None) is not None:
                self._write_secrets(all_secrets)

    # --- alerts and history --------------------------------------------------------------------
    def open_alert(self, rule_id: int, subject: str) -> Alert | None:
        with self._db() as c:
            row = c.execute("SELECT * FROM alert_alerts WHERE rule_id = ? AND subject = ? AND state = 'open'",
                            (rule_id, subject)).fetchone()
        return _alert(row) if row else None

    def open_alerts(self) -> list[Alert]:
        with self._db() as c:
            return [_alert(r) for r in c.execute("SELECT * FROM alert_alerts WHERE state = 'open' ORDER BY id DESC")]

    def last_notified(self, rule_id: int, subject: str) -> float | None:
        with self._db() as c:
            row = c.execute("SELECT max(last_notified_at) AS t FROM alert_alerts WHERE rule_id = ? AND subject = ?",
                            (rule_id, subject)).fetchone()
        return None if row["t"] is None else float(row["t"])

    def create_alert(self, rule: Rule, subject: str, message: str, now: float, state: str = "open") -> Alert:
        with self._db() as c:
            cur = c.execute(
                "INSERT INTO alert_alerts(rule_id, kind, subject, level, message, state, fired_at, resolved_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (rule.id, rule.kind, subject, rule.level, message, state, now, now if state == "event" else None))
            alert_id = cur.lastrowid
            c.execute("INSERT INTO alert_history(alert_id, ts, action, detail) VALUES (?, ?, ?, ?)",
                      (alert_id, now, "event" if state == "event" else "fired", message))
        assert alert_id is not None
        return self.alert(alert_id)

    def alert(self, alert_id: int) -> Alert:
        with self._db() as c:
            row = c.execute("SELECT * FROM alert_alerts WHERE id = ?", (alert_id,)).fetchone()
        if row is None:
            raise UnknownItem(f"no alert #{alert_id}")
        return _alert(row)

    def update_message(self, alert_id: int, message: str) -> None:
        with self._db() as c:
            c.execute("UPDATE alert_alerts SET message = ? WHERE id = ?", (message, alert_id))

    def resolve_alert(self, alert_id: int, now: float, detail: str) -> Alert:
        with self._db() as c:
            c.execute("UPDATE alert_alerts SET state = 'resolved', resolved_at = ? WHERE id = ?", (now, alert_id))
            c.execute("INSERT INTO alert_history(alert_id, ts, action, detail) VALUES (?, ?, 'resolved', ?)",
                      (alert_id, now, detail))
        return self.alert(alert_id)

    def mark_notified(self, alert_id: int, now: float) -> None:
        with self._db() as c:
            c.execute("UPDATE alert_alerts SET last_notified_at = ?, notify_count = notify_count + 1 WHERE id = ?",
                      (now, alert_id))

    def record(self, alert_id: int, action: str, now: float, detail: str = "", channel_id: int | None = None) -> None:
        with self._db() as c:
            c.execute("INSERT INTO alert_history(alert_id, ts, action, channel_id, detail) VALUES (?, ?, ?, ?, ?)",
                      (alert_id, now, action, channel_id, detail[:1000]))

    def alerts(self, limit: int, before_id: int | None = None, state: str | None = None) -> list[Alert]:
        """Newest first; `before_id` continues a page."""
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        if before_id is not None:
            where.append("id < ?")
            args.append(before_id)
        if state is not None:
            where.append("state = ?")
            args.append(state)
        with self._db() as c:
            rows = c.execute(f"SELECT * FROM alert_alerts WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
                             (*args, limit)).fetchall()
        return [_alert(r) for r in rows]

    def history(self, alert_id: int | None = None, limit: int = 100) -> list[HistoryEntry]:
        with self._db() as c:
            if alert_id is None:
                rows = c.execute("SELECT * FROM alert_history ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
            else:
                rows = c.execute("SELECT * FROM alert_history WHERE alert_id = ? ORDER BY id", (alert_id,)).fetchall()
        return [HistoryEntry(r["id"], r["alert_id"], r["ts"], r["action"], r["channel_id"], r["detail"]) for r in rows]

    # --- hash-rate samples (for "below X % of the 24 h average") -------------------------------
    def add_samples(self, ts: float, rates: dict[str, float]) -> None:
        """One poll's hash rate per worker; samples older than a day are dropped."""
        with self._db() as c:
            c.executemany("INSERT INTO alert_samples(subject, ts, hashrate) VALUES (?, ?, ?)",
                          [(subject, ts, rate) for subject, rate in rates.items()])
            c.execute("DELETE FROM alert_samples WHERE ts < ?", (ts - SAMPLE_KEEP_S,))

    def average(self, subject: str, since: float, before: float) -> tuple[float, int]:
        """Mean hash rate of `subject`'s samples in [since, before) and how many there were."""
        with self._db() as c:
            row = c.execute("SELECT avg(hashrate) AS a, count(*) AS n FROM alert_samples "
                            "WHERE subject = ? AND ts >= ? AND ts < ?", (subject, since, before)).fetchone()
        return (float(row["a"] or 0.0), int(row["n"]))

    # --- maintenance log -----------------------------------------------------------------------
    def add_note(self, subject: str, text: str, now: float) -> Note:
        subject, text = _subject(subject), text.strip()
        if not text or len(text) > 2000:
            raise AlertsError("a maintenance note needs 1 to 2000 characters of text")
        with self._db() as c:
            cur = c.execute("INSERT INTO maint_notes(subject, ts, text) VALUES (?, ?, ?)", (subject, now, text))
        assert cur.lastrowid is not None
        return Note(cur.lastrowid, subject, now, text)

    def add_window(self, subject: str, start: float, end: float, reason: str, now: float) -> Window:
        subject, reason = _subject(subject), reason.strip()
        if not end > start:
            raise AlertsError("a downtime window must end after it starts")
        if len(reason) > 500:
            raise AlertsError("the reason is longer than 500 characters")
        with self._db() as c:
            cur = c.execute('INSERT INTO maint_windows(subject, start, "end", reason, created_at) VALUES (?, ?, ?, ?, ?)',
                            (subject, start, end, reason, now))
        assert cur.lastrowid is not None
        return Window(cur.lastrowid, subject, start, end, reason)

    def remove_window(self, window_id: int) -> None:
        with self._db() as c:
            if c.execute("DELETE FROM maint_windows WHERE id = ?", (window_id,)).rowcount == 0:
                raise UnknownItem(f"no downtime window #{window_id}")

    def notes(self, subject: str | None = None) -> list[Note]:
        with self._db() as c:
            rows = c.execute("SELECT * FROM maint_notes ORDER BY ts DESC, id DESC").fetchall()
        return [Note(r["id"], r["subject"], r["ts"], r["text"]) for r in rows
                if subject is None or _related(subject, r["subject"])]

    def windows(self, subject: str | None = None) -> list[Window]:
        with self._db() as c:
            rows = c.execute("SELECT * FROM maint_windows ORDER BY start DESC, id DESC").fetchall()
        return [Window(r["id"], r["subject"], r["start"], r["end"], r["reason"]) for r in rows
                if subject is None or _related(subject, r["subject"])]


def _related(asked: str, logged: str) -> bool:
    """A log entry about `logged` concerns `asked` (rig1 and ADDR.rig1 are the same worker; * is everything)."""
    return subject_matches(asked, logged) or subject_matches(logged, asked)


def _subject(subject: str) -> str:
    subject = subject.strip()
    if not subject or len(subject) > 200 or any(ch.isspace() for ch in subject):
        raise AlertsError(f"the subject must be a worker or device name (no spaces, 1 to 200 characters), not {subject!r}")
    return subject
