"""Configuration from the environment and ``.env`` (pydantic-settings).

Every setting is documented in the README's table. A bad value stops start-up with one line
naming the setting (see :func:`load_settings`).
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.digests import DigestSettings
from storage.db import is_sqlite, normalise_database_url, sqlite_path
from storage.privacy import Retention
from survey_flows.complaints import Limits
from survey_flows.engine import FlowSettings

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/skm-bot.sqlite3"
# Shorter secrets are refused at start: a guessable webhook secret lets anyone post updates,
# a short pseudonym key lets respondent keys be linked back to phone numbers.
MIN_SECRET_CHARS = 16
# setWebhook's secret_token: "1-256 characters. Only characters A-Z, a-z, 0-9, _ and - are
# allowed" (Bot API).
TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class ConfigError(Exception):
    """A setting is missing or wrong; the message names it."""


class Settings(BaseSettings):
    """skm-bot's settings. Environment variables use the upper-case field names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "Asia/Jayapura"
    organisation_name: str = "Pemerintah Kabupaten Mimika"
    pseudonym_secret: SecretStr | None = None

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_overall_per_s: float = Field(default=25.0, gt=0, le=1000)
    telegram_per_chat_interval_s: float = Field(default=1.0, ge=0, le=60)
    telegram_per_chat_burst: int = Field(default=3, ge=1, le=20)
    # At most this many sends back to back; beyond, they are spread at TELEGRAM_OVERALL_PER_S
    # (a whole second's allowance at once reaches Telegram with jitter and meets 429s).
    telegram_overall_burst: int = Field(default=2, ge=1, le=100)
    # How long a Bot API call may wait for its answer before it counts as failed (and its
    # reply is retried): a hanging API then costs this much per send, not a lease.
    telegram_read_timeout_s: float = Field(default=10.0, gt=0, le=300)

    whatsapp_access_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_api_base_url: str = "https://graph.facebook.com"
    whatsapp_graph_version: str = "v25.0"
    whatsapp_template_name: str | None = None
    whatsapp_template_language: str = "id"
    whatsapp_digest_template_name: str | None = None
    # "You said, we did" (docs/rtl.md): the approved template (one body parameter, the news)
    # that tells opted-in WhatsApp citizens an RTL item is done; unset: WhatsApp gets none.
    whatsapp_followup_template_name: str | None = None
    # WhatsApp Flows (the questionnaire as one form): the business account the publish
    # command creates Flows in; or the ids of Flows published by hand (they win over the ids
    # the publish command stored).
    whatsapp_business_account_id: str | None = None
    whatsapp_flow_id: str | None = None  # the Indonesian form
    whatsapp_flow_id_en: str | None = None  # the English form
    # The number's throughput tier (messages/s, sent and received): 80, 1,000, or 20 for a
    # number shared with the WhatsApp Business app. Sends are paced just under it.
    whatsapp_messages_per_s: float = Field(default=80.0, gt=0, le=10_000)

    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=1, le=65535)
    # Service processes sharing HTTP_PORT (webhook mode): one per spare core. See bot/workers.py.
    http_workers: int = Field(default=1, ge=1, le=64)

    conversation_timeout_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    # One gentle reminder this long before an idle survey expires (0: none). Never sent
    # outside WhatsApp's 24-hour customer service window.
    conversation_reminder_minutes: int = Field(default=10, ge=0, le=24 * 60)
    survey_repeat_window_days: int = Field(default=1, ge=0, le=366)
    suggestion_max_chars: int = Field(default=1000, ge=50, le=4000)
    menu_page_size: int = Field(default=8, ge=3, le=20)
    complaint_verify_days: int = Field(default=3, ge=1, le=60)
    complaint_answer_days: int = Field(default=5, ge=1, le=60)
    complaint_citizen_response_days: int = Field(default=10, ge=1, le=60)
    complaint_reopen_days: int = Field(default=10, ge=0, le=60)
    complaint_job_cron: str = "30 7 * * *"
    # --- retention (docs/privacy.md: what is kept, how long, under which UU 27/2022 article) --
    # Dedupe keys: platforms redeliver for days (Meta up to 7); Telegram keys do not reuse ids.
    retention_inbound_event_days: int = Field(default=14, ge=8, le=366)
    # The text of messages already delivered (the rows stay, their payload goes).
    retention_outbox_payload_days: int = Field(default=30, ge=1, le=3660)
    # A closed complaint's personal content (description, location, answers): the ticket,
    # unit, kind, status and dates stay for the statistics.
    retention_complaint_content_days: int = Field(default=365, ge=1, le=3660)
    retention_complaint_photo_days: int = Field(default=90, ge=1, le=3660)
    # The web console's audit log: a year for the yearly PEKPPP evaluation (which looks back
    # over the past year's service) plus a margin for its late schedule.
    web_audit_retention_days: int = Field(default=400, ge=30, le=3660)
    purge_job_cron: str = "15 2 * * *"  # daily, at night (local time)
    # --- per-contact limits (handlers/ratelimit.py; per process) ----------------------------
    contact_burst: int = Field(default=30, ge=3, le=1000)
    contact_messages_per_minute: float = Field(default=60.0, gt=0, le=6000)
    status_burst: int = Field(default=5, ge=1, le=100)
    status_lookups_per_minute: float = Field(default=2.0, gt=0, le=600)
    complaints_per_day: int = Field(default=5, ge=0, le=1000)  # per citizen; 0: no cap
    telegram_bot_username: str | None = None  # for the QR deep links on posters
    whatsapp_number: str | None = None  # the business number, for wa.me links on posters
    report_min_respondents: int = Field(default=30, ge=1, le=100_000)
    digest_cron: str = "30 7 * * mon"
    digest_enabled: bool = True
    digest_min_respondents: int = Field(default=10, ge=1, le=1000)
    directory_seed_file: Path | None = None
    log_level: str = "INFO"
    # json: one JSON object per line (the default for `skm-bot run` as a service); text: for
    # people (the default for the console and the other commands).
    log_format: Literal["json", "text"] | None = None
    # How long a claimed outgoing message belongs to the process sending it; after a crash
    # its replies go out this long later (see handlers/outbox.py).
    outbox_lease_s: float = Field(default=120.0, ge=1.0, le=3600.0)
    # The longest wait between two tries of a failing send (the backoff doubles from 2 s).
    outbox_backoff_cap_s: float = Field(default=120.0, ge=0.1, le=3600.0)
    # Failures for this long with no success between them are an outage: the first success
    # after one makes every backed-off reply of the channel due at once.
    outbox_outage_min_s: float = Field(default=5.0, ge=0.1, le=3600.0)
    # When set, /metrics and /readyz answer only a request carrying
    # "Authorization: Bearer <METRICS_TOKEN>"; unset, they stay open as before (/healthz
    # always is: it says nothing but "up").
    metrics_token: SecretStr | None = None

    # The web console (docs/web.md): its path in the web server, an optional port of its own,
    # the public address its sign-in links start with, the cookie secret and the idle timeout.
    web_console: bool = True
    web_path_prefix: str = "/konsol"
    web_port: int | None = Field(default=None, ge=1, le=65535)
    public_base_url: str | None = None
    web_session_secret: SecretStr | None = None
    web_idle_minutes: int = Field(default=30, ge=5, le=12 * 60)
    # Secure cookies (sent over HTTPS only): on when PUBLIC_BASE_URL starts with https://.
    web_cookie_secure: bool | None = None

    @field_validator(
        "pseudonym_secret",
        "telegram_webhook_secret",
        "whatsapp_app_secret",
        "whatsapp_verify_token",
        "metrics_token",
        "web_session_secret",
    )
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < MIN_SECRET_CHARS:
            raise ValueError(
                f"at least {MIN_SECRET_CHARS} characters (generate one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret_characters(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not TELEGRAM_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("Telegram accepts only 1-256 characters of A-Z a-z 0-9 _ -")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (try Asia/Jayapura)") from None
        return value

    @field_validator("complaint_job_cron", "digest_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        fields = value.split()
        if len(fields) != 5:
            raise ValueError(f"{value!r} is not a 5-field crontab line (e.g. '30 7 * * *')")
        return value

    @field_validator("telegram_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value and not value.startswith("https://"):
            raise ValueError("must start with https:// (Telegram only calls HTTPS webhooks)")
        return value or None

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            raise ValueError(
                "TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_WEBHOOK_URL is set "
                "(1-256 characters of A-Z a-z 0-9 _ -)"
            )
        return self

    @field_validator("web_path_prefix")
    @classmethod
    def _web_prefix(cls, value: str) -> str:
        if not re.fullmatch(r"(/[a-z0-9_-]{1,40}){1,3}", value):
            raise ValueError("a path like /konsol (lower-case letters, digits, - and _)")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _public_base_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL, e.g. https://skm.mimikakab.go.id")
        return value.rstrip("/")

    @field_validator("whatsapp_graph_version")
    @classmethod
    def _graph_version(cls, value: str) -> str:
        if not re.fullmatch(r"v\d+\.\d+", value):
            raise ValueError("must look like v25.0")
        return value

    @field_validator("whatsapp_api_base_url")
    @classmethod
    def _graph_base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL, e.g. https://graph.facebook.com")
        return value.rstrip("/")

    @field_validator("whatsapp_template_name", "whatsapp_followup_template_name")
    @classmethod
    def _template_name(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"[a-z0-9_]{1,512}", value):
            raise ValueError("template names are lower-case letters, digits and _")
        return value or None

    @model_validator(mode="after")
    def _whatsapp_settings_together(self) -> Settings:
        required = {
            "WHATSAPP_ACCESS_TOKEN": self.whatsapp_access_token,
            "WHATSAPP_PHONE_NUMBER_ID": self.whatsapp_phone_number_id,
            "WHATSAPP_APP_SECRET": self.whatsapp_app_secret,
            "WHATSAPP_VERIFY_TOKEN": self.whatsapp_verify_token,
        }
        missing = [name for name, value in required.items() if not value]
        if missing and len(missing) < len(required):
            raise ValueError(
                f"{missing[0]}: required for the WhatsApp channel "
                f"({', '.join(required)} go together)"
            )
        return self

    # --- derived values -----------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def uses_sqlite(self) -> bool:
        return is_sqlite(self.database_url)

    @property
    def has_whatsapp(self) -> bool:
        return bool(self.whatsapp_access_token)

    @property
    def has_platform_channel(self) -> bool:
        return bool(self.telegram_bot_token or self.whatsapp_access_token)

    def flow_settings(self) -> FlowSettings:
        return FlowSettings(
            organisation=self.organisation_name,
            idle_timeout=timedelta(minutes=self.conversation_timeout_minutes),
            idle_reminder=timedelta(
                minutes=min(
                    self.conversation_reminder_minutes, self.conversation_timeout_minutes - 1
                )
            ),
            page_size=self.menu_page_size,
            suggestion_max_chars=self.suggestion_max_chars,
            repeat_window_days=self.survey_repeat_window_days,
            timezone=self.zone,
            complaint_limits=Limits(
                verify_days=self.complaint_verify_days,
                answer_days=self.complaint_answer_days,
                citizen_response_days=self.complaint_citizen_response_days,
                reopen_days=self.complaint_reopen_days,
            ),
            complaints_per_day=self.complaints_per_day,
        )

    def retention(self) -> Retention:
        return Retention(
            inbound_events=timedelta(days=self.retention_inbound_event_days),
            outbox_payloads=timedelta(days=self.retention_outbox_payload_days),
            complaint_content=timedelta(days=self.retention_complaint_content_days),
            complaint_photos=timedelta(days=self.retention_complaint_photo_days),
            web_audit=timedelta(days=self.web_audit_retention_days),
        )

    def digest_settings(self) -> DigestSettings:
        return DigestSettings(
            organisation=self.organisation_name,
            zone=self.zone,
            cron=self.digest_cron,
            min_respondents=self.digest_min_respondents,
        )

    def pseudonym_key(self) -> bytes:
        """The secret that turns contacts into respondent keys.

        Required with PostgreSQL or a platform channel. On the embedded SQLite default it is
        generated once and kept beside the database file (mode 0600) so keys stay stable.
        """
        if self.pseudonym_secret:
            return self.pseudonym_secret.get_secret_value().encode()
        if not self.uses_sqlite or self.has_platform_channel:
            raise ConfigError(
                "PSEUDONYM_SECRET: required with PostgreSQL or a Telegram/WhatsApp channel "
                "(generate one with: python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        database = sqlite_path(self.database_url) or "skm-bot.sqlite3"
        key_file = Path(f"{database}.pseudonym-key")
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
        return key_file.read_text().strip().encode()


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; raises :class:`ConfigError` with one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]).upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        if not field:
            raise ConfigError(message) from None
        raise ConfigError(f"{field}: {message}") from None
