"""The complaint desk's storage: load a desk context once, and apply desk effects in one place.

Every path that touches a complaint reads the same: ``load_desk_context`` (or
``load_deadline_context`` for the daily job) -> a pure function of ``survey_flows.desk`` ->
``apply_desk_effects`` in the same transaction (moves and their audit rows, ratings, claims of
scheduled work, and the outbox rows of every notification).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, update

from storage import Tx
from storage.claims import claim_job
from storage.complaint_models import Complaint, ComplaintEvent, ComplaintMedia
from storage.directory import holidays, recipients_by_address
from storage.models import Opd, OutboxMessage, Recipient, Unit
from survey_flows.complaints import (
    OPEN_STATUSES,
    Action,
    Actor,
    ComplaintKind,
    ComplaintStatus,
    ComplaintView,
    find_ticket,
)
from survey_flows.desk import (
    ClaimOnce,
    DeadlineContext,
    DeskComplaint,
    DeskContext,
    DeskEffect,
    DeskUnit,
    InsertComplaint,
    MoveComplaint,
    NotifyCitizen,
    NotifyRecipient,
    RateComplaint,
    Staff,
)
from survey_flows.engine import FlowSettings
from survey_flows.types import FileComplaint
from survey_flows.workdays import WorkCalendar

COMPLAINTS: Any = Complaint.__table__
EVENTS: Any = ComplaintEvent.__table__
MEDIA: Any = ComplaintMedia.__table__
UNITS: Any = Unit.__table__
RECIPIENTS: Any = Recipient.__table__
OUTBOX: Any = OutboxMessage.__table__

# Citizens' notices go before staff notices; both after replies to the person who wrote.
CITIZEN_PRIORITY = 1
STAFF_PRIORITY = 2


class CalendarCache:
    """Holidays change once a year; re-read them at most every ``ttl_s``."""

    def __init__(self, ttl_s: float = 300.0) -> None:
        self.ttl_s = ttl_s
        self._value: WorkCalendar | None = None
        self._at = 0.0

    async def get(self, tx: Tx) -> WorkCalendar:
        if self._value is None or time.monotonic() - self._at > self.ttl_s:
            self._value = WorkCalendar.of(await holidays(tx))
            self._at = time.monotonic()
        return self._value


# --- loading -----------------------------------------------------------------------------------


def _complaints_query() -> Any:
    photos = (
        select(func.count())
        .select_from(MEDIA)
        .where(MEDIA.c.complaint_id == COMPLAINTS.c.id)
        .scalar_subquery()
    )
    return select(COMPLAINTS, UNITS.c.name.label("unit_name"), photos.label("photos")).join(
        UNITS, UNITS.c.id == COMPLAINTS.c.unit_id
    )


def _desk_complaint(row: Any) -> DeskComplaint:
    location = (
        (row.latitude, row.longitude)
        if row.latitude is not None and row.longitude is not None
        else None
    )
    return DeskComplaint(
        ticket=row.ticket,
        unit_name=row.unit_name,
        opd_id=row.opd_id,
        contact_id=row.contact_id,
        channel=row.channel,
        kind=row.kind,
        description=row.description,
        anonymous=row.anonymous,
        language=row.language,
        status=ComplaintStatus(row.status),
        verify_by=row.verify_by,
        answer_by=row.answer_by,
        answered_at=row.answered_at,
        reopen_until=row.reopen_until,
        photos=int(row.photos),
        location=location,
        rated=row.rating is not None,
    )


def _staff(row: Any) -> Staff:
    return Staff(row.id, row.opd_id, row.role, row.channel, row.language)


async def staff_of(tx: Tx, opd_ids: Iterable[int]) -> tuple[Staff, ...]:
    """The active registrations (officers and heads) of these OPDs."""
    wanted = sorted(set(opd_ids))
    if not wanted:
        return ()
    rows = await tx.connection.execute(
        select(RECIPIENTS)
        .where(RECIPIENTS.c.opd_id.in_(wanted), RECIPIENTS.c.active)
        .order_by(RECIPIENTS.c.id)
    )
    return tuple(_staff(r) for r in rows.all())


async def load_complaint(tx: Tx, ticket: str, *, lock: bool = False) -> DeskComplaint | None:
    """One complaint; with ``lock`` its row stays locked until the transaction ends
    (``FOR UPDATE`` on PostgreSQL; SQLite has one writer at a time anyway)."""
    query = _complaints_query().where(COMPLAINTS.c.ticket == ticket)
    if lock:
        query = query.with_for_update(of=COMPLAINTS)
    row = (await tx.connection.execute(query)).one_or_none()
    return _desk_complaint(row) if row is not None else None


async def quoted_ticket(
    tx: Tx, channel: str, platform_message_id: str, recipient_ids: Sequence[int]
) -> str | None:
    """The ticket of the complaint notification with this platform id, sent to one of these
    registrations (a reply on WhatsApp names only the message it quotes)."""
    if not recipient_ids:
        return None
    row = (
        await tx.connection.execute(
            select(OUTBOX.c.dedupe_key, OUTBOX.c.payload)
            .where(
                OUTBOX.c.platform_message_id == platform_message_id,
                OUTBOX.c.channel == channel,
                OUTBOX.c.recipient_id.in_(list(recipient_ids)),
            )
            .order_by(OUTBOX.c.id.desc())
            .limit(1)
        )
    ).one_or_none()
    if row is None:
        return None
    # Staff notices are keyed "r<recipient>:<notice>:<ticket>...": the key names the ticket.
    payload = row.payload if isinstance(row.payload, dict) else {}
    return find_ticket(row.dedupe_key) or find_ticket(str(payload.get("text", "")))


async def load_desk_context(
    tx: Tx,
    *,
    now: datetime,
    settings: FlowSettings,
    calendar: WorkCalendar,
    channel: str,
    language: str = "id",
    contact_id: int | None = None,
    address: str | None = None,
    phone: str | None = None,
    ticket: str | None = None,
    unit_code: str | None = None,
    quoted_ref: str | None = None,
) -> DeskContext:
    """Everything one desk step needs, read once; the complaint is locked for the step.

    ``address``: the sender's chat address, whose staff registrations are loaded (with
    ``phone``, the WhatsApp number the payload showed, for staff registered by phone).
    ``quoted_ref``: the platform id of a message the sender's text replies to.
    """
    sender: tuple[Staff, ...] = ()
    if address is not None:
        sender = tuple(
            Staff(r.id, r.opd_id, r.role, r.channel, r.language)
            for r in await recipients_by_address(tx, channel, address, phone=phone)
        )
    found_quote = None
    if ticket is None and quoted_ref is not None and sender:
        found_quote = await quoted_ticket(tx, channel, quoted_ref, [s.id for s in sender])
    wanted = ticket or found_quote
    complaint = await load_complaint(tx, wanted, lock=True) if wanted else None
    unit = None
    if unit_code is not None:
        found = (
            await tx.connection.execute(
                select(UNITS.c.code, UNITS.c.name, UNITS.c.opd_id).where(UNITS.c.code == unit_code)
            )
        ).one_or_none()
        unit = DeskUnit(found.code, found.name, found.opd_id) if found is not None else None
    opd_id = complaint.opd_id if complaint else unit.opd_id if unit else None
    return DeskContext(
        now=now,
        settings=settings,
        calendar=calendar,
        channel=channel,
        language=language,
        contact_id=contact_id,
        sender=sender,
        complaint=complaint,
        unit=unit,
        staff=await staff_of(tx, [opd_id]) if opd_id is not None else (),
        quoted_ticket=found_quote,
    )


async def load_deadline_context(
    tx: Tx, *, now: datetime, settings: FlowSettings, calendar: WorkCalendar
) -> DeadlineContext:
    """The open complaints (unlocked: each move re-checks its status) and their OPDs' staff."""
    rows = await tx.connection.execute(
        _complaints_query()
        .where(COMPLAINTS.c.status.in_([s.value for s in OPEN_STATUSES]))
        .order_by(COMPLAINTS.c.id)
    )
    complaints = tuple(_desk_complaint(r) for r in rows.all())
    staff = await staff_of(tx, (c.opd_id for c in complaints))
    return DeadlineContext(now, settings, calendar, complaints, staff)


