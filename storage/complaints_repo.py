"""Every SQL statement about complaints, recipients, holidays and claims of scheduled work."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.complaint_models import Complaint, ComplaintEvent, ComplaintMedia, Holiday, JobClaim
from storage.models import Opd, Recipient, Unit
from survey_flows.complaints import (
    OPEN_STATUSES,
    Action,
    Actor,
    ComplaintKind,
    ComplaintStatus,
    ComplaintView,
)
from survey_flows.types import FileComplaint

JOB_CLAIMS: Table = JobClaim.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class ComplaintRecord:
    """A complaint as officers and jobs handle it (never carries the citizen's platform id)."""

    id: int
    ticket: str
    unit_code: str
    unit_name: str
    opd_id: int
    opd_code: str
    contact_id: int | None
    channel: str
    kind: ComplaintKind
    description: str
    location: tuple[float, float] | None
    anonymous: bool
    confidential: bool
    language: str
    status: ComplaintStatus
    created_at: datetime
    verify_by: datetime
    answer_by: datetime
    answered_at: datetime | None
    reopen_until: datetime | None
    photos: int


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


# --- citizens' complaints ----------------------------------------------------------------------


async def insert_complaint(
    session: AsyncSession, filed: FileComplaint, *, contact_id: int, channel: str
) -> int:
    unit = (
        await session.execute(select(Unit.id, Unit.opd_id).where(Unit.code == filed.unit_code))
    ).one()
    row = Complaint(
        ticket=filed.ticket,
        unit_id=unit.id,
        opd_id=unit.opd_id,
        contact_id=contact_id,
        channel=channel,
        kind=filed.kind,
        description=filed.description,
        latitude=filed.location[0] if filed.location else None,
        longitude=filed.location[1] if filed.location else None,
        anonymous=filed.anonymous,
        confidential=filed.confidential,
        language=filed.language,
        status=ComplaintStatus.DITERIMA.value,
        created_at=filed.filed_at,
        updated_at=filed.filed_at,
        verify_by=filed.verify_by,
        answer_by=filed.answer_by,
    )
    session.add(row)
    await session.flush()
    session.add_all(
        ComplaintMedia(complaint_id=row.id, channel=channel, media_ref=ref[:300], position=i)
        for i, ref in enumerate(filed.photos)
    )
    session.add(
        ComplaintEvent(
            complaint_id=row.id,
            at=filed.filed_at,
            actor=Actor.CITIZEN.value,
            action="file",
            from_status=None,
            to_status=ComplaintStatus.DITERIMA.value,
        )
    )
    await session.flush()
    return row.id


def _complaints_of_contact_query() -> Any:
    complaints: Any = Complaint.__table__
    units: Any = Unit.__table__
    return (
        select(
            complaints.c.ticket,
            units.c.name,
            complaints.c.kind,
            complaints.c.status,
            complaints.c.created_at,
            complaints.c.verify_by,
            complaints.c.answer_by,
            complaints.c.last_answer,
            complaints.c.reopen_until,
            complaints.c.rating,
        )
        .join(units, units.c.id == complaints.c.unit_id)
        .where(complaints.c.contact_id == bindparam("contact_id"))
        .order_by(complaints.c.created_at.desc())
        .limit(20)
    )


# Built once: this runs on most inbound messages (see storage.repository._HotStatements).
_COMPLAINTS_OF_CONTACT = _complaints_of_contact_query()


async def complaints_of_contact(
    session: AsyncSession, contact_id: int
) -> tuple[ComplaintView, ...]:
    """The contact's own complaints, newest first (what /status may show them)."""
    connection = await session.connection()
    rows = await connection.execute(_COMPLAINTS_OF_CONTACT, {"contact_id": contact_id})
    return tuple(
        ComplaintView(
            ticket=r.ticket,
            unit_name=r.name,
            kind=ComplaintKind(r.kind),
            status=ComplaintStatus(r.status),
            filed_at=r.created_at,
            verify_by=r.verify_by,
            answer_by=r.answer_by,
            last_answer=r.last_answer,
            reopen_until=r.reopen_until,
            rated=r.rating is not None,
        )
        for r in rows.all()
    )


async def load_complaint(
    session: AsyncSession, ticket: str, *, lock: bool = False
) -> ComplaintRecord | None:
    query = (
        select(Complaint, Unit.code, Unit.name, Opd.code)
        .join(Unit, Unit.id == Complaint.unit_id)
        .join(Opd, Opd.id == Complaint.opd_id)
        .where(Complaint.ticket == ticket)
    )
    if lock:
        query = query.with_for_update(of=Complaint)
    found = (await session.execute(query)).one_or_none()
    if found is None:
        return None
    c, unit_code, unit_name, opd_code = found
    photos = (
        await session.execute(select(ComplaintMedia.id).where(ComplaintMedia.complaint_id == c.id))
    ).all()
    return _record(c, unit_code, unit_name, opd_code, len(photos))


def _record(
    c: Complaint, unit_code: str, unit_name: str, opd_code: str, photos: int
) -> ComplaintRecord:
    location = (
        (c.latitude, c.longitude) if c.latitude is not None and c.longitude is not None else None
    )
    return ComplaintRecord(
        id=c.id,
        ticket=c.ticket,
        unit_code=unit_code,
        unit_name=unit_name,
        opd_id=c.opd_id,
        opd_code=opd_code,
        contact_id=c.contact_id,
        channel=c.channel,
        kind=ComplaintKind(c.kind),
        description=c.description,
        location=location,
        anonymous=c.anonymous,
        confidential=c.confidential,
        language=c.language,
        status=ComplaintStatus(c.status),
        created_at=c.created_at,
        verify_by=c.verify_by,
        answer_by=c.answer_by,
        answered_at=c.answered_at,
        reopen_until=c.reopen_until,
        photos=photos,
    )


async def record_transition(
    session: AsyncSession,
    complaint: ComplaintRecord,
    *,
    action: Action,
    actor: Actor,
    to: ComplaintStatus,
    at: datetime,
    recipient_id: int | None = None,
    note: str | None = None,
    reopen_until: datetime | None = None,
) -> None:
    """Move a complaint and write the audit row, in the caller's transaction."""
    row = await session.get(Complaint, complaint.id)
    assert row is not None
    row.status = to.value
    row.updated_at = at
    if action is Action.VERIFY:
        row.verified_at = at
    elif action is Action.ANSWER:
        row.answered_at = at
        row.last_answer = note
        row.reopen_until = reopen_until
    elif action is Action.REJECT:
        row.rejection_reason = note
        row.closed_at = at
    elif action is Action.FINISH:
        row.closed_at = at
        row.reopen_until = reopen_until or row.reopen_until
    elif action is Action.REOPEN:
        row.closed_at = None
        row.rating = None
        row.rated_at = None
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            at=at,
            actor=actor.value,
            recipient_id=recipient_id,
            action=action.value,
            from_status=complaint.status.value,
            to_status=to.value,
            note=note,
        )
    )
    await session.flush()


