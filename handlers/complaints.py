"""The complaint desk: applies complaint effects, officers' actions and deadline work.

Called by the dispatcher inside its transaction (so a complaint, its audit row and every
notification it causes commit together) and by the daily deadline job.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage import complaints_repo as repo
from storage.complaints_repo import ComplaintRecord, RecipientRecord
from storage.repository import Tx
from survey_flows.catalog import text
from survey_flows.complaint_flow import local_date_text
from survey_flows.complaints import (
    Action,
    Actor,
    ComplaintStatus,
    Limits,
    due_tomorrow,
    reopen_deadline,
    transition,
)
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

log = logging.getLogger(__name__)
_ONE_SECOND = timedelta(seconds=1)


@dataclass
class DeskOutcome:
    """Replies to the person who acted, and channels with new queued notifications."""

    replies: list[Outbound] = field(default_factory=list)
    wake: set[str] = field(default_factory=set)


class CalendarCache:
    """Holidays change once a year; re-read them at most every ``ttl_s``."""

    def __init__(self, ttl_s: float = 300.0) -> None:
        self.ttl_s = ttl_s
        self._value: WorkCalendar | None = None
        self._at = 0.0

    async def get(self, session: AsyncSession) -> WorkCalendar:
        if self._value is None or time.monotonic() - self._at > self.ttl_s:
            self._value = WorkCalendar.of(await repo.holidays(session))
            self._at = time.monotonic()
        return self._value


class ComplaintDesk:
    """Complaint side effects, all in the caller's transaction."""

    def __init__(self, settings: FlowSettings, calendar: CalendarCache | None = None) -> None:
        self.settings = settings
        self.calendar = calendar or CalendarCache()

    @property
    def limits(self) -> Limits:
        return self.settings.complaint_limits

    # --- citizens ---------------------------------------------------------------------------

    async def file(
        self, tx: Tx, filed: FileComplaint, *, contact_id: int, channel: str, now: datetime
    ) -> DeskOutcome:
        await repo.insert_complaint(tx.session, filed, contact_id=contact_id, channel=channel)
        complaint = await repo.load_complaint(tx.session, filed.ticket)
        assert complaint is not None
        officers = await repo.recipients_of(tx.session, complaint.opd_id, ("officer",))
        if not officers:  # nobody registered as officer: the head gets it
            officers = await repo.recipients_of(tx.session, complaint.opd_id, ("head",))
        outcome = DeskOutcome()
        for officer in officers:
            message = new_complaint_message(
                ticket=complaint.ticket,
                unit=complaint.unit_name,
                kind=complaint.kind.value,
                description=complaint.description,
                anonymous=complaint.anonymous,
                channel=complaint.channel,
                photos=complaint.photos,
                location=complaint.location,
                verify_by=complaint.verify_by,
                zone=self.settings.timezone,
                language=officer.language,
            )
            await self._to_recipient(tx, officer, [message], f"new:{complaint.ticket}", now)
            outcome.wake.add(officer.channel)
        if not officers:
            log.warning("complaint has no recipient", extra={"opd": complaint.opd_code})
        return outcome

    async def citizen_action(
        self, tx: Tx, action: CitizenComplaintAction, *, contact_id: int, now: datetime
    ) -> DeskOutcome:
        outcome = DeskOutcome()
        if action.action in {"rate_good", "rate_poor"}:
            await repo.rate_complaint(tx.session, action.ticket, action.action == "rate_good", now)
            return outcome
        complaint = await repo.load_complaint(tx.session, action.ticket, lock=True)
        if complaint is None or complaint.contact_id != contact_id:
            return outcome
        moved = transition(
            complaint.status,
            Action.REOPEN,
            Actor.CITIZEN,
            reopen_until=complaint.reopen_until,
            now=now,
        )
        if moved.to is None:
            return outcome
        await repo.record_transition(
            tx.session, complaint, action=Action.REOPEN, actor=Actor.CITIZEN, to=moved.to, at=now
        )
        for officer in await repo.recipients_of(tx.session, complaint.opd_id, ("officer", "head")):
            note = Outbound(
                text(officer.language, "officer.reopened", ticket=complaint.ticket,
                     unit=complaint.unit_name),
                officer_buttons(complaint.ticket, moved.to, officer.language),
                OFFICER_TOKEN,
                language=officer.language,
            )  # fmt: skip
            await self._to_recipient(tx, officer, [note], f"reopen:{complaint.ticket}:{now}", now)
            outcome.wake.add(officer.channel)
        return outcome

    # --- officers ---------------------------------------------------------------------------

    async def officer_action(
        self,
        tx: Tx,
        request: OfficerRequest,
        registrations: list[RecipientRecord],
        *,
        language: str,
        now: datetime,
    ) -> DeskOutcome:
        """Authorise and apply an officer's action; the citizen is told of every change."""
        outcome = DeskOutcome()
        if registrations:
            language = registrations[0].language

        def reply(key: str, **values: object) -> DeskOutcome:
            outcome.replies.append(Outbound(text(language, key, **values), language=language))
            return outcome

        if not registrations:
            return reply("complaint.error.forbidden")
        if request.ticket is None:
            return reply("officer.usage")
        complaint = await repo.load_complaint(tx.session, request.ticket, lock=True)
        if complaint is None:
            return reply("officer.unknown", ticket=request.ticket)
        mine = [r for r in registrations if r.opd_id == complaint.opd_id]
        if not mine:
            # Another OPD's complaint: the same answer as for an unknown ticket reveals nothing.
            return reply("complaint.error.forbidden")
        actor = Actor.HEAD if any(r.role == "head" for r in mine) else Actor.OFFICER
        if request.ask == "answer":
            return reply("officer.answer.how", ticket=complaint.ticket)
        if request.ask == "reason":
            outcome.replies.append(reason_prompt(complaint.ticket, language))
            return outcome
        if request.action is None:
            return reply("officer.usage")
        moved = transition(complaint.status, request.action, actor, note=request.note)
        if moved.to is None:
            return reply(moved.error or "complaint.error.state")
        calendar = await self.calendar.get(tx.session)
        zone = self.settings.timezone
        reopen_until = None
        if request.action in {Action.ANSWER, Action.FINISH}:
            reopen_until = reopen_deadline(now, calendar, self.limits, zone)
        await repo.record_transition(
            tx.session,
            complaint,
            action=request.action,
            actor=actor,
            to=moved.to,
            at=now,
            recipient_id=mine[0].id,
            note=request.note,
            reopen_until=reopen_until,
        )
        await self._tell_citizen(tx, complaint, moved.to, request.note, reopen_until, now)
        if complaint.contact_id is not None:
            outcome.wake.add(complaint.channel)
        status = text(language, f"complaint.state.{moved.to.value}")
        outcome.replies.append(
            Outbound(
                text(language, "officer.done", ticket=complaint.ticket, status=status),
                officer_buttons(complaint.ticket, moved.to, language),
                OFFICER_TOKEN,
                language=language,
            )
        )
        return outcome

    async def _tell_citizen(
        self,
        tx: Tx,
        complaint: ComplaintRecord,
        status: ComplaintStatus,
        note: str | None,
        reopen_until: datetime | None,
        now: datetime,
    ) -> None:
        if complaint.contact_id is None:  # the citizen erased their data
            return
        messages = citizen_notice(
            ticket=complaint.ticket,
            unit=complaint.unit_name,
            status=status,
            note=note,
            language=complaint.language,
            reopen_until=reopen_until,
            zone=self.settings.timezone,
        )
        await tx.enqueue(
            channel=complaint.channel,
            messages=[("message", m.to_json()) for m in messages],
            dedupe_prefix=f"complaint:{complaint.ticket}:{status.value}:{now.isoformat()}",
            now=now,
            contact_id=complaint.contact_id,
            priority=1,
        )

    async def _to_recipient(
        self, tx: Tx, recipient: RecipientRecord, messages: list[Outbound], key: str, now: datetime
    ) -> None:
        await tx.enqueue(
            channel=recipient.channel,
            messages=[("message", m.to_json()) for m in messages],
            dedupe_prefix=f"r{recipient.id}:{key}",
            now=now,
            recipient_id=recipient.id,
            priority=2,
        )

    # --- the daily deadline job -------------------------------------------------------------

    async def deadlines(self, tx: Tx, now: datetime) -> DeskOutcome:
        """Remind officers of complaints due tomorrow, escalate overdue ones to the head, and
        close answered complaints the citizen left unanswered; each exactly once."""
        outcome = DeskOutcome()
        calendar = await self.calendar.get(tx.session)
        zone = self.settings.timezone
        for complaint in await repo.open_complaints(tx.session):
            stage, due = self._stage(complaint)
            if stage is None or due is None:
                await self._auto_finish(tx, complaint, calendar, now, outcome)
                continue
            if due_tomorrow(due, now, zone):
                await self._stage_notice(
                    tx, complaint, stage, due, "remind", "officer", now, outcome
                )
            if now >= due:
                await self._stage_notice(
                    tx, complaint, stage, due, "escalate", "head", now, outcome
                )
        return outcome

    async def _stage_notice(
        self,
        tx: Tx,
        complaint: ComplaintRecord,
        stage: str,
        due: datetime,
        notice: str,
        role: str,
        now: datetime,
        outcome: DeskOutcome,
    ) -> None:
        """A reminder (to officers) or an escalation (to heads), claimed once per stage."""
        if not await repo.claim_job(
            tx.session, f"complaint-{notice}", complaint.ticket, stage, now
        ):
            return
        due_text = local_date_text(due - _ONE_SECOND, self.settings.timezone)
        for person in await repo.recipients_of(tx.session, complaint.opd_id, (role,)):
            language = person.language
            message = Outbound(
                text(language, f"officer.{notice}", ticket=complaint.ticket,
                     unit=complaint.unit_name, stage=text(language, f"officer.stage.{stage}"),
                     due=due_text,
                     status=text(language, f"complaint.state.{complaint.status.value}")),
                officer_buttons(complaint.ticket, complaint.status, language),
                OFFICER_TOKEN,
                language=language,
            )  # fmt: skip
            await self._to_recipient(
                tx, person, [message], f"{notice}:{complaint.ticket}:{stage}", now
            )
            outcome.wake.add(person.channel)

    @staticmethod
    def _stage(complaint: ComplaintRecord) -> tuple[str | None, datetime | None]:
        if complaint.status is ComplaintStatus.DITERIMA:
            return "verify", complaint.verify_by
        if complaint.status is ComplaintStatus.DIVERIFIKASI:
            return "answer", complaint.answer_by
        return None, None

    async def _auto_finish(
        self,
        tx: Tx,
        complaint: ComplaintRecord,
        calendar: WorkCalendar,
        now: datetime,
        outcome: DeskOutcome,
    ) -> None:
        """An answered complaint with no reply from the citizen for N working days is done."""
        if complaint.status is not ComplaintStatus.DITINDAKLANJUTI or complaint.answered_at is None:
            return
        zone = self.settings.timezone
        closes = calendar.due_at(complaint.answered_at, self.limits.citizen_response_days, zone)
        if now < closes:
            return
        locked = await repo.load_complaint(tx.session, complaint.ticket, lock=True)
        if locked is None or locked.status is not ComplaintStatus.DITINDAKLANJUTI:
            return
        reopen_until = reopen_deadline(now, calendar, self.limits, zone)
        await repo.record_transition(
            tx.session,
            locked,
            action=Action.FINISH,
            actor=Actor.SYSTEM,
            to=ComplaintStatus.SELESAI,
            at=now,
            note="no reply from the citizen",
            reopen_until=reopen_until,
        )
        await self._tell_citizen(tx, locked, ComplaintStatus.SELESAI, None, reopen_until, now)
        outcome.wake.add(locked.channel)
