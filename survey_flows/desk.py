"""The complaint desk: what officers, heads, citizens and the daily job do to complaints. Pure.

Every function takes a context that storage loaded once (``storage.complaints``) and returns
effects (data) and replies; ``storage.complaints.apply_desk_effects`` turns the effects into SQL
and outbox rows in the caller's transaction. Time is a parameter (``ctx.now``).

Who does what: staff act only on complaints of the OPDs they are registered for. In an OPD with
at least one active officer, answering the citizen is the officers' work; the head verifies,
rejects and finishes (and receives escalations). In an OPD without officers the head does
everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from survey_flows.catalog import text
from survey_flows.complaints import (
    Action,
    Actor,
    ComplaintStatus,
    due_tomorrow,
    reopen_deadline,
    transition,
)
from survey_flows.dates import deadline_words
from survey_flows.engine import FlowSettings
from survey_flows.officer import (
    OFFICER_TOKEN,
    OfficerRequest,
    citizen_notice,
    new_complaint_message,
    officer_buttons,
    reason_prompt,
)
from survey_flows.types import CitizenComplaintAction, FileComplaint, Outbound
from survey_flows.workdays import WorkCalendar

OFFICER = "officer"
HEAD = "head"
AUTO_FINISH_NOTE = "no reply from the citizen"


# --- what storage loads ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Staff:
    """One active registration of an officer or head for an OPD (never their chat address)."""

    id: int
    opd_id: int
    role: str  # OFFICER or HEAD
    channel: str
    language: str = "id"


@dataclass(frozen=True, slots=True)
class DeskComplaint:
    """A complaint as the desk sees it (never the citizen's platform id)."""

    ticket: str
    unit_name: str
    opd_id: int
    contact_id: int | None  # None once the citizen erased their data: nobody to notify
    channel: str
    kind: str
    description: str
    anonymous: bool
    language: str
    status: ComplaintStatus
    verify_by: datetime
    answer_by: datetime
    answered_at: datetime | None = None
    reopen_until: datetime | None = None
    photos: int = 0
    location: tuple[float, float] | None = None
    rated: bool = False


@dataclass(frozen=True, slots=True)
class DeskUnit:
    """The unit a new complaint is filed against, and its OPD."""

    code: str
    name: str
    opd_id: int


@dataclass(frozen=True, slots=True)
class DeskContext:
    """Everything one desk step may know; loaded once, the complaint locked for the step."""

    now: datetime
    settings: FlowSettings
    calendar: WorkCalendar
    channel: str = "console"  # the one the sender wrote on
    language: str = "id"  # the sender's, as their contact knows it
    contact_id: int | None = None  # the sender's contact
    sender: tuple[Staff, ...] = ()  # the sender's registrations (empty: a citizen)
    complaint: DeskComplaint | None = None
    unit: DeskUnit | None = None  # for a new complaint
    staff: tuple[Staff, ...] = ()  # the active registrations of the complaint's (unit's) OPD
    quoted_ticket: str | None = None  # the ticket of the notification a reply quotes


@dataclass(frozen=True, slots=True)
class DeadlineContext:
    """What the daily job sees: the open complaints and the staff of their OPDs."""

    now: datetime
    settings: FlowSettings
    calendar: WorkCalendar
    complaints: tuple[DeskComplaint, ...]
    staff: tuple[Staff, ...]


# --- effects -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NotifyRecipient:
    """Queue messages to a registered officer or head; the dedupe key makes it once only."""

    recipient_id: int
    channel: str
    messages: tuple[Outbound, ...]
    dedupe_key: str


@dataclass(frozen=True, slots=True)
class NotifyCitizen:
    """Queue messages to the citizen who filed a complaint."""

    contact_id: int
    channel: str
    messages: tuple[Outbound, ...]
    dedupe_key: str


@dataclass(frozen=True, slots=True)
class InsertComplaint:
    """Store a new complaint (its photos and its first audit row)."""

    filed: FileComplaint
    contact_id: int
    channel: str


@dataclass(frozen=True, slots=True)
class MoveComplaint:
    """Move a complaint from ``from_status`` and write its audit row.

    Applied only if the complaint is still in ``from_status``; ``then`` runs only if it moved
    (the daily job reads without locking: a citizen may have reopened meanwhile).
    """

    ticket: str
    action: Action
    actor: Actor
    from_status: ComplaintStatus
    to: ComplaintStatus
    at: datetime
    recipient_id: int | None = None
    note: str | None = None
    reopen_until: datetime | None = None
    then: tuple[NotifyRecipient | NotifyCitizen, ...] = ()


@dataclass(frozen=True, slots=True)
class RateComplaint:
    """The citizen's verdict on a finished complaint (recorded once)."""

    ticket: str
    good: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class ClaimOnce:
    """Run ``then`` only for the first claim of (kind, target, period), across processes."""

    kind: str
    target: str
    period: str
    at: datetime
    then: tuple[DeskEffect, ...]


DeskEffect = (
    InsertComplaint | MoveComplaint | RateComplaint | NotifyRecipient | NotifyCitizen | ClaimOnce
)


@dataclass(frozen=True, slots=True)
class DeskResult:
    """Effects to apply, and replies to the person who acted."""

    effects: tuple[DeskEffect, ...] = ()
    replies: tuple[Outbound, ...] = ()


def _say(language: str, key: str, **values: object) -> DeskResult:
    return DeskResult(replies=(Outbound(text(language, key, **values), language=language),))


def _officers(staff: tuple[Staff, ...], opd_id: int) -> list[Staff]:
    return [s for s in staff if s.opd_id == opd_id and s.role == OFFICER]


def _heads(staff: tuple[Staff, ...], opd_id: int) -> list[Staff]:
    return [s for s in staff if s.opd_id == opd_id and s.role == HEAD]


def _may_answer(person: Staff, staff: tuple[Staff, ...]) -> bool:
    """Officers answer citizens; a head does only where the OPD has no officer."""
    return person.role == OFFICER or not _officers(staff, person.opd_id)


# --- officers and heads ------------------------------------------------------------------------


def officer_step(ctx: DeskContext, request: OfficerRequest | None) -> DeskResult | None:
    """An officer's or head's action, authorised against their registrations.

    None when the message is not for the desk: someone who is not staff replying to (quoting)
    a message is having a normal conversation.
    """
    if request is None:
        return None
    if not ctx.sender:
        if request.quoted:
            return None
        return _say(ctx.language, "officer.not_staff")
    language = ctx.sender[0].language
    if request.ticket is None:
        return _say(language, "officer.usage")
    complaint = ctx.complaint
    mine = [r for r in ctx.sender if complaint is not None and r.opd_id == complaint.opd_id]
    if complaint is None or not mine:
        # Unknown, or another OPD's: the same answer reveals nothing about other tickets.
        return _say(language, "officer.not_yours", ticket=request.ticket)
    answering = request.ask == "answer" or request.action is Action.ANSWER
    # The registration the person acts under: a head's where they have one, except for
    # answering, which is an officer's work when the OPD has officers.
    ordered = sorted(mine, key=lambda r: (r.role == OFFICER) != answering)
    acting = ordered[0]
    if answering and not _may_answer(acting, ctx.staff):
        count = len(_officers(ctx.staff, complaint.opd_id))
        return _say(language, "officer.answer.officers_only", ticket=complaint.ticket, count=count)
    if request.ask == "answer":
        return _say(language, "officer.answer.how", ticket=complaint.ticket)
    if request.ask == "reason":
        return DeskResult(replies=(reason_prompt(complaint.ticket, language),))
    if request.action is None:
        return _say(language, "officer.usage")
    limit = ctx.settings.complaint_max_chars
    if request.action is Action.ANSWER and request.note and len(request.note) > limit:
        # Cut nothing silently: the citizen must read the whole answer (WhatsApp's 4,096).
        return _say(
            language,
            "officer.answer.too_long",
            ticket=complaint.ticket,
            length=len(request.note),
            max=limit,
        )
    actor = Actor.HEAD if acting.role == HEAD else Actor.OFFICER
    moved = transition(complaint.status, request.action, actor, note=request.note)
    if moved.to is None:
        return _say(language, moved.error or "complaint.error.state")
    reopen_until = None
    if request.action in {Action.ANSWER, Action.FINISH}:
        reopen_until = reopen_deadline(
            ctx.now, ctx.calendar, ctx.settings.complaint_limits, ctx.settings.timezone
        )
    move = MoveComplaint(
        ticket=complaint.ticket,
        action=request.action,
        actor=actor,
        from_status=complaint.status,
        to=moved.to,
        at=ctx.now,
        recipient_id=acting.id,
        note=request.note,
        reopen_until=reopen_until,
        then=_tell_citizen(ctx, complaint, moved.to, request.note, reopen_until),
    )
    status = text(language, f"complaint.state.{moved.to.value}")
    done = Outbound(
        text(language, "officer.done", ticket=complaint.ticket, status=status),
        officer_buttons(
            complaint.ticket, moved.to, language, may_answer=_may_answer(acting, ctx.staff)
        ),
        OFFICER_TOKEN,
        language=language,
    )
    return DeskResult(effects=(move,), replies=(done,))


def desk_actions(ctx: DeskContext) -> tuple[str, ...]:
    """What the sender may do to the loaded complaint now, as the chat's buttons offer it
    (``verify``, ``reject``, ``answer``, ``finish``): the web console shows the same."""
    complaint = ctx.complaint
    if complaint is None:
        return ()
    mine = [r for r in ctx.sender if r.opd_id == complaint.opd_id]
    if not mine:
        return ()
    may_answer = any(_may_answer(r, ctx.staff) for r in mine)
    buttons = officer_buttons(complaint.ticket, complaint.status, "id", may_answer=may_answer)
    return tuple(choice.id.split(":")[1] for choice in buttons)


def _tell_citizen(
    ctx: DeskContext | DeadlineContext,
    complaint: DeskComplaint,
    status: ComplaintStatus,
    note: str | None,
    reopen_until: datetime | None,
) -> tuple[NotifyCitizen, ...]:
    if complaint.contact_id is None:  # the citizen erased their data
        return ()
    messages = citizen_notice(
        ticket=complaint.ticket,
        unit=complaint.unit_name,
        status=status,
        note=note,
        language=complaint.language,
        reopen_until=reopen_until,
        zone=ctx.settings.timezone,
    )
    key = f"complaint:{complaint.ticket}:{status.value}:{ctx.now.isoformat()}"
    return (NotifyCitizen(complaint.contact_id, complaint.channel, tuple(messages), key),)


# --- citizens ----------------------------------------------------------------------------------


def filed_notices(ctx: DeskContext, filed: FileComplaint) -> DeskResult:
    """Store a new complaint and tell the OPD's officers (its head when it has none)."""
    assert ctx.unit is not None and ctx.contact_id is not None, "load the unit and the contact"
    insert = InsertComplaint(filed, ctx.contact_id, ctx.channel)
    opd_id = ctx.unit.opd_id
    recipients = _officers(ctx.staff, opd_id) or _heads(ctx.staff, opd_id)
    notices = tuple(
        NotifyRecipient(
            person.id,
            person.channel,
            (
                new_complaint_message(
                    ticket=filed.ticket,
                    unit=ctx.unit.name,
                    kind=filed.kind,
                    description=filed.description,
                    anonymous=filed.anonymous,
                    channel=insert.channel,
                    photos=len(filed.photos),
                    location=filed.location,
                    verify_by=filed.verify_by,
                    zone=ctx.settings.timezone,
                    language=person.language,
                ),
            ),
            f"r{person.id}:new:{filed.ticket}",
        )
        for person in recipients
    )
    return DeskResult(effects=(insert, *notices))


def citizen_step(ctx: DeskContext, action: CitizenComplaintAction) -> DeskResult:
    """The citizen rates a finished complaint, or reopens it within the limit.

    Only the citizen who filed it may: anything else changes nothing.
    """
    complaint = ctx.complaint
    if complaint is None or ctx.contact_id is None or complaint.contact_id != ctx.contact_id:
        return DeskResult()
    if action.action in {"rate_good", "rate_poor"}:
        if complaint.status is not ComplaintStatus.SELESAI or complaint.rated:
            return DeskResult()
        return DeskResult(effects=(RateComplaint(complaint.ticket, action.action == "rate_good",
                                                 ctx.now),))  # fmt: skip
    if action.action != "reopen":
        return DeskResult()
    moved = transition(
        complaint.status,
        Action.REOPEN,
        Actor.CITIZEN,
        reopen_until=complaint.reopen_until,
        now=ctx.now,
    )
    if moved.to is None:
        return DeskResult()
    notices = tuple(
        NotifyRecipient(
            person.id,
            person.channel,
            (
                Outbound(
                    text(
                        person.language,
                        "officer.reopened",
                        ticket=complaint.ticket,
                        unit=complaint.unit_name,
                    ),
                    officer_buttons(
                        complaint.ticket,
                        moved.to,
                        person.language,
                        may_answer=_may_answer(person, ctx.staff),
                    ),
                    OFFICER_TOKEN,
                    language=person.language,
                ),  # fmt: skip
            ),
            f"r{person.id}:reopen:{complaint.ticket}:{ctx.now}",
        )
        for person in ctx.staff
        if person.opd_id == complaint.opd_id
    )
    move = MoveComplaint(
        ticket=complaint.ticket,
        action=Action.REOPEN,
        actor=Actor.CITIZEN,
        from_status=complaint.status,
        to=moved.to,
        at=ctx.now,
        then=notices,
    )
    return DeskResult(effects=(move,))


# --- the daily job -----------------------------------------------------------------------------


def deadline_plan(ctx: DeadlineContext) -> tuple[DeskEffect, ...]:
    """Reminders the day before a limit ends (to officers, or the head where there are none),
    escalations to the head once it has passed, each claimed once per complaint and stage;
    and answered complaints the citizen left unanswered for N working days are finished."""
    effects: list[DeskEffect] = []
    for complaint in ctx.complaints:
        stage, due = _stage(complaint)
        if stage is None or due is None:
            effects.extend(_auto_finish(ctx, complaint))
            continue
        opd_id = complaint.opd_id
        if due_tomorrow(due, ctx.now, ctx.settings.timezone):
            reminded = _officers(ctx.staff, opd_id) or _heads(ctx.staff, opd_id)
            effects.append(_stage_notice(ctx, complaint, stage, due, "remind", reminded))
        if ctx.now >= due:
            effects.append(
                _stage_notice(ctx, complaint, stage, due, "escalate", _heads(ctx.staff, opd_id))
            )
    return tuple(effects)


def _stage(complaint: DeskComplaint) -> tuple[str | None, datetime | None]:
    if complaint.status is ComplaintStatus.DITERIMA:
        return "verify", complaint.verify_by
    if complaint.status is ComplaintStatus.DIVERIFIKASI:
        return "answer", complaint.answer_by
    return None, None


def _stage_notice(
    ctx: DeadlineContext,
    complaint: DeskComplaint,
    stage: str,
    due: datetime,
    notice: str,
    people: list[Staff],
) -> ClaimOnce:
    """A reminder or an escalation, claimed once per (notice, ticket, stage)."""
    notices = tuple(
        NotifyRecipient(
            person.id,
            person.channel,
            (
                Outbound(
                    text(
                        person.language,
                        f"officer.{notice}",
                        ticket=complaint.ticket,
                        unit=complaint.unit_name,
                        stage=text(person.language, f"officer.stage.{stage}"),
                        due=deadline_words(due, ctx.settings.timezone, person.language),
                        status=text(person.language, f"complaint.state.{complaint.status.value}"),
                    ),
                    officer_buttons(
                        complaint.ticket,
                        complaint.status,
                        person.language,
                        may_answer=_may_answer(person, ctx.staff),
                    ),
                    OFFICER_TOKEN,
                    language=person.language,
                ),  # fmt: skip
            ),
            f"r{person.id}:{notice}:{complaint.ticket}:{stage}",
        )
        for person in people
    )
    return ClaimOnce(f"complaint-{notice}", complaint.ticket, stage, ctx.now, notices)


def _auto_finish(ctx: DeadlineContext, complaint: DeskComplaint) -> tuple[DeskEffect, ...]:
    """An answered complaint with no reply from the citizen for N working days is done."""
    if complaint.status is not ComplaintStatus.DITINDAKLANJUTI or complaint.answered_at is None:
        return ()
    limits, zone = ctx.settings.complaint_limits, ctx.settings.timezone
    closes = ctx.calendar.due_at(complaint.answered_at, limits.citizen_response_days, zone)
    if ctx.now < closes:
        return ()
    moved = transition(complaint.status, Action.FINISH, Actor.SYSTEM)
    if moved.to is None:
        return ()
    reopen_until = reopen_deadline(ctx.now, ctx.calendar, limits, zone)
    return (
        MoveComplaint(
            ticket=complaint.ticket,
            action=Action.FINISH,
            actor=Actor.SYSTEM,
            from_status=complaint.status,
            to=moved.to,
            at=ctx.now,
            note=AUTO_FINISH_NOTE,
            reopen_until=reopen_until,
            then=_tell_citizen(ctx, complaint, moved.to, None, reopen_until),
        ),
    )
