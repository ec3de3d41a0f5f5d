"""The complaint desk as pure functions (``survey_flows.desk``): no database, no clock.

Every officer action against every status and every kind of sender; the prompts; replies that
quote a notification; the citizen's rating and reopening; and the daily plan around working
days and holidays (the calendar of ``survey_flows.workdays``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from survey_flows.catalog import text
from survey_flows.complaints import Action, Actor, ComplaintStatus
from survey_flows.desk import (
    AUTO_FINISH_NOTE,
    ClaimOnce,
    DeadlineContext,
    DeskComplaint,
    DeskContext,
    DeskResult,
    DeskUnit,
    InsertComplaint,
    MoveComplaint,
    NotifyCitizen,
    NotifyRecipient,
    RateComplaint,
    Staff,
    citizen_step,
    deadline_plan,
    filed_notices,
    officer_step,
)
from survey_flows.engine import FlowSettings
from survey_flows.officer import OfficerRequest, officer_request, quoted_ticket_wanted
from survey_flows.types import (
    Channel,
    CitizenComplaintAction,
    FileComplaint,
    Inbound,
    InboundKind,
)
from survey_flows.workdays import WorkCalendar

WIT = ZoneInfo("Asia/Jayapura")
SETTINGS = FlowSettings(timezone=WIT)
# Nyepi and cuti bersama Idul Fitri 2026 as in docs/complaints.md: 18-24 March.
CALENDAR = WorkCalendar.of(date(2026, 3, day) for day in range(18, 25))
TICKET = "ADU-ABCD-EFGH"
CITIZEN_CONTACT = 77
DISDUKCAPIL, RSUD, KECAMATAN = 10, 20, 30  # OPD ids: with officers, another, without officers

OFFICER = Staff(1, DISDUKCAPIL, "officer", "telegram", "id")
HEAD = Staff(2, DISDUKCAPIL, "head", "whatsapp", "id")
FOREIGN_OFFICER = Staff(3, RSUD, "officer", "telegram", "id")
LONE_HEAD = Staff(4, KECAMATAN, "head", "telegram", "en")
STAFF = (OFFICER, HEAD, FOREIGN_OFFICER, LONE_HEAD)

FILED_AT = datetime(2026, 3, 13, 10, 0, tzinfo=WIT)  # a Friday
VERIFY_BY = datetime(2026, 3, 26, 0, 0, tzinfo=WIT)  # the end of Wednesday 25 March
ANSWER_BY = datetime(2026, 4, 2, 0, 0, tzinfo=WIT)  # 3 + 5 working days: the end of 1 April
NOW = datetime(2026, 3, 16, 10, 0, tzinfo=WIT)  # Monday
# 10 working days after Monday 16 March, skipping 18-24 March: the end of Monday 6 April.
REOPEN_UNTIL = datetime(2026, 4, 7, 0, 0, tzinfo=WIT)


def complaint(
    status: ComplaintStatus = ComplaintStatus.DITERIMA, **changes: object
) -> DeskComplaint:
    base = DeskComplaint(
        ticket=TICKET,
        unit_name="Loket Disdukcapil MPP",
        opd_id=DISDUKCAPIL,
        contact_id=CITIZEN_CONTACT,
        channel="whatsapp",
        kind="pengaduan",
        description="Antrean perekaman KTP-el sangat panjang.",
        anonymous=False,
        language="id",
        status=status,
        verify_by=VERIFY_BY,
        answer_by=ANSWER_BY,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def desk(
    sender: tuple[Staff, ...],
    found: DeskComplaint | None,
    *,
    language: str = "id",
    now: datetime = NOW,
) -> DeskContext:
    opd = found.opd_id if found else None
    return DeskContext(
        now=now,
        settings=SETTINGS,
        calendar=CALENDAR,
        channel="telegram",
        language=language,
        contact_id=500,
        sender=sender,
        complaint=found,
        staff=tuple(s for s in STAFF if s.opd_id == opd),
    )


def reply_text(result: DeskResult | None) -> str:
    assert result is not None and len(result.replies) == 1
    return result.replies[0].text


# --- officers and heads: the whole matrix -------------------------------------------------------

# What staff may do, written out (SKM.md §2): (status, action) -> the new status.
ALLOWED = {
    (ComplaintStatus.DITERIMA, Action.VERIFY): ComplaintStatus.DIVERIFIKASI,
    (ComplaintStatus.DITERIMA, Action.REJECT): ComplaintStatus.DITOLAK,
    (ComplaintStatus.DIVERIFIKASI, Action.ANSWER): ComplaintStatus.DITINDAKLANJUTI,
    (ComplaintStatus.DIVERIFIKASI, Action.REJECT): ComplaintStatus.DITOLAK,
    (ComplaintStatus.DITINDAKLANJUTI, Action.ANSWER): ComplaintStatus.DITINDAKLANJUTI,
    (ComplaintStatus.DITINDAKLANJUTI, Action.FINISH): ComplaintStatus.SELESAI,
}
NOTES = {
    Action.REJECT: "tidak_lengkap",
    Action.ANSWER: "Loket tambahan dibuka.",
    Action.VERIFY: None,
    Action.FINISH: None,
}
REASON_SHOWN = text("id", "complaint.reason.tidak_lengkap")
ROLES = ("officer", "head with officers", "head alone", "another OPD", "not registered")


def _setup(role: str, status: ComplaintStatus) -> tuple[tuple[Staff, ...], DeskComplaint]:
    if role == "head alone":
        return (LONE_HEAD,), complaint(status, opd_id=KECAMATAN)
    sender = {"officer": (OFFICER,), "head with officers": (HEAD,),
              "another OPD": (FOREIGN_OFFICER,), "not registered": ()}[role]  # fmt: skip
    return sender, complaint(status)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("status", list(ComplaintStatus))
@pytest.mark.parametrize("action", [Action.VERIFY, Action.REJECT, Action.ANSWER, Action.FINISH])
def test_every_action_in_every_status_by_every_sender(
    role: str, status: ComplaintStatus, action: Action
) -> None:
    sender, found = _setup(role, status)
    result = officer_step(desk(sender, found), OfficerRequest(TICKET, action, note=NOTES[action]))
    assert result is not None
    if role == "not registered":
        assert result.effects == () and "hanya untuk petugas" in reply_text(result)
        return
    if role == "another OPD":
        assert result.effects == ()
        assert reply_text(result) == (
            f"Maaf, tiket {TICKET} tidak ditemukan atau Anda tidak berwenang menanganinya."
        )
        return
    if role == "head with officers" and action is Action.ANSWER:
        assert result.effects == ()
        assert "teruskan pengaduan" in reply_text(result) and "1 petugas" in reply_text(result)
        return
    target = ALLOWED.get((status, action))
    if target is None:
        assert result.effects == ()
        assert reply_text(result) == text(sender[0].language, "complaint.error.state")
        return
    person = sender[0]
    [move] = result.effects
    assert isinstance(move, MoveComplaint)
    assert (move.ticket, move.action, move.from_status, move.to) == (TICKET, action, status, target)
    assert move.actor is (Actor.HEAD if person.role == "head" else Actor.OFFICER)
    assert move.recipient_id == person.id and move.note == NOTES[action] and move.at == NOW
    assert move.reopen_until == (REOPEN_UNTIL if action in {Action.ANSWER, Action.FINISH} else None)
    [notice] = move.then
    assert isinstance(notice, NotifyCitizen)
    assert (notice.contact_id, notice.channel) == (CITIZEN_CONTACT, "whatsapp")
    assert notice.dedupe_key == f"complaint:{TICKET}:{target.value}:{NOW.isoformat()}"
    assert len(notice.messages) == (2 if target is ComplaintStatus.SELESAI else 1)
    if action is Action.ANSWER:
        assert "Loket tambahan dibuka." in notice.messages[0].text
    if action is Action.REJECT:
        assert REASON_SHOWN in notice.messages[0].text
    done = result.replies[0]
    assert TICKET in done.text and done.prompt_token == "o"


def test_a_head_where_officers_serve_sees_no_answer_button_and_is_told_to_forward() -> None:
    head = officer_step(desk((HEAD,), complaint()), OfficerRequest(TICKET, Action.VERIFY))
    assert head is not None
    assert [c.id for c in head.replies[0].choices] == [f"ox:reject:{TICKET}"]
    how = officer_step(desk((HEAD,), complaint(ComplaintStatus.DIVERIFIKASI)),
                       OfficerRequest(TICKET, None, ask="answer"))  # fmt: skip
    assert reply_text(how) == (
        f"Tanggapan kepada pelapor diberikan oleh petugas. Mohon teruskan pengaduan {TICKET} "
        "kepada 1 petugas OPD Anda; Anda tetap dapat memverifikasi, menolak, atau "
        "menyelesaikannya."
    )
    officer = officer_step(desk((OFFICER,), complaint()), OfficerRequest(TICKET, Action.VERIFY))
    assert officer is not None
    assert [c.id for c in officer.replies[0].choices] == [
        f"ox:answer:{TICKET}", f"ox:reject:{TICKET}",
    ]  # fmt: skip


def test_a_head_alone_answers_in_their_language() -> None:
    found = complaint(ComplaintStatus.DIVERIFIKASI, opd_id=KECAMATAN)
    how = officer_step(desk((LONE_HEAD,), found), OfficerRequest(TICKET, None, ask="answer"))
    assert reply_text(how).startswith(f"Reply to the message of complaint {TICKET}")


def test_someone_both_officer_and_head_answers_as_officer_and_verifies_as_head() -> None:
    both = (HEAD, OFFICER)
    answer = OfficerRequest(TICKET, Action.ANSWER, note="Sudah ditangani.")
    answered = officer_step(desk(both, complaint(ComplaintStatus.DIVERIFIKASI)), answer)
    verified = officer_step(desk(both, complaint()), OfficerRequest(TICKET, Action.VERIFY))
    assert answered is not None and verified is not None
    assert isinstance(answered.effects[0], MoveComplaint)
    assert (answered.effects[0].actor, answered.effects[0].recipient_id) == (Actor.OFFICER, 1)
    assert isinstance(verified.effects[0], MoveComplaint)
    assert (verified.effects[0].actor, verified.effects[0].recipient_id) == (Actor.HEAD, 2)


def test_unknown_and_foreign_tickets_get_the_same_answer() -> None:
    unknown = officer_step(desk((OFFICER,), None), OfficerRequest(TICKET, Action.VERIFY))
    foreign = officer_step(
        desk((FOREIGN_OFFICER,), complaint()), OfficerRequest(TICKET, Action.VERIFY)
    )
    assert reply_text(unknown) == reply_text(foreign)


def test_a_citizen_typing_an_officer_command_is_refused_in_their_language() -> None:
    refused = officer_step(
        desk((), complaint(), language="en"), OfficerRequest(TICKET, Action.VERIFY)
    )
    assert refused is not None and refused.effects == ()
    assert reply_text(refused).startswith("Sorry, this command is only for registered")


def test_the_prompts_usage_and_refused_inputs_change_nothing() -> None:
    reasons = officer_step(
        desk((OFFICER,), complaint()), OfficerRequest(TICKET, None, ask="reason")
    )
    assert reasons is not None and reasons.effects == ()
    assert [c.id for c in reasons.replies[0].choices] == [
        f"ox:rejectwhy:{TICKET}:bukan_kewenangan",
        f"ox:rejectwhy:{TICKET}:tidak_lengkap",
        f"ox:rejectwhy:{TICKET}:bukan_pengaduan",
    ]
    assert reply_text(officer_step(desk((OFFICER,), None), OfficerRequest(None, Action.VERIFY)))
    usage = officer_step(desk((OFFICER,), complaint()), OfficerRequest(None, Action.VERIFY))
    assert reply_text(usage).startswith("Perintah petugas")
    empty = officer_step(desk((OFFICER,), complaint(ComplaintStatus.DIVERIFIKASI)),
                         OfficerRequest(TICKET, Action.ANSWER, note="  "))  # fmt: skip
    assert empty is not None and empty.effects == ()
    assert reply_text(empty) == "Tanggapan tidak boleh kosong."
    bad_reason = officer_step(desk((OFFICER,), complaint()),
                              OfficerRequest(TICKET, Action.REJECT, note="malas"))  # fmt: skip
    assert bad_reason is not None and bad_reason.effects == ()


def test_an_answer_over_the_limit_is_refused_whole_and_nothing_moves() -> None:
    found = complaint(ComplaintStatus.DIVERIFIKASI)
    limit = SETTINGS.complaint_max_chars
    too_long = officer_step(
        desk((OFFICER,), found), OfficerRequest(TICKET, Action.ANSWER, note="x" * (limit + 1))
    )
    assert too_long is not None and too_long.effects == ()
    assert f"({limit + 1} karakter; paling banyak {limit})" in reply_text(too_long)
    at_limit = officer_step(
        desk((OFFICER,), found), OfficerRequest(TICKET, Action.ANSWER, note="x" * limit)
    )
    assert at_limit is not None
    assert [type(e).__name__ for e in at_limit.effects] == ["MoveComplaint"]


def test_a_rejection_command_without_a_valid_reason_asks_for_one() -> None:
    typed = inbound(InboundKind.COMMAND, command="tolak", command_args=(TICKET, "malas"))
    assert officer_request(typed) == OfficerRequest(TICKET, None, ask="reason")
    with_reason = inbound(
        InboundKind.COMMAND, command="tolak", command_args=(TICKET, "tidak_lengkap")
    )
    assert officer_request(with_reason) == OfficerRequest(
        TICKET, Action.REJECT, note="tidak_lengkap"
    )


def test_an_erased_citizen_is_not_notified() -> None:
    moved = officer_step(
        desk((OFFICER,), complaint(contact_id=None)), OfficerRequest(TICKET, Action.VERIFY)
    )
    assert moved is not None and isinstance(moved.effects[0], MoveComplaint)
    assert moved.effects[0].then == ()


# --- replies that quote a notification ----------------------------------------------------------


def inbound(kind: InboundKind, **fields: object) -> Inbound:
    return Inbound(Channel.TELEGRAM, "200", "e1", kind, NOW.astimezone(UTC), **fields)  # type: ignore[arg-type]


def test_quoting_a_notification_answers_it_on_telegram_and_on_whatsapp() -> None:
    telegram = inbound(InboundKind.TEXT, text=" Sudah dibuka. ",
                       quoted_text=f"Pengaduan baru {TICKET} ...")  # fmt: skip
    assert quoted_ticket_wanted(telegram) is None  # the quoted text names the ticket
    assert officer_request(telegram) == OfficerRequest(
        TICKET, Action.ANSWER, "Sudah dibuka.", quoted=True
    )
    whatsapp = replace(inbound(InboundKind.TEXT, text="Sudah dibuka.", message_ref="wamid.X"),
                       channel=Channel.WHATSAPP)  # fmt: skip
    assert quoted_ticket_wanted(whatsapp) == "wamid.X"
    assert officer_request(whatsapp) is None  # until storage names the quoted ticket
    request = officer_request(whatsapp, TICKET)
    assert request == OfficerRequest(TICKET, Action.ANSWER, "Sudah dibuka.", quoted=True)
    answered = officer_step(desk((OFFICER,), complaint(ComplaintStatus.DIVERIFIKASI)), request)
    assert answered is not None and isinstance(answered.effects[0], MoveComplaint)
    assert answered.effects[0].note == "Sudah dibuka."


def test_a_citizen_quoting_anything_is_having_a_normal_conversation() -> None:
    request = OfficerRequest(TICKET, Action.ANSWER, "Terima kasih", quoted=True)
    assert officer_step(desk((), complaint()), request) is None
    assert quoted_ticket_wanted(inbound(InboundKind.CHOICE, message_ref="5", choice_id="x")) is None


# --- filing -----------------------------------------------------------------------------------


FILED = FileComplaint(
    ticket=TICKET,
    unit_code="dukcapil-mpp",
    kind="pengaduan",
    description="Antrean perekaman KTP-el sangat panjang.",
    photos=("AgAD-1",),
    location=None,
    anonymous=True,
    confidential=False,
    language="id",
    filed_at=FILED_AT,
    verify_by=VERIFY_BY,
    answer_by=ANSWER_BY,
)


def filing(opd_id: int) -> DeskContext:
    return DeskContext(
        now=FILED_AT, settings=SETTINGS, calendar=CALENDAR, channel="whatsapp",
        contact_id=CITIZEN_CONTACT, unit=DeskUnit("dukcapil-mpp", "Loket MPP", opd_id),
        staff=tuple(s for s in STAFF if s.opd_id == opd_id),
    )  # fmt: skip


def test_a_new_complaint_goes_to_the_officers_or_to_the_head_when_there_are_none() -> None:
    to_officers = filed_notices(filing(DISDUKCAPIL), FILED)
    insert, notice = to_officers.effects
    assert insert == InsertComplaint(FILED, CITIZEN_CONTACT, "whatsapp")
    assert isinstance(notice, NotifyRecipient)
    assert (notice.recipient_id, notice.channel) == (1, "telegram")
    assert notice.dedupe_key == f"r1:new:{TICKET}"
    assert "anonim" in notice.messages[0].text and "1 foto" in notice.messages[0].text
    to_head = filed_notices(filing(KECAMATAN), FILED)
    assert [e.recipient_id for e in to_head.effects if isinstance(e, NotifyRecipient)] == [4]
    assert "Attachments: 1 photos." in to_head.effects[1].messages[0].text  # type: ignore[union-attr]
    nobody = filed_notices(filing(99), FILED)
    assert nobody.effects == (InsertComplaint(FILED, CITIZEN_CONTACT, "whatsapp"),)


# --- citizens ---------------------------------------------------------------------------------


def mine(
    found: DeskComplaint, *, contact_id: int = CITIZEN_CONTACT, now: datetime = NOW
) -> DeskContext:
    return DeskContext(now=now, settings=SETTINGS, calendar=CALENDAR, channel="whatsapp",
                       contact_id=contact_id, complaint=found,
                       staff=tuple(s for s in STAFF if s.opd_id == found.opd_id))  # fmt: skip


def act(name: str) -> CitizenComplaintAction:
    return CitizenComplaintAction(TICKET, name, NOW)


def test_the_citizen_rates_a_finished_complaint_once() -> None:
    finished = complaint(ComplaintStatus.SELESAI, reopen_until=REOPEN_UNTIL)
    assert citizen_step(mine(finished), act("rate_poor")).effects == (
        RateComplaint(TICKET, False, NOW),
    )
    assert citizen_step(mine(replace(finished, rated=True)), act("rate_good")).effects == ()
    assert (
        citizen_step(mine(complaint(ComplaintStatus.DITINDAKLANJUTI)), act("rate_good")).effects
        == ()
    )
    assert citizen_step(mine(finished, contact_id=5), act("rate_good")).effects == ()


def test_reopening_within_the_limit_tells_all_staff_of_the_opd() -> None:
    finished = complaint(ComplaintStatus.SELESAI, reopen_until=REOPEN_UNTIL)
    [move] = citizen_step(mine(finished), act("reopen")).effects
    assert isinstance(move, MoveComplaint)
    assert (move.action, move.actor, move.from_status, move.to) == (
        Action.REOPEN, Actor.CITIZEN, ComplaintStatus.SELESAI, ComplaintStatus.DIVERIFIKASI,
    )  # fmt: skip
    notices = [n for n in move.then if isinstance(n, NotifyRecipient)]
    assert [n.recipient_id for n in notices] == [1, 2]
    assert all(n.dedupe_key.startswith(f"r{n.recipient_id}:reopen:{TICKET}:") for n in notices)
    officer_buttons, head_buttons = (n.messages[0].choices for n in notices)
    assert [c.id for c in officer_buttons] == [f"ox:answer:{TICKET}", f"ox:reject:{TICKET}"]
    assert [c.id for c in head_buttons] == [f"ox:reject:{TICKET}"]
    late = mine(finished, now=REOPEN_UNTIL + timedelta(seconds=1))
    assert citizen_step(late, act("reopen")).effects == ()
    assert citizen_step(mine(finished, contact_id=5), act("reopen")).effects == ()


# --- the daily plan ---------------------------------------------------------------------------


def plan(found: DeskComplaint, at: datetime) -> tuple[object, ...]:
    return deadline_plan(DeadlineContext(at, SETTINGS, CALENDAR, (found,), STAFF))


def test_the_limits_of_the_example_complaint() -> None:
    assert CALENDAR.due_at(FILED_AT, 3, WIT) == VERIFY_BY
    assert CALENDAR.due_at(FILED_AT, 8, WIT) == ANSWER_BY
    assert CALENDAR.due_at(NOW, 10, WIT) == REOPEN_UNTIL


def test_a_reminder_the_day_before_even_a_holiday_then_one_escalation_to_the_head() -> None:
    assert plan(complaint(), datetime(2026, 3, 17, 9, 0, tzinfo=WIT)) == ()
    [remind] = plan(complaint(), datetime(2026, 3, 24, 7, 30, tzinfo=WIT))  # a holiday
    assert isinstance(remind, ClaimOnce)
    assert (remind.kind, remind.target, remind.period) == ("complaint-remind", TICKET, "verify")
    [to_officer] = remind.then
    assert isinstance(to_officer, NotifyRecipient) and to_officer.recipient_id == 1
    assert to_officer.dedupe_key == f"r1:remind:{TICKET}:verify"
    assert (
        "Pengingat" in to_officer.messages[0].text
        and "Rabu, 25 Maret 2026" in to_officer.messages[0].text
    )
    assert plan(complaint(), datetime(2026, 3, 25, 7, 30, tzinfo=WIT)) == ()  # the last day itself
    [escalate] = plan(complaint(), VERIFY_BY + timedelta(hours=7))
    assert isinstance(escalate, ClaimOnce) and escalate.kind == "complaint-escalate"
    [to_head] = escalate.then
    assert isinstance(to_head, NotifyRecipient) and to_head.recipient_id == 2
    assert "Eskalasi" in to_head.messages[0].text and "Diterima" in to_head.messages[0].text


def test_the_answer_stage_and_an_opd_without_officers_remind_the_head() -> None:
    verified = complaint(ComplaintStatus.DIVERIFIKASI, opd_id=KECAMATAN)
    assert plan(verified, datetime(2026, 3, 30, 7, 30, tzinfo=WIT)) == ()
    [remind] = plan(verified, datetime(2026, 3, 31, 7, 30, tzinfo=WIT))
    assert isinstance(remind, ClaimOnce) and remind.period == "answer"
    assert [n.recipient_id for n in remind.then] == [4]  # type: ignore[union-attr]
    assert "must be answered by Wednesday, 1 April 2026" in remind.then[0].messages[0].text  # type: ignore[union-attr]


def test_an_answered_complaint_closes_after_ten_silent_working_days() -> None:
    answered_at = datetime(2026, 3, 30, 10, 0, tzinfo=WIT)
    answered = complaint(ComplaintStatus.DITINDAKLANJUTI, answered_at=answered_at)
    closes = datetime(2026, 4, 14, 0, 0, tzinfo=WIT)  # 10 working days: the end of 13 April
    assert plan(answered, closes - timedelta(minutes=1)) == ()
    [move] = plan(answered, closes + timedelta(minutes=30))
    assert isinstance(move, MoveComplaint)
    assert (move.action, move.actor, move.to, move.note) == (
        Action.FINISH, Actor.SYSTEM, ComplaintStatus.SELESAI, AUTO_FINISH_NOTE,
    )  # fmt: skip
    assert move.reopen_until == CALENDAR.due_at(closes + timedelta(minutes=30), 10, WIT)
    [told] = move.then
    assert isinstance(told, NotifyCitizen) and len(told.messages) == 2  # the notice, the rating
    [erased] = plan(replace(answered, contact_id=None), closes)
    assert isinstance(erased, MoveComplaint) and erased.then == ()
