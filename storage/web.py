"""The web console's records: admins, one-time sign-in links, sessions and the audit log.

Tokens are never stored, only their SHA-256 (``survey_flows.web_access.token_digest``). Who a
session belongs to is re-read from ``web_admins`` or ``recipients`` on every request, so a
deactivated person loses the console at their next click.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from storage.base import TxBase
from storage.models import Opd, Recipient
from storage.web_models import WebAdmin, WebAuditEntry, WebLoginLink, WebSession
from survey_flows.web_access import (
    LinkState,
    Principal,
    PrincipalKind,
    Role,
    link_state,
    needs_touch,
    session_alive,
)

# --- admins ------------------------------------------------------------------------------------


async def ensure_admin(tx: TxBase, name: str, now: datetime) -> tuple[int, bool]:
    """The id of the active admin called ``name``, created (or re-activated) when needed;
    True when it was created."""
    existing = await tx.session.scalar(select(WebAdmin).where(WebAdmin.name == name))
    if existing is not None:
        existing.active = True
        return existing.id, False
    admin = WebAdmin(name=name, language="id", active=True, created_at=now)
    tx.session.add(admin)
    await tx.session.flush()
    return admin.id, True


async def principal(tx: TxBase, kind: str, ident: int) -> Principal | None:
    """The person behind a link or session, if still registered and active."""
    if kind == PrincipalKind.ADMIN:
        admin = await tx.session.get(WebAdmin, ident)
        if admin is None or not admin.active:
            return None
        return Principal(PrincipalKind.ADMIN, admin.id, admin.name, Role.ADMIN, None,
                         admin.language)  # fmt: skip
    row = (
        await tx.session.execute(
            select(Recipient, Opd.code)
            .join(Opd, Opd.id == Recipient.opd_id)
            .where(Recipient.id == ident, Recipient.active)
        )
    ).first()
    if row is None:
        return None
    recipient, opd_code = row
    return Principal(PrincipalKind.RECIPIENT, recipient.id, recipient.name, Role(recipient.role),
                     opd_code, recipient.language)  # fmt: skip


# --- one-time sign-in links --------------------------------------------------------------------


async def create_login_link(
    tx: TxBase, token_sha256: str, kind: PrincipalKind, ident: int, now: datetime, ttl: timedelta
) -> None:
    tx.session.add(
        WebLoginLink(
            token_sha256=token_sha256,
            principal_kind=kind.value,
            principal_id=ident,
            created_at=now,
            expires_at=now + ttl,
        )  # fmt: skip
    )
    await tx.session.flush()


async def login_link_state(tx: TxBase, token_sha256: str, now: datetime) -> LinkState:
    """Whether the link may be used, without using it (the page that asks to confirm)."""
    link = await tx.session.scalar(
        select(WebLoginLink).where(WebLoginLink.token_sha256 == token_sha256)
    )
    if link is None:
        return LinkState.UNKNOWN
    return link_state(link.expires_at, link.used_at, now)


async def redeem_login_link(
    tx: TxBase, token_sha256: str, now: datetime
) -> tuple[LinkState, tuple[str, int] | None]:
    """Use a link once: (VALID, (kind, id)) the first time before it expires, else why not.

    One conditional UPDATE: two browsers racing with the same link cannot both win."""
    used = (
        await tx.session.execute(
            update(WebLoginLink)
            .where(
                WebLoginLink.token_sha256 == token_sha256,
                WebLoginLink.used_at.is_(None),
                WebLoginLink.expires_at > now,
            )
            .values(used_at=now)
            .returning(WebLoginLink.principal_kind, WebLoginLink.principal_id)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if used is not None:
        return LinkState.VALID, (str(used[0]), int(used[1]))
    return await login_link_state(tx, token_sha256, now), None


# --- sessions ----------------------------------------------------------------------------------


async def start_session(
    tx: TxBase, token_sha256: str, kind: str, ident: int, now: datetime
) -> None:
    tx.session.add(
        WebSession(
            token_sha256=token_sha256,
            principal_kind=kind,
            principal_id=ident,
            created_at=now,
            last_seen_at=now,
        )  # fmt: skip
    )
    await tx.session.flush()


async def session_principal(
    tx: TxBase, token_sha256: str, now: datetime, idle: timedelta
) -> Principal | None:
    """The person signed in by this session, or None (unknown, ended, idle too long, or
    the person no longer registered). A live session's activity time moves on."""
    found = await tx.session.scalar(
        select(WebSession).where(WebSession.token_sha256 == token_sha256)
    )
    if found is None or not session_alive(found.last_seen_at, found.ended_at is not None, now,
                                          idle):  # fmt: skip
        return None
    who = await principal(tx, found.principal_kind, found.principal_id)
    if who is not None and needs_touch(found.last_seen_at, now):
        found.last_seen_at = now
    return who


async def end_session(tx: TxBase, token_sha256: str, now: datetime) -> bool:
    """Sign out: True when a live session was ended."""
    result = await tx.session.execute(
        update(WebSession)
        .where(WebSession.token_sha256 == token_sha256, WebSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def prune(tx: TxBase, now: datetime, keep: timedelta = timedelta(days=7)) -> None:
    """Forget sign-in links and sessions over for ``keep`` (the audit log keeps the story)."""
    before = now - keep
    await tx.session.execute(
        delete(WebLoginLink)
        .where(WebLoginLink.expires_at < before)
        .execution_options(synchronize_session=False)
    )
    await tx.session.execute(
        delete(WebSession)
        .where(or_(WebSession.last_seen_at < before, WebSession.ended_at < before))
        .execution_options(synchronize_session=False)
    )


# --- audit log ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    actor: str | None
    actor_name: str | None
    role: str | None
    opd_code: str | None
    action: str
    target: str | None
    outcome: str
    detail: str | None


async def record_audit(
    tx: TxBase,
    now: datetime,
    who: Principal | None,
    action: str,
    outcome: str,
    *,
    target: str | None = None,
    detail: str | None = None,
) -> None:
    """Write one line of the audit log (who, when, what, on what, how it ended)."""
    tx.session.add(
        WebAuditEntry(
            at=now,
            actor=who.label if who else None,
            actor_name=who.name[:120] if who else None,
            role=who.role.value if who else None,
            opd_code=who.opd_code if who else None,
            action=action[:40],
            target=target[:200] if target else None,
            outcome=outcome[:16],
            detail=detail[:200] if detail else None,
        )
    )
    await tx.session.flush()


async def audit_entries(tx: TxBase, limit: int = 100) -> list[AuditRecord]:
    """The newest entries first."""
    rows = await tx.session.execute(
        select(WebAuditEntry)
        .order_by(WebAuditEntry.at.desc(), WebAuditEntry.id.desc())
        .limit(limit)
    )
    return [
        AuditRecord(
            e.at, e.actor, e.actor_name, e.role, e.opd_code, e.action, e.target, e.outcome, e.detail
        )  # fmt: skip
        for e in rows.scalars()
    ]
