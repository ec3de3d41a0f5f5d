"""The console's pure rules (survey_flows.web_access) and its texts (web_catalog)."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings
from bot.web_console import console_config
from survey_flows.commands import Command, parse_command
from survey_flows.web_access import (
    Action,
    LinkState,
    Principal,
    PrincipalKind,
    Role,
    csrf_token,
    csrf_valid,
    link_state,
    may,
    needs_touch,
    new_token,
    preferred_registration,
    session_alive,
    sign,
    token_digest,
    unsign,
)
from survey_flows.web_catalog import WEB_MESSAGES, web_text

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
ADMIN = Principal(PrincipalKind.ADMIN, 1, "Bagian Organisasi", Role.ADMIN, None)
HEAD = Principal(PrincipalKind.RECIPIENT, 2, "Kepala", Role.HEAD, "disdukcapil")
OFFICER = Principal(PrincipalKind.RECIPIENT, 3, "Petugas", Role.OFFICER, "disdukcapil")


def test_the_admin_may_do_everything_everywhere() -> None:
    for action in Action:
        assert may(ADMIN, action)
        assert may(ADMIN, action, "rsud")


def test_a_head_sees_their_own_opd_only() -> None:
    assert may(HEAD, Action.VIEW_OPD, "disdukcapil")
    assert not may(HEAD, Action.VIEW_OPD, "rsud")
    assert not may(HEAD, Action.VIEW_OPD)  # regency-wide is not theirs
    assert not may(HEAD, Action.VIEW_OVERVIEW)
    assert not may(HEAD, Action.EDIT_DIRECTORY, "disdukcapil")
    assert may(HEAD, Action.DOWNLOAD_REPORT, "disdukcapil")
    assert not may(HEAD, Action.DOWNLOAD_REPORT, "rsud")


def test_a_head_acts_on_their_opds_complaints_as_the_chat_lets_them() -> None:
    # Which actions (no answering where the OPD has officers) is survey_flows.desk's rule.
    assert may(HEAD, Action.ACT_ON_COMPLAINT, "disdukcapil")
    assert not may(HEAD, Action.ACT_ON_COMPLAINT, "rsud")


def test_an_officer_works_the_desk_of_their_opd_only() -> None:
    assert may(OFFICER, Action.ACT_ON_COMPLAINT, "disdukcapil")
    assert not may(OFFICER, Action.ACT_ON_COMPLAINT, "rsud")
    assert not may(OFFICER, Action.VIEW_OPD, "disdukcapil")
    assert not may(OFFICER, Action.VIEW_AUDIT)


def test_a_head_registration_opens_before_an_officer_one() -> None:
    assert preferred_registration([(7, "officer", "rsud"), (9, "head", "dinkes")]) == 9
    assert preferred_registration([(7, "officer", "rsud"), (5, "officer", "dinkes")]) == 5
    assert preferred_registration([]) is None


def test_links_are_single_use_and_expire_after_ten_minutes() -> None:
    expires = NOW + timedelta(minutes=10)
    assert link_state(expires, None, NOW) is LinkState.VALID
    assert link_state(expires, None, expires - timedelta(seconds=1)) is LinkState.VALID
    assert link_state(expires, None, expires) is LinkState.EXPIRED
    assert link_state(expires, NOW, NOW) is LinkState.USED
    assert link_state(None, None, NOW) is LinkState.UNKNOWN


def test_sessions_end_when_idle_or_signed_out() -> None:
    idle = timedelta(minutes=30)
    assert session_alive(NOW, False, NOW + timedelta(minutes=29), idle)
    assert not session_alive(NOW, False, NOW + timedelta(minutes=30), idle)
    assert not session_alive(NOW, True, NOW, idle)
    assert not needs_touch(NOW, NOW + timedelta(seconds=59))
    assert needs_touch(NOW, NOW + timedelta(minutes=1))


def test_tokens_are_random_and_stored_as_digests() -> None:
    first, second = new_token(), new_token()
    assert first != second and len(first) >= 43
    assert set(first) <= set(string.ascii_letters + string.digits + "-_")
    assert token_digest(first) != first and len(token_digest(first)) == 64


def test_signed_cookies_refuse_any_change() -> None:
    secret = b"s" * 32
    signed = sign(secret, "abc")
    assert unsign(secret, signed) == "abc"
    assert unsign(secret, signed[:-1] + ("0" if signed[-1] != "0" else "1")) is None
    assert unsign(secret, "xyz." + signed.rpartition(".")[2]) is None
    assert unsign(b"t" * 32, signed) is None
    assert unsign(secret, None) is None and unsign(secret, "no-dot") is None


def test_csrf_tokens_are_bound_to_their_session() -> None:
    secret = b"s" * 32
    token = csrf_token(secret, "session-a")
    assert csrf_valid(secret, "session-a", token)
    assert not csrf_valid(secret, "session-b", token)
    assert not csrf_valid(secret, "session-a", None)
    assert not csrf_valid(secret, "session-a", "")


@pytest.mark.parametrize("typed", ["/masuk", "MASUK", " masuk ", "Masuk", "/signin"])
def test_masuk_is_a_command_with_or_without_a_slash(typed: str) -> None:
    parsed = parse_command(typed)
    assert parsed is not None and parsed.name == Command.MASUK


@pytest.mark.parametrize("typed", ["masuk angin", "saya mau masuk", "masukkan"])
def test_masuk_inside_a_sentence_stays_text(typed: str) -> None:
    assert parse_command(typed) is None


def test_the_web_catalogue_has_the_same_keys_and_placeholders_in_both_languages() -> None:
    assert set(WEB_MESSAGES["id"]) == set(WEB_MESSAGES["en"])
    formatter = string.Formatter()
    for key, indonesian in WEB_MESSAGES["id"].items():
        names_id = {f for _, f, _, _ in formatter.parse(indonesian) if f}
        names_en = {f for _, f, _, _ in formatter.parse(WEB_MESSAGES["en"][key]) if f}
        assert names_id == names_en, key


def test_every_refusal_has_a_title_and_a_text() -> None:
    reasons = {k.split(".")[2] for k in WEB_MESSAGES["id"] if k.startswith("web.refused.")}
    for reason in reasons:
        assert web_text("id", f"web.refused.{reason}.title")
        assert web_text("en", f"web.refused.{reason}")


WEB_SOURCES = Path(__file__).resolve().parents[2] / "handlers" / "web"


def test_every_text_the_pages_use_is_in_the_web_catalogue() -> None:
    """Templates call ``t("web....")``; handlers pass ``"web...."`` keys: all must exist."""
    used: set[str] = set()
    for path in WEB_SOURCES.rglob("*"):
        if path.suffix in {".html", ".py"} and path.name != "chat.py":  # chat: the chat catalogue
            used |= set(re.findall(r"""["'](web\.[a-z0-9_.]+[a-z0-9_])["']""", path.read_text()))
    assert len(used) > 20  # the scan is not vacuous
    missing = sorted(key for key in used if key not in WEB_MESSAGES["id"])
    assert missing == []


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("web_path_prefix", "konsol", "WEB_PATH_PREFIX"),
        ("web_path_prefix", "/Konsol/", "WEB_PATH_PREFIX"),
        ("public_base_url", "skm.example.go.id", "PUBLIC_BASE_URL"),
        ("web_session_secret", "short", "WEB_SESSION_SECRET"),
        ("web_idle_minutes", 1, "WEB_IDLE_MINUTES"),
    ],
)
def test_bad_console_settings_stop_start_up_naming_the_setting(
    setting: str, value: object, named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(**{setting: value})


def test_links_and_cookies_follow_the_public_address() -> None:
    behind_tls = console_config(
        load_settings(public_base_url="https://skm.example.go.id/", pseudonym_secret="p" * 16)
    )
    assert behind_tls.secure_cookies
    assert behind_tls.link("/masuk/abc") == "https://skm.example.go.id/konsol/masuk/abc"
    local = console_config(load_settings(http_port=8099, web_session_secret="w" * 16))
    assert not local.secure_cookies and local.secret == b"w" * 16
    assert local.link("/") == "http://127.0.0.1:8099/konsol/"
    # Derived from the pseudonym secret: every worker of a service agrees.
    first = console_config(load_settings(pseudonym_secret="p" * 16)).secret
    assert first == console_config(load_settings(pseudonym_secret="p" * 16)).secret
    assert first != console_config(load_settings(pseudonym_secret="q" * 16)).secret
