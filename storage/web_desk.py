"""The web complaint desk's reads (issue 16): an OPD's complaints, one complaint with its
photos and history, and the chat address of a signed-in officer (the desk loads their
registrations by it, exactly as for a chat message). Changes go through
``storage.complaints.load_desk_context`` and ``apply_desk_effects`` like the chat's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from storage.base import TxBase
from storage.complaint_models import Complaint, ComplaintEvent, ComplaintMedia
from storage.models import Opd, Recipient, Unit
from survey_flows.complaints import OPEN_STATUSES, ComplaintStatus

DESK_LIMIT = 500  # the first this many in the desk's order; a desk is read, not archived


@dataclass(frozen=True, slots=True)
class DeskRow:
    ticket: str
    unit_code: str
    unit_name: str
    kind: str
    status: ComplaintStatus
    created_at: datetime
    verify_by: datetime
    answer_by: datetime
    anonymous: bool
    photos: int
    located: bool


@dataclass(frozen=True, slots=True)
class DeskEvent:
    at: datetime
    actor: str  # citizen, officer, head, system
    by: str | None  # the officer's or head's name (never a citizen's identity)
    action: str
    from_status: str | None
    to_status: str
    note: str | None


@dataclass(frozen=True, slots=True)
class DeskPhoto:
    channel: str
    position: int


@dataclass(frozen=True, slots=True)
class DeskDetail:
    ticket: str
    opd_code: str
    opd_name: str
    unit_code: str
    unit_name: str
    channel: str
    kind: str
    description: str
    anonymous: bool
    confidential: bool
    status: ComplaintStatus
    created_at: datetime
    verify_by: datetime
    answer_by: datetime
    latitude: float | None
    longitude: float | None
    last_answer: str | None
    rejection_reason: str | None
    photos: tuple[DeskPhoto, ...]
    events: tuple[DeskEvent, ...]


def overdue_clause(now: datetime) -> Any:
    """Complaints whose current limit has run out at ``now``."""
    return or_(
        and_(Complaint.status == ComplaintStatus.DITERIMA.value, Complaint.verify_by <= now),
        and_(Complaint.status == ComplaintStatus.DIVERIFIKASI.value, Complaint.answer_by <= now),
    )


async def opd_units(tx: TxBase, opd_code: str) -> list[tuple[str, str]]:
    """(code, name) of the OPD's units, in the directory's order."""
    rows = await tx.session.execute(
        select(Unit.code, Unit.name)
        .join(Opd, Opd.id == Unit.opd_id)
        .where(Opd.code == opd_code)
        .order_by(Unit.position, Unit.code)
    )
    return [(code, name) for code, name in rows.all()]


async def opd_name(tx: TxBase, opd_code: str) -> str | None:
    return await tx.session.scalar(select(Opd.name).where(Opd.code == opd_code))


async def desk_rows(
    tx: TxBase,
    opd_code: str,
    *,
    statuses: tuple[ComplaintStatus, ...] | None,
    unit_code: str | None,
    overdue_at: datetime | None,
) -> list[DeskRow]:
    """The OPD's complaints matching the filter (at most :data:`DESK_LIMIT`): those with a
    running limit by it, so the overdue come first, the longest overdue on top, then the
    nearest limit; then the others (answered, closed), newest first."""
    photos = (
        select(func.count())
        .select_from(ComplaintMedia)
        .where(ComplaintMedia.complaint_id == Complaint.id)
        .scalar_subquery()
    )
    due = case(
        (Complaint.status == ComplaintStatus.DITERIMA.value, Complaint.verify_by),
        (Complaint.status == ComplaintStatus.DIVERIFIKASI.value, Complaint.answer_by),
        else_=None,
    )
    query = (
        select(Complaint, Unit.code, Unit.name, photos)
        .join(Unit, Unit.id == Complaint.unit_id)
        .join(Opd, Opd.id == Complaint.opd_id)
        .where(Opd.code == opd_code)
        .order_by(due.is_(None), due, Complaint.created_at.desc(), Complaint.id.desc())
        .limit(DESK_LIMIT)
    )
    if statuses is not None:
        query = query.where(Complaint.status.in_([s.value for s in statuses]))
    if unit_code is not None:
        query = query.where(Unit.code == unit_code)
    if overdue_at is not None:
        query = query.where(overdue_clause(overdue_at))
    return [
        DeskRow(
            c.ticket,
            unit_code_,
            unit_name,
            c.kind,
            ComplaintStatus(c.status),
            c.created_at,
            c.verify_by,
            c.answer_by,
            c.anonymous,
            int(count),
            c.latitude is not None and c.longitude is not None,
        )  # fmt: skip
        for c, unit_code_, unit_name, count in (await tx.session.execute(query)).all()
    ]


async def desk_opds(tx: TxBase, now: datetime) -> list[tuple[str, str, int, int]]:
    """(code, name, open, overdue) of every active OPD: the admin's way into each desk."""
    open_values = [s.value for s in OPEN_STATUSES]
    rows = await tx.session.execute(
        select(
            Opd.code,
            Opd.name,
            func.count(Complaint.id).filter(Complaint.status.in_(open_values)),
            func.count(Complaint.id).filter(overdue_clause(now)),
        )
        .outerjoin(Complaint, Complaint.opd_id == Opd.id)
        .where(Opd.active)
        .group_by(Opd.id, Opd.code, Opd.name, Opd.position)
        .order_by(Opd.position, Opd.code)
    )
    return [(code, name, int(o), int(d)) for code, name, o, d in rows.all()]


