"""Request and response models of /v1/ops/alerts and /v1/ops/maintenance."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleIn(_Model):
    kind: str = Field(max_length=32, description="offline, hashrate_drop, reject_rate, temperature, pool_down, "
                                                  "block_found, payout_sent or part_restarted.")
    threshold: float | None = Field(default=None, description="Minutes (offline, pool_down), percent "
                                                             "(hashrate_drop, reject_rate) or °C (temperature).")
    subject: str | None = Field(default=None, max_length=200, description="One worker or device; null: all.")
    level: str | None = Field(default=None, max_length=16, description="info, warning or critical (default by kind).")
    quiet_minutes: float | None = Field(default=None, ge=0, le=43200,
                                        description="Repeat notifications at most this often (null: the global setting).")


class RulePatch(_Model):
    threshold: float | None = None
    subject: str | None = Field(default=None, max_length=200)
    level: str | None = Field(default=None, max_length=16)
    quiet_minutes: float | None = Field(default=None, ge=0, le=43200)
    enabled: bool | None = None


class RuleOut(_Model):
    id: int
    kind: str
    threshold: float | None
    unit: str | None
    subject: str | None
    level: str
    quiet_minutes: float | None
    enabled: bool
    created_at: int
    description: str


class ChannelIn(_Model):
    name: str = Field(max_length=64)
    kind: str = Field(max_length=16, description="webhook, discord, slack, telegram or email.")
    url: str | None = Field(default=None, max_length=2048,
                            description="Webhook URL, or a Telegram bot URL (kept secret, never shown again).")
    bot_token: str | None = Field(default=None, max_length=256, description="Telegram bot token (kept secret).")
    chat_id: str | None = Field(default=None, max_length=64)
    api_url: str | None = Field(default=None, max_length=512, description="Telegram Bot API base URL.")
    host: str | None = Field(default=None, max_length=255, description="SMTP server.")
    port: int | None = Field(default=None, ge=1, le=65535)
    security: str | None = Field(default=None, max_length=16, description="starttls (default), ssl or none.")
    username: str | None = Field(default=None, max_length=255)
    ca_file: str | None = Field(default=None, max_length=1024, description="CA file (on the API's host) to trust for SMTP TLS.")
    password: str | None = Field(default=None, max_length=1024, description="SMTP password (kept secret).")
    sender: str | None = Field(default=None, max_length=255)
    to: list[str] = Field(default_factory=list, max_length=20)


class ChannelOut(_Model):
    id: int
    name: str
    kind: str
    config: dict[str, Any] = Field(description="Settings; URLs masked to scheme://host/…, passwords never shown.")
    enabled: bool


class AlertOut(_Model):
    id: int
    rule_id: int
    kind: str
    subject: str
    level: str
    message: str
    state: str = Field(description="open, resolved, or event (block found, payout sent).")
    fired_at: int
    resolved_at: int | None
    last_notified_at: int | None
    notify_count: int


class HistoryOut(_Model):
    id: int
    time: int
    action: str = Field(description="fired, resolved, event, notified, failed or suppressed.")
    channel_id: int | None
    detail: str


class AlertDetail(AlertOut):
    history: list[HistoryOut]


class Delivered(_Model):
    channel_id: int
    delivered: bool


class NoteIn(_Model):
    subject: str = Field(max_length=200)
    text: str = Field(max_length=2000)


class NoteOut(_Model):
    id: int
    subject: str
    time: int
    text: str


class WindowIn(_Model):
    subject: str = Field(max_length=200, description="Worker, device, or * for everything.")
    start: int = Field(ge=0, description="Unix time.")
    end: int = Field(ge=0, description="Unix time; after start.")
    reason: str = Field(default="", max_length=500)


class WindowOut(_Model):
    id: int
    subject: str
    start: int
    end: int
    reason: str
    active: bool


class Maintenance(_Model):
    notes: list[NoteOut]
    windows: list[WindowOut]


class Settings(_Model):
    poll_s: float = Field(ge=0.2, le=3600)
    quiet_minutes: float = Field(ge=0, le=43200)
