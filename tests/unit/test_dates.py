"""Dates and numbers as people read them: a deadline shows its last day, in words."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from survey_flows.complaints import Limits, deadlines
from survey_flows.dates import date_words, deadline_words, last_day, moment_words, number_text
from survey_flows.workdays import WorkCalendar

WIT = ZoneInfo("Asia/Jayapura")
CHRISTMAS_2026 = WorkCalendar.of([date(2026, 12, 24), date(2026, 12, 25), date(2027, 1, 1)])


def test_the_issue_s_example_sunday_6_december_shows_wednesday_9_december() -> None:
    filed = datetime(2026, 12, 6, 10, 0, tzinfo=WIT)  # a Sunday
    due = deadlines(filed, CHRISTMAS_2026, Limits(), WIT)
    assert deadline_words(due.verify_by, WIT, "id") == "Rabu, 9 Desember 2026"
    assert deadline_words(due.verify_by, WIT, "en") == "Wednesday, 9 December 2026"


@pytest.mark.parametrize(
    ("filed", "days", "shown"),
    [
        # Over a month end: Friday 27 February + 3 working days ends Wednesday 4 March.
        (date(2026, 2, 27), 3, "Rabu, 4 Maret 2026"),
        # Over Christmas and a weekend: Wednesday 23 December + 2 ends Tuesday 29 December.
        (date(2026, 12, 23), 2, "Selasa, 29 Desember 2026"),
        # Over a year end and New Year's Day: Wednesday 30 December + 3 ends Tuesday 5 January.
        (date(2026, 12, 30), 3, "Selasa, 5 Januari 2027"),
        # Filed on a Saturday: the count starts on Monday.
        (date(2026, 10, 31), 1, "Senin, 2 November 2026"),
    ],
)
def test_deadlines_over_month_ends_holidays_and_weekends(
    filed: date, days: int, shown: str
) -> None:
    moment = datetime(filed.year, filed.month, filed.day, 23, 59, tzinfo=WIT)
    due = CHRISTMAS_2026.due_at(moment, days, WIT)
    assert due.hour == 0  # stored as the midnight after the last day...
    assert deadline_words(due, WIT, "id") == shown  # ...shown as the last day itself


def test_the_last_day_is_local_whatever_the_zone_of_the_stored_moment() -> None:
    # Midnight WIT closing 9 December is 15:00 UTC on 9 December.
    stored = datetime(2026, 12, 9, 15, 0, tzinfo=UTC)
    assert last_day(stored, WIT) == date(2026, 12, 9)


def test_an_event_is_shown_on_its_local_day() -> None:
    # 20:00 UTC on 31 January is 05:00 WIT on 1 February.
    assert moment_words(datetime(2026, 1, 31, 20, 0, tzinfo=UTC), WIT, "id") == (
        "Minggu, 1 Februari 2026"
    )
    assert date_words(date(2026, 8, 17), "en", weekday=False) == "17 August 2026"


def test_numbers_are_grouped_by_thousands_in_each_language() -> None:
    assert number_text(1000, "id") == "1.000"
    assert number_text(1000, "en") == "1,000"
    assert number_text(999, "id") == "999"
    assert number_text(1234567, "id") == "1.234.567"
