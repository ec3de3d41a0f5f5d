"""Tables of the web console: its admins, one-time sign-in links, sessions and audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from storage.models import Base, BigId, UTCDateTime

PRINCIPAL_KINDS = "principal_kind IN ('admin', 'recipient')"


class WebAdmin(Base):
    """A regency-wide administrator of the console (the Bagian Organisasi), by name.

    Created by ``skm-bot web login-link --admin NAME``; OPD heads and officers are
    ``recipients`` and need no row here."""

    __tablename__ = "web_admins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    language: Mapped[str] = mapped_column(String(5), default="id")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class _TokenOfAPerson:
    """A token (kept as its SHA-256) that stands for an admin or a recipient."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    principal_kind: Mapped[str] = mapped_column(String(16))
    principal_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[CheckConstraint]:
        return (CheckConstraint(PRINCIPAL_KINDS, name="principal_kind"),)  # one per table


class WebLoginLink(_TokenOfAPerson, Base):
    """A one-time sign-in link: only the SHA-256 of its token is kept."""

    __tablename__ = "web_login_links"

    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(_TokenOfAPerson, Base):
    """A signed-in browser: the cookie carries the token, the row its SHA-256."""

    __tablename__ = "web_sessions"

    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebAuditEntry(Base):
    """One web action or refusal: who, when, what, on what, and how it ended."""

    __tablename__ = "web_audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str | None] = mapped_column(
        String(40)
    )  # "admin:1", "recipient:7"; None: anonymous
    actor_name: Mapped[str | None] = mapped_column(String(120))
    role: Mapped[str | None] = mapped_column(String(16))
    opd_code: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))  # "ok" or "refused"
    detail: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_web_audit_at", "at"),)
