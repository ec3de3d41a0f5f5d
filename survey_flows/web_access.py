"""Who may do what in the web console: roles, permissions, sign-in links and sessions.

Pure and stdlib only: the web handlers ask these functions on every request, and the tests
ask them without a server. Three roles (docs/web.md):

- ``admin``: the Bagian Organisasi, regency-wide (every OPD);
- ``head``: an OPD's head, their OPD only;
- ``officer``: an OPD's officer, their OPD only (the complaint desk).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

LOGIN_LINK_TTL = timedelta(minutes=10)
# Sessions are touched (their last activity written) at most this often: one write a minute
# per person, not one per page.
SESSION_TOUCH_INTERVAL = timedelta(minutes=1)
TOKEN_BYTES = 32  # 256 bits: links and session ids cannot be guessed


class Role(StrEnum):
    ADMIN = "admin"
    HEAD = "head"
    OFFICER = "officer"


class Action(StrEnum):
    """What a page or form does; each route names the one it needs."""

    VIEW_OVERVIEW = "view_overview"  # every OPD's figures
    VIEW_OPD = "view_opd"  # one OPD's figures, its units and suggestions
    DOWNLOAD_REPORT = "download_report"
    DOWNLOAD_POSTER = "download_poster"
    VIEW_COMPLAINTS = "view_complaints"
    ACT_ON_COMPLAINT = "act_on_complaint"
    EDIT_DIRECTORY = "edit_directory"
    VIEW_AUDIT = "view_audit"
    VIEW_RTL = "view_rtl"  # the follow-up plan (RTL): read
    EDIT_RTL = "edit_rtl"  # plan, approve, progress (survey_flows.rtl says who does which)


# Actions each role may take. Scope (which OPD) is checked separately by :func:`may`.
ALLOWED: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.HEAD: frozenset(
        {
            Action.VIEW_OPD,
            Action.DOWNLOAD_REPORT,
            Action.DOWNLOAD_POSTER,
            Action.VIEW_COMPLAINTS,
            # As in the chat: a head verifies, rejects and finishes; answers only where the
            # OPD has no officer (survey_flows.desk decides, per complaint).
            Action.ACT_ON_COMPLAINT,
            Action.VIEW_RTL,
            Action.EDIT_RTL,
        }
    ),
    Role.OFFICER: frozenset(
        {Action.VIEW_COMPLAINTS, Action.ACT_ON_COMPLAINT, Action.VIEW_RTL, Action.EDIT_RTL}
    ),
}


class PrincipalKind(StrEnum):
    """Where a signed-in person is registered: ``web_admins`` or ``recipients``."""

    ADMIN = "admin"
    RECIPIENT = "recipient"


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in person, as re-read from the registrations on every request."""

    kind: PrincipalKind
    id: int
    name: str
    role: Role
    opd_code: str | None  # None for the regency-wide admin
    language: str = "id"

    @property
    def regency_wide(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def label(self) -> str:
        """How the audit log names them: ``admin:3`` or ``recipient:12``."""
        return f"{self.kind.value}:{self.id}"


def may(principal: Principal, action: Action, opd_code: str | None = None) -> bool:
    """True when ``principal`` may take ``action`` on ``opd_code`` (None: regency-wide)."""
    if action not in ALLOWED[principal.role]:
        return False
    if principal.regency_wide:
        return True
    return opd_code is not None and opd_code == principal.opd_code


ROLE_RANK = {Role.ADMIN: 0, Role.HEAD: 1, Role.OFFICER: 2}


def preferred_registration(roles: list[tuple[int, str, str]]) -> int | None:
    """Which of a person's registrations (id, role, OPD code) a chat sign-in link opens:
    a head's before an officer's, then the oldest. None when there is none."""
    known = {role.value: role for role in Role}
    ranked = sorted((ROLE_RANK[known[role]], ident) for ident, role, _ in roles if role in known)
    return ranked[0][1] if ranked else None


# --- one-time links and sessions ---------------------------------------------------------------


def new_token() -> str:
    """A fresh random token for a sign-in link or a session (URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """What is stored for a token: its SHA-256 (a stolen table opens nothing)."""
    return hashlib.sha256(token.encode()).hexdigest()


class LinkState(StrEnum):
    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


def link_state(
    expires_at: datetime | None, used_at: datetime | None, now: datetime, *, known: bool = True
) -> LinkState:
    """Whether a sign-in link may still be used at ``now``."""
    if not known or expires_at is None:
        return LinkState.UNKNOWN
    if used_at is not None:
        return LinkState.USED
    if now >= expires_at:
        return LinkState.EXPIRED
    return LinkState.VALID


def session_alive(last_seen: datetime, ended: bool, now: datetime, idle: timedelta) -> bool:
    """A session lives until it is ended or left idle for ``idle``."""
    return not ended and now - last_seen < idle


def needs_touch(last_seen: datetime, now: datetime) -> bool:
    return now - last_seen >= SESSION_TOUCH_INTERVAL


def sign(secret: bytes, value: str) -> str:
    """``value.signature``: a cookie the browser cannot alter."""
    mac = hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{value}.{mac}"


def unsign(secret: bytes, signed: str | None) -> str | None:
    """The value of a :func:`sign`-ed string, or None when it was altered or is absent."""
    if not signed or "." not in signed:
        return None
    value, _, mac = signed.rpartition(".")
    if not hmac.compare_digest(sign(secret, value), f"{value}.{mac}"):
        return None
    return value


def csrf_token(secret: bytes, binding: str) -> str:
    """The form token for a session (or a sign-in link): derived, so nothing is stored."""
    return hmac.new(secret, f"csrf|{binding}".encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret: bytes, binding: str, given: str | None) -> bool:
    if not given:
        return False
    return hmac.compare_digest(csrf_token(secret, binding), given)