async def rate_complaint(session: AsyncSession, ticket: str, good: bool, at: datetime) -> bool:
    """Record the citizen's verdict once; False when already rated or not finished."""
    row = (
        await session.execute(select(Complaint).where(Complaint.ticket == ticket))
    ).scalar_one_or_none()
    if row is None or row.rating is not None or row.status != ComplaintStatus.SELESAI.value:
        return False
    row.rating = 1 if good else 0
    row.rated_at = at
    session.add(
        ComplaintEvent(
            complaint_id=row.id,
            at=at,
            actor=Actor.CITIZEN.value,
            action="rate",
            from_status=row.status,
            to_status=row.status,
            note="good" if good else "poor",
        )
    )
    await session.flush()
    return True


async def open_complaints(session: AsyncSession) -> list[ComplaintRecord]:
    """Complaints still in progress, for the deadline job."""
    rows = await session.execute(
        select(Complaint, Unit.code, Unit.name, Opd.code)
        .join(Unit, Unit.id == Complaint.unit_id)
        .join(Opd, Opd.id == Complaint.opd_id)
        .where(Complaint.status.in_([s.value for s in OPEN_STATUSES]))
        .order_by(Complaint.id)
    )
    return [_record(c, uc, un, oc, 0) for c, uc, un, oc in rows.all()]


async def complaint_events(session: AsyncSession, ticket: str) -> list[tuple[str, str | None, str]]:
    """(action, from, to) of a complaint's audit trail, oldest first."""
    rows = await session.execute(
        select(ComplaintEvent.action, ComplaintEvent.from_status, ComplaintEvent.to_status)
        .join(Complaint, Complaint.id == ComplaintEvent.complaint_id)
        .where(Complaint.ticket == ticket)
        .order_by(ComplaintEvent.id)
    )
    return [(a, f, t) for a, f, t in rows.all()]


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


async def recipients_of(
    session: AsyncSession, opd_id: int, roles: Iterable[str]
) -> list[RecipientRecord]:
    rows = await session.execute(
        select(Recipient, Opd.code)
        .join(Opd, Opd.id == Recipient.opd_id)
        .where(Recipient.opd_id == opd_id, Recipient.role.in_(list(roles)), Recipient.active)
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
