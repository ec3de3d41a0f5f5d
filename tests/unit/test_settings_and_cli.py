"""Configuration errors stop start-up with one clear line naming the setting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings
from tests.support.cli import run_cli


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "WHATSAPP_", "DATABASE_URL", "TIMEZONE", "PSEUDONYM")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_are_the_embedded_sqlite_and_wit() -> None:
    settings = load_settings()
    assert settings.uses_sqlite
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.timezone == "Asia/Jayapura"
    assert settings.flow_settings().timezone.key == "Asia/Jayapura"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("DATABASE_URL", "not a url", "DATABASE_URL"),
        ("DATABASE_URL", "mysql://root@localhost/skm", "DATABASE_URL"),
        ("TIMEZONE", "Asia/Timika", "TIMEZONE"),
        ("HTTP_PORT", "70000", "HTTP_PORT"),
        ("TELEGRAM_WEBHOOK_URL", "http://bot.example/tg", "TELEGRAM_WEBHOOK_URL"),
    ],
)
def test_a_bad_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value).startswith(f"{named}:")
    assert "\n" not in str(error.value)


def test_the_timeouts_of_the_fault_tests_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_settings()
    assert (defaults.telegram_read_timeout_s, defaults.outbox_backoff_cap_s) == (10.0, 120.0)
    assert defaults.outbox_outage_min_s == 5.0
    monkeypatch.setenv("TELEGRAM_READ_TIMEOUT_S", "0.5")
    monkeypatch.setenv("OUTBOX_BACKOFF_CAP_S", "2")
    monkeypatch.setenv("OUTBOX_OUTAGE_MIN_S", "0.5")
    fast = load_settings()
    assert (fast.telegram_read_timeout_s, fast.outbox_backoff_cap_s) == (0.5, 2.0)
    assert fast.outbox_outage_min_s == 0.5
    monkeypatch.setenv("TELEGRAM_READ_TIMEOUT_S", "0")
    with pytest.raises(ConfigError, match="^TELEGRAM_READ_TIMEOUT_S:"):
        load_settings()


def test_a_webhook_without_a_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://bot.example/tg")
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings()
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "s3cret_token-of-20ch")
    assert load_settings().telegram_webhook_url == "https://bot.example/tg"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PSEUDONYM_SECRET", "x", "at least 16 characters"),
        ("TELEGRAM_WEBHOOK_SECRET", "short_secret", "at least 16 characters"),
        ("TELEGRAM_WEBHOOK_SECRET", "sixteen chars, no!", "A-Z a-z 0-9 _ -"),
        ("TELEGRAM_WEBHOOK_SECRET", "ä" * 20, "A-Z a-z 0-9 _ -"),
        ("TELEGRAM_WEBHOOK_SECRET", "a" * 257, "A-Z a-z 0-9 _ -"),
        ("WHATSAPP_APP_SECRET", "0123456789abcde", "at least 16 characters"),
        ("WHATSAPP_VERIFY_TOKEN", "verify-me", "at least 16 characters"),
        ("METRICS_TOKEN", "metrics", "at least 16 characters"),
    ],
)
def test_weak_secrets_are_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value).startswith(f"{name}: ") and message in str(error.value)
    assert value not in str(error.value)  # a secret is never echoed


def test_plain_postgres_urls_get_the_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://skm:pw@db:5432/skm")
    assert load_settings().database_url == "postgresql+asyncpg://skm:pw@db:5432/skm"


def test_postgres_needs_a_pseudonym_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://skm@db/skm")
    with pytest.raises(ConfigError, match="PSEUDONYM_SECRET"):
        load_settings().pseudonym_key()
    monkeypatch.setenv("PSEUDONYM_SECRET", "abc-def-ghi-jkl-mno")
    assert load_settings().pseudonym_key() == b"abc-def-ghi-jkl-mno"


def test_the_embedded_default_keeps_one_generated_key(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    first = settings.pseudonym_key()
    assert len(first) == 64
    assert settings.pseudonym_key() == first


@pytest.mark.slow  # a subprocess
def test_the_cli_reports_a_bad_setting_in_one_line_and_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "TIMEZONE": "Mars/Olympus"}
    result = run_cli("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "skm-bot: configuration error: TIMEZONE: unknown time zone 'Mars/Olympus' "
        "(try Asia/Jayapura)"
    ]


@pytest.mark.slow  # a subprocess
def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = run_cli("--help", env=dict(os.environ), cwd=tmp_path)
    assert result.returncode == 0
    for command in ("run", "db", "units"):
        assert command in result.stdout
