"""Configuration from the environment and ``.env`` (pydantic-settings).

Every setting is documented in the README's table. A bad value stops start-up with one line
naming the setting (see :func:`load_settings`).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from survey_flows.engine import FlowSettings

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/skm-bot.sqlite3"
_SUPPORTED_DRIVERS = {"sqlite+aiosqlite", "postgresql+asyncpg"}


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

    whatsapp_access_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_api_base_url: str = "https://graph.facebook.com"

    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=1, le=65535)

    conversation_timeout_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    survey_repeat_window_days: int = Field(default=1, ge=0, le=366)
    suggestion_max_chars: int = Field(default=1000, ge=50, le=4000)
    menu_page_size: int = Field(default=8, ge=3, le=20)
    directory_seed_file: Path | None = None
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL ({exc})") from None
        if url.drivername in {"postgresql", "postgres", "postgresql+psycopg"}:
            url = url.set(drivername="postgresql+asyncpg")
        if url.drivername == "sqlite":
            url = url.set(drivername="sqlite+aiosqlite")
        if url.drivername not in _SUPPORTED_DRIVERS:
            raise ValueError(
                f"driver {url.drivername!r} is not supported; use postgresql+asyncpg://... "
                "or sqlite+aiosqlite:///path"
            )
        return url.render_as_string(hide_password=False)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (try Asia/Jayapura)") from None
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

    # --- derived values -----------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def uses_sqlite(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "sqlite"

    @property
    def has_platform_channel(self) -> bool:
        return bool(self.telegram_bot_token or self.whatsapp_access_token)

    def flow_settings(self) -> FlowSettings:
        return FlowSettings(
            organisation=self.organisation_name,
            idle_timeout=timedelta(minutes=self.conversation_timeout_minutes),
            page_size=self.menu_page_size,
            suggestion_max_chars=self.suggestion_max_chars,
            repeat_window_days=self.survey_repeat_window_days,
            timezone=self.zone,
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
        database = make_url(self.database_url).database or "skm-bot.sqlite3"
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
