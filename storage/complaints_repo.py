"""Recipients, holidays, claims of scheduled work, and the read side of complaints (digests,
recaps). The desk's own statements (load a context, apply its effects) are in
``storage.complaints``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.complaint_models import Complaint, Holiday, JobClaim
from storage.models import Opd, Recipient, Unit
from survey_flows.complaints import (
    OPEN_STATUSES,
    ComplaintStatus,
)

JOB_CLAIMS: Table = JobClaim.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class RecipientRecord:
    """A registered officer or head of an OPD."""

    id: int
    opd_id: int
    opd_code: str
    role: str
    channel: str
    address: str
    language: str


def _insert(session: AsyncSession, table: Table) -> Any:
    """The dialect's INSERT, which offers ON CONFLICT."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


# --- recipients --------------------------------------------------------------------------------


async def recipients_by_address(
    session: AsyncSession,
    channel: str,
    address: str,
    *,
    phone: str | None = None,
    remember: bool = True,
) -> list[RecipientRecord]:
    """Every active registration of this chat address (one person may serve several OPDs).

    ``address`` is the sender's key (``Inbound.contact``: on WhatsApp the business-scoped
    user id when the payload has one) and ``phone`` the phone number the payload shows
    (``Inbound.phone``). Staff registered by phone number are found by ``phone``, or by the
    BSUID remembered from an earlier payload that showed both; the BSUID is remembered here
    (unless ``remember`` is False: a read outside a write transaction).
    """
    same_person = [Recipient.address == address, Recipient.bsuid == address]
    if phone is not None and phone != address:
        same_person.append(Recipient.address == phone)
    if phone is not None and phone != address and remember:
        await session.execute(
            update(Recipient)
            .where(
                Recipient.channel == channel,
                Recipient.address == phone,
                or_(Recipient.bsuid.is_(None), Recipient.bsuid != address),
            )
            .values(bsuid=address)
            .execution_options(synchronize_session=False)
        )
    rows = await session.execute(
        select(Recipient, Opd.code)
        .join(Opd, Opd.id == Recipient.opd_id)
        .where(Recipient.channel == channel, or_(*same_person), Recipient.active)
        .order_by(Recipient.id)
    )
    return [_recipient(r, code) for r, code in rows.all()]


def _recipient(r: Recipient, opd_code: str) -> RecipientRecord:
    return RecipientRecord(r.id, r.opd_id, opd_code, r.role, r.channel, r.address, r.language)


# --- holidays ----------------------------------------------------------------------------------


async def holidays(session: AsyncSession) -> frozenset[date]:
    return frozenset((await session.execute(select(Holiday.day))).scalars())


async def upsert_holidays(session: AsyncSession, days: Sequence[tuple[date, str]]) -> int:
    """Add or rename holidays; returns how many were new."""
    existing = {h.day: h for h in (await session.execute(select(Holiday))).scalars()}
    added = 0
    for day, name in days:
        if day in existing:
            existing[day].name = name
        else:
            session.add(Holiday(day=day, name=name))
            added += 1
    await session.flush()
    return added


# --- claims of scheduled work ------------------------------------------------------------------


async def claim_job(
    session: AsyncSession, kind: str, target: str, period: str, at: datetime
) -> bool:
    """True for exactly one caller per (kind, target, period), across processes and restarts."""
    statement = (
        _insert(session, JOB_CLAIMS)
        .values(kind=kind, target=target, period=period, claimed_at=at, status="claimed")
        .on_conflict_do_nothing(index_elements=["kind", "target", "period"])
        .returning(JOB_CLAIMS.c.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def job_claimed(session: AsyncSession, kind: str, target: str, period: str) -> bool:
    found = await session.execute(
        select(JobClaim.id).where(
            JobClaim.kind == kind, JobClaim.target == target, JobClaim.period == period
        )
    )
    return found.first() is not None


async def digest_recipients(session: AsyncSession, opd_code: str | None) -> list[RecipientRecord]:
    """Heads of active OPDs (or of one OPD), who receive the weekly digest."""
    query = (
        select(Recipient, Opd.code)
        .join(Opd, Opd.id == Recipient.opd_id)
        .where(Recipient.role == "head", Recipient.active, Opd.active)
        .order_by(Opd.position, Recipient.id)
    )
    if opd_code is not None:
        query = query.where(Opd.code == opd_code)
    return [_recipient(r, code) for r, code in (await session.execute(query)).all()]


async def opd_complaint_counts(
    session: AsyncSession, opd_code: str, start: datetime, end: datetime, now: datetime
) -> tuple[int, int, int]:
    """(received in [start, end), open now, overdue now) for one OPD, in one query."""
    open_statuses = [s.value for s in OPEN_STATUSES]
    overdue = or_(
        and_(Complaint.status == ComplaintStatus.DITERIMA.value, Complaint.verify_by < now),
        and_(Complaint.status == ComplaintStatus.DIVERIFIKASI.value, Complaint.answer_by < now),
    )
    row = (
        await session.execute(
            select(
                func.count().filter(
                    and_(Complaint.created_at >= start, Complaint.created_at < end)
                ),
                func.count().filter(Complaint.status.in_(open_statuses)),
                func.count().filter(overdue),
            )
            .select_from(Complaint)
            .join(Opd, Opd.id == Complaint.opd_id)
            .where(Opd.code == opd_code)
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


@dataclass(frozen=True, slots=True)
class ComplaintRow:
    """A complaint for exports: timing and outcome, never the citizen's platform id."""

    ticket: str
    opd_code: str
    unit_code: str
    kind: str
    status: ComplaintStatus
    anonymous: bool
    confidential: bool
    channel: str
    description: str
    created_at: datetime
    verify_by: datetime
    verified_at: datetime | None
    answer_by: datetime
    answered_at: datetime | None
    rating: int | None


async def complaints_between(
    session: AsyncSession, start: datetime, end: datetime, opd_code: str | None = None
) -> list[ComplaintRow]:
    """Complaints filed in [start, end), oldest first."""
    query = (
        select(Complaint, Unit.code, Opd.code)
        .join(Unit, Unit.id == Complaint.unit_id)
        .join(Opd, Opd.id == Complaint.opd_id)
        .where(Complaint.created_at >= start, Complaint.created_at < end)
        .order_by(Opd.position, Unit.position, Complaint.created_at)
    )
    if opd_code is not None:
        query = query.where(Opd.code == opd_code)
    return [
        ComplaintRow(
            c.ticket,
            opd,
            unit,
            c.kind,
            ComplaintStatus(c.status),
            c.anonymous,
            c.confidential,
            c.channel,
            c.description,
            c.created_at,
            c.verify_by,
            c.verified_at,
            c.answer_by,
            c.answered_at,
            c.rating,
        )  # fmt: skip
        for c, unit, opd in (await session.execute(query)).all()
    ]