# --- applying ----------------------------------------------------------------------------------


async def apply_desk_effects(tx: Tx, effects: Iterable[DeskEffect], now: datetime) -> set[str]:
    """Apply desk effects in order, in the caller's transaction; returns the channels with
    newly queued notifications (to wake their senders after the commit)."""
    wake: set[str] = set()
    for effect in effects:
        if isinstance(effect, InsertComplaint):
            await insert_complaint(tx, effect.filed, contact_id=effect.contact_id,
                                   channel=effect.channel)  # fmt: skip
        elif isinstance(effect, MoveComplaint):
            if await move_complaint(tx, effect):
                wake |= await apply_desk_effects(tx, effect.then, now)
        elif isinstance(effect, RateComplaint):
            await rate_complaint(tx, effect.ticket, effect.good, effect.at)
        elif isinstance(effect, ClaimOnce):
            if await claim_job(tx, effect.kind, effect.target, effect.period, effect.at):
                wake |= await apply_desk_effects(tx, effect.then, now)
        elif isinstance(effect, NotifyRecipient | NotifyCitizen) and await _notify(tx, effect, now):
            wake.add(effect.channel)
    return wake


async def _notify(tx: Tx, notice: NotifyRecipient | NotifyCitizen, now: datetime) -> bool:
    """Queue a notice; False when its dedupe key was queued before (a re-run, a redelivery)."""
    to_staff = isinstance(notice, NotifyRecipient)
    queued = await tx.enqueue(
        channel=notice.channel,
        messages=[("message", m.to_json()) for m in notice.messages],
        dedupe_prefix=notice.dedupe_key,
        now=now,
        recipient_id=notice.recipient_id if isinstance(notice, NotifyRecipient) else None,
        contact_id=notice.contact_id if isinstance(notice, NotifyCitizen) else None,
        priority=STAFF_PRIORITY if to_staff else CITIZEN_PRIORITY,
    )
    return bool(queued)


