"""Working-day deadlines over weekends and the 2026 holidays; ticket numbers; transitions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.holidays_file import bundled_holidays, read_holidays
from survey_flows.complaints import (
    TICKET_ALPHABET,
    Action,
    Actor,
    ComplaintStatus,
    Limits,
    deadlines,
    due_tomorrow,
    find_ticket,
    format_ticket,
    transition,
)
from survey_flows.workdays import WorkCalendar

WIT = ZoneInfo("Asia/Jayapura")
CALENDAR_2026 = WorkCalendar.of(
    day for path in bundled_holidays() for day, _ in read_holidays(path)
)


def wit(y: int, m: int, d: int, hh: int = 10) -> datetime:
    return datetime(y, m, d, hh, tzinfo=WIT)


def test_the_shipped_2026_calendar_has_every_day_of_skm_md() -> None:
    listed = [(1, 1), (1, 16), (2, 16), (2, 17), *((3, d) for d in range(18, 25)), (4, 3),
              (4, 5), (5, 1), (5, 14), (5, 15), (5, 27), (5, 28), (5, 31), (6, 1), (6, 16),
              (8, 17), (8, 25), (12, 24), (12, 25)]  # fmt: skip
    expected = {date(2026, month, day) for month, day in listed}
    assert expected == CALENDAR_2026.holidays


@pytest.mark.parametrize(
    ("start", "days", "last_day"),
    [
        (date(2026, 3, 13), 3, date(2026, 3, 25)),  # Friday; 16, 17, then 18-24 are holidays
        (date(2026, 3, 13), 2, date(2026, 3, 17)),
        (date(2026, 11, 27), 1, date(2026, 11, 30)),  # Friday -> Monday
        (date(2026, 11, 28), 1, date(2026, 11, 30)),  # filed on a Saturday
        (date(2026, 12, 23), 1, date(2026, 12, 28)),  # 24-25 Dec holidays, then the weekend
        (date(2026, 8, 14), 1, date(2026, 8, 18)),  # Friday, then Monday 17 Aug
        (date(2026, 5, 13), 3, date(2026, 5, 20)),  # 14-15 May holidays
        (date(2026, 6, 1), 0, date(2026, 6, 1)),
    ],
)
def test_working_days_skip_weekends_and_holidays(start: date, days: int, last_day: date) -> None:
    assert CALENDAR_2026.add_working_days(start, days) == last_day


def test_a_complaint_filed_on_friday_13_march_is_due_after_the_holidays() -> None:
    due = deadlines(wit(2026, 3, 13), CALENDAR_2026, Limits(), WIT)
    # Verification: the end of Wednesday 25 March (midnight WIT at its close).
    assert due.verify_by == datetime(2026, 3, 26, 0, 0, tzinfo=WIT)
    # The unit's answer: 3 + 5 working days: 16, 17, 25, 26, 27, 30, 31 March, 1 April.
    assert due.answer_by == datetime(2026, 4, 2, 0, 0, tzinfo=WIT)
    assert due.verify_by.astimezone(UTC) == datetime(2026, 3, 25, 15, 0, tzinfo=UTC)


def test_late_evening_filing_counts_from_the_local_day() -> None:
    # 23:30 WIT on Monday is 14:30 UTC: the local day decides, not the UTC one.
    due = deadlines(wit(2026, 11, 23, 23), CALENDAR_2026, Limits(verify_days=1), WIT)
    assert due.verify_by == datetime(2026, 11, 25, 0, 0, tzinfo=WIT)


def test_due_tomorrow_is_about_the_last_day_of_the_limit() -> None:
    due = datetime(2026, 3, 26, 0, 0, tzinfo=WIT)  # ends with 25 March
    assert due_tomorrow(due, wit(2026, 3, 24), WIT)
    assert not due_tomorrow(due, wit(2026, 3, 25), WIT)
    assert not due_tomorrow(due, wit(2026, 3, 23), WIT)


def test_tickets_are_readable_and_found_in_sloppy_text() -> None:
    ticket = format_ticket(2**40 - 1)
    assert len(ticket) == 13 and ticket.startswith("ADU-")
    assert all(ch in TICKET_ALPHABET for ch in ticket[4:].replace("-", ""))
    assert format_ticket(1) != format_ticket(2)
    assert find_ticket(f"status {ticket.lower()}") == ticket
    assert find_ticket("status " + ticket.replace("-", " ")) == ticket
    assert find_ticket("status ADU-1111-1111") is None  # 1 is not in the alphabet
    assert find_ticket("no ticket here") is None


@pytest.mark.parametrize(
    ("status", "action", "actor", "note", "to", "error"),
    [
        (ComplaintStatus.DITERIMA, Action.VERIFY, Actor.OFFICER, None,
         ComplaintStatus.DIVERIFIKASI, None),
        (ComplaintStatus.DITERIMA, Action.VERIFY, Actor.CITIZEN, None, None,
         "complaint.error.forbidden"),
        (ComplaintStatus.DITERIMA, Action.ANSWER, Actor.OFFICER, "ok", None,
         "complaint.error.state"),
        (ComplaintStatus.DITERIMA, Action.REJECT, Actor.HEAD, None, None,
         "complaint.error.reason"),
        (ComplaintStatus.DITERIMA, Action.REJECT, Actor.HEAD, "tidak_lengkap",
         ComplaintStatus.DITOLAK, None),
        (ComplaintStatus.DIVERIFIKASI, Action.ANSWER, Actor.OFFICER, "  ", None,
         "complaint.error.answer_empty"),
        (ComplaintStatus.DIVERIFIKASI, Action.ANSWER, Actor.OFFICER, "Sudah diperbaiki",
         ComplaintStatus.DITINDAKLANJUTI, None),
        (ComplaintStatus.DITINDAKLANJUTI, Action.FINISH, Actor.SYSTEM, None,
         ComplaintStatus.SELESAI, None),
        (ComplaintStatus.SELESAI, Action.VERIFY, Actor.OFFICER, None, None,
         "complaint.error.state"),
        (ComplaintStatus.DITOLAK, Action.ARCHIVE, Actor.OFFICER, None, None,
         "complaint.error.forbidden"),
    ],
)  # fmt: skip
def test_who_may_move_a_complaint_where(
    status: ComplaintStatus,
    action: Action,
    actor: Actor,
    note: str | None,
    to: ComplaintStatus | None,
    error: str | None,
) -> None:
    result = transition(status, action, actor, note=note)
    assert (result.to, result.error) == (to, error)


def test_reopening_is_allowed_only_in_time() -> None:
    until = wit(2026, 4, 10)
    ok = transition(ComplaintStatus.SELESAI, Action.REOPEN, Actor.CITIZEN, reopen_until=until,
                    now=wit(2026, 4, 9))  # fmt: skip
    late = transition(ComplaintStatus.SELESAI, Action.REOPEN, Actor.CITIZEN, reopen_until=until,
                      now=wit(2026, 4, 11))  # fmt: skip
    assert ok.to is ComplaintStatus.DIVERIFIKASI
    assert late.error == "complaint.error.reopen_late"