async def desk_detail(tx: TxBase, ticket: str) -> DeskDetail | None:
    """One complaint with its photos and history, or None when no such ticket exists."""
    found = (
        await tx.session.execute(
            select(Complaint, Unit.code, Unit.name, Opd.code, Opd.name)
            .join(Unit, Unit.id == Complaint.unit_id)
            .join(Opd, Opd.id == Complaint.opd_id)
            .where(Complaint.ticket == ticket)
        )
    ).one_or_none()
    if found is None:
        return None
    c, unit_code, unit_name, opd_code, opd_name_ = found
    photos = await tx.session.execute(
        select(ComplaintMedia.channel, ComplaintMedia.position)
        .where(ComplaintMedia.complaint_id == c.id)
        .order_by(ComplaintMedia.position)
    )
    events = await tx.session.execute(
        select(ComplaintEvent, Recipient.name)
        .outerjoin(Recipient, Recipient.id == ComplaintEvent.recipient_id)
        .where(ComplaintEvent.complaint_id == c.id)
        .order_by(ComplaintEvent.at, ComplaintEvent.id)
    )
    return DeskDetail(
        ticket=c.ticket,
        opd_code=opd_code,
        opd_name=opd_name_,
        unit_code=unit_code,
        unit_name=unit_name,
        channel=c.channel,
        kind=c.kind,
        description=c.description,
        anonymous=c.anonymous,
        confidential=c.confidential,
        status=ComplaintStatus(c.status),
        created_at=c.created_at,
        verify_by=c.verify_by,
        answer_by=c.answer_by,
        latitude=c.latitude,
        longitude=c.longitude,
        last_answer=c.last_answer,
        rejection_reason=c.rejection_reason,
        photos=tuple(DeskPhoto(channel, position) for channel, position in photos.all()),
        events=tuple(
            DeskEvent(e.at, e.actor, name, e.action, e.from_status, e.to_status, e.note)
            for e, name in events.all()
        ),
    )


async def staff_address(tx: TxBase, recipient_id: int) -> tuple[str, str] | None:
    """(channel, address) of an active registration: the desk loads the person's
    registrations by it, as it does for their chat messages."""
    row = (
        await tx.session.execute(
            select(Recipient.channel, Recipient.address).where(
                Recipient.id == recipient_id, Recipient.active
            )
        )
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def photo_ref(tx: TxBase, ticket: str, position: int) -> tuple[str, str] | None:
    """(channel, platform file reference) of a complaint's photo (0-based position)."""
    row = (
        await tx.session.execute(
            select(ComplaintMedia.channel, ComplaintMedia.media_ref)
            .join(Complaint, Complaint.id == ComplaintMedia.complaint_id)
            .where(Complaint.ticket == ticket, ComplaintMedia.position == position)
        )
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None