async def insert_complaint(tx: Tx, filed: FileComplaint, *, contact_id: int, channel: str) -> int:
    """A new complaint, its photos and its first audit row."""
    connection = tx.connection
    unit = (
        await connection.execute(
            select(UNITS.c.id, UNITS.c.opd_id).where(UNITS.c.code == filed.unit_code)
        )
    ).one()
    complaint_id = (
        await connection.execute(
            insert(COMPLAINTS)
            .values(
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
            .returning(COMPLAINTS.c.id)
        )
    ).scalar_one()
    if filed.photos:
        await connection.execute(
            insert(MEDIA),
            [
                {
                    "complaint_id": complaint_id,
                    "channel": channel,
                    "media_ref": ref[:300],
                    "position": i,
                }
                for i, ref in enumerate(filed.photos)
            ],  # fmt: skip
        )
    await _audit(tx, complaint_id, filed.filed_at, Actor.CITIZEN, "file", None,
                 ComplaintStatus.DITERIMA)  # fmt: skip
    return int(complaint_id)


async def _audit(
    tx: Tx,
    complaint_id: int,
    at: datetime,
    actor: Actor,
    action: str,
    from_status: ComplaintStatus | None,
    to: ComplaintStatus,
    *,
    recipient_id: int | None = None,
    note: str | None = None,
) -> None:
    await tx.connection.execute(
        insert(EVENTS).values(
            complaint_id=complaint_id,
            at=at,
            actor=actor.value,
            recipient_id=recipient_id,
            action=action,
            from_status=from_status.value if from_status else None,
            to_status=to.value,
            note=note,
        )
    )


def _move_values(move: MoveComplaint) -> dict[str, Any]:
    values: dict[str, Any] = {"status": move.to.value, "updated_at": move.at}
    if move.action is Action.VERIFY:
        values["verified_at"] = move.at
    elif move.action is Action.ANSWER:
        values.update(answered_at=move.at, last_answer=move.note, reopen_until=move.reopen_until)
    elif move.action is Action.REJECT:
        values.update(rejection_reason=move.note, closed_at=move.at)
    elif move.action is Action.FINISH:
        values["closed_at"] = move.at
        if move.reopen_until is not None:
            values["reopen_until"] = move.reopen_until
    elif move.action is Action.REOPEN:
        values.update(closed_at=None, rating=None, rated_at=None)
    return values


async def move_complaint(tx: Tx, move: MoveComplaint) -> bool:
    """Move a complaint still in ``move.from_status`` and write the audit row; False (nothing
    written) when it has moved on meanwhile."""
    complaint_id = (
        await tx.connection.execute(
            update(COMPLAINTS)
            .where(
                COMPLAINTS.c.ticket == move.ticket,
                COMPLAINTS.c.status == move.from_status.value,
            )
            .values(**_move_values(move))
            .returning(COMPLAINTS.c.id)
        )
    ).scalar_one_or_none()
    if complaint_id is None:
        return False
    await _audit(tx, complaint_id, move.at, move.actor, move.action.value, move.from_status,
                 move.to, recipient_id=move.recipient_id, note=move.note)  # fmt: skip
    return True


async def rate_complaint(tx: Tx, ticket: str, good: bool, at: datetime) -> bool:
    """Record the citizen's verdict once; False when already rated or not finished."""
    complaint_id = (
        await tx.connection.execute(
            update(COMPLAINTS)
            .where(
                COMPLAINTS.c.ticket == ticket,
                COMPLAINTS.c.status == ComplaintStatus.SELESAI.value,
                COMPLAINTS.c.rating.is_(None),
            )
            .values(rating=1 if good else 0, rated_at=at)
            .returning(COMPLAINTS.c.id)
        )
    ).scalar_one_or_none()
    if complaint_id is None:
        return False
    done = ComplaintStatus.SELESAI
    await _audit(tx, complaint_id, at, Actor.CITIZEN, "rate", done, done,
                 note="good" if good else "poor")  # fmt: skip
    return True


# --- reading for citizens and tests ------------------------------------------------------------


def _complaints_of_contact_query() -> Any:
    return (
        select(
            COMPLAINTS.c.ticket,
            UNITS.c.name,
            COMPLAINTS.c.kind,
            COMPLAINTS.c.status,
            COMPLAINTS.c.created_at,
            COMPLAINTS.c.verify_by,
            COMPLAINTS.c.answer_by,
            COMPLAINTS.c.last_answer,
            COMPLAINTS.c.reopen_until,
            COMPLAINTS.c.rating,
        )
        .join(UNITS, UNITS.c.id == COMPLAINTS.c.unit_id)
        .where(COMPLAINTS.c.contact_id == bindparam("contact_id"))
        .order_by(COMPLAINTS.c.created_at.desc())
        .limit(20)
    )


# Built once: this runs on most inbound messages (see storage.statements.HotStatements).
_COMPLAINTS_OF_CONTACT = _complaints_of_contact_query()


async def complaints_of_contact(tx: Tx, contact_id: int) -> tuple[ComplaintView, ...]:
    """The contact's own complaints, newest first (what /status may show them)."""
    rows = await tx.connection.execute(_COMPLAINTS_OF_CONTACT, {"contact_id": contact_id})
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


async def complaint_events(tx: Tx, ticket: str) -> list[tuple[str, str | None, str]]:
    """(action, from, to) of a complaint's audit trail, oldest first."""
    rows = await tx.connection.execute(
        select(EVENTS.c.action, EVENTS.c.from_status, EVENTS.c.to_status)
        .join(COMPLAINTS, COMPLAINTS.c.id == EVENTS.c.complaint_id)
        .where(COMPLAINTS.c.ticket == ticket)
        .order_by(EVENTS.c.id)
    )
    return [(a, f, t) for a, f, t in rows.all()]


# --- the read side: digests and recaps ----------------------------------------------------------


async def opd_complaint_counts(
    tx: Tx, opd_code: str, start: datetime, end: datetime, now: datetime
) -> tuple[int, int, int]:
    """(received in [start, end), open now, overdue now) for one OPD, in one query."""
    open_statuses = [s.value for s in OPEN_STATUSES]
    overdue = or_(
        and_(Complaint.status == ComplaintStatus.DITERIMA.value, Complaint.verify_by < now),
        and_(Complaint.status == ComplaintStatus.DIVERIFIKASI.value, Complaint.answer_by < now),
    )
    row = (
        await tx.session.execute(
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
    tx: Tx, start: datetime, end: datetime, opd_code: str | None = None
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
        for c, unit, opd in (await tx.session.execute(query)).all()
    ]
