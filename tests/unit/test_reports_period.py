"""Report periods: labels to half-open local-date ranges, from tables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from reports.build import population_for
from reports.period import (
    Period,
    PeriodError,
    PeriodKind,
    latest_complete_quarter,
    parse_date,
    parse_period,
    period_between,
)

D = date


@pytest.mark.parametrize(
    ("text", "kind", "label", "start", "end"),
    [
        # ISO weeks run Monday to Sunday; week 1 holds the year's first Thursday.
        ("2026-W14", PeriodKind.WEEK, "2026-W14", D(2026, 3, 30), D(2026, 4, 6)),
        ("2026-W01", PeriodKind.WEEK, "2026-W01", D(2025, 12, 29), D(2026, 1, 5)),
        ("2026-W53", PeriodKind.WEEK, "2026-W53", D(2026, 12, 28), D(2027, 1, 4)),
        ("2027-w01", PeriodKind.WEEK, "2027-W01", D(2027, 1, 4), D(2027, 1, 11)),
        ("2026-03", PeriodKind.MONTH, "2026-03", D(2026, 3, 1), D(2026, 4, 1)),
        ("2026-02", PeriodKind.MONTH, "2026-02", D(2026, 2, 1), D(2026, 3, 1)),
        ("2028-02", PeriodKind.MONTH, "2028-02", D(2028, 2, 1), D(2028, 3, 1)),
        ("2026-12", PeriodKind.MONTH, "2026-12", D(2026, 12, 1), D(2027, 1, 1)),
        ("2026-Q1", PeriodKind.QUARTER, "2026-Q1", D(2026, 1, 1), D(2026, 4, 1)),
        ("2026-q2", PeriodKind.QUARTER, "2026-Q2", D(2026, 4, 1), D(2026, 7, 1)),
        ("2026-Q3", PeriodKind.QUARTER, "2026-Q3", D(2026, 7, 1), D(2026, 10, 1)),
        ("2026-Q4", PeriodKind.QUARTER, "2026-Q4", D(2026, 10, 1), D(2027, 1, 1)),
        ("2026-S1", PeriodKind.SEMESTER, "2026-S1", D(2026, 1, 1), D(2026, 7, 1)),
        ("2026-S2", PeriodKind.SEMESTER, "2026-S2", D(2026, 7, 1), D(2027, 1, 1)),
        ("2026", PeriodKind.YEAR, "2026", D(2026, 1, 1), D(2027, 1, 1)),
        (" 2026 ", PeriodKind.YEAR, "2026", D(2026, 1, 1), D(2027, 1, 1)),
        (
            "2026-01-05..2026-01-20",
            PeriodKind.RANGE,
            "2026-01-05..2026-01-20",
            D(2026, 1, 5),
            D(2026, 1, 21),
        ),
        (
            "2026-03-31..2026-03-31",
            PeriodKind.RANGE,
            "2026-03-31..2026-03-31",
            D(2026, 3, 31),
            D(2026, 4, 1),
        ),
    ],
)
def test_parse_period(text: str, kind: PeriodKind, label: str, start: date, end: date) -> None:
    period = parse_period(text)
    assert (period.kind, period.label, period.start, period.end) == (kind, label, start, end)
    assert period.contains(start) and period.contains(period.last_day)
    assert not period.contains(end)
    # The canonical label reads back to the same period.
    assert parse_period(period.label) == period


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-W53", "no week 53"),  # 2025 has 52 ISO weeks
        ("2026-W00", "no week 0"),
        ("2026-W54", "no week 54"),
        ("2026-13", "month must be 01 to 12"),
        ("2026-00", "month must be 01 to 12"),
        ("2026-Q5", "quarter must be Q1 to Q4"),
        ("2026-Q0", "quarter must be Q1 to Q4"),
        ("2026-S3", "semester must be S1 or S2"),
        ("0000", "year 0000"),
        ("26-Q1", "is not a period"),
        ("2026-3", "is not a period"),
        ("Q1-2026", "is not a period"),
        ("", "is not a period"),
        ("2026-02-30..2026-03-01", "not a real date"),
        ("2026-03-02..2026-03-01", "ends (2026-03-01) before it starts"),
    ],
)
def test_bad_periods_say_why(text: str, message: str) -> None:
    with pytest.raises(PeriodError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_period(text)


@pytest.mark.parametrize(
    ("first", "last", "days"),
    [
        (D(2026, 1, 1), D(2026, 1, 1), 1),
        (D(2026, 2, 1), D(2026, 2, 28), 28),
        (D(2024, 1, 1), D(2024, 12, 31), 366),
    ],
)
def test_explicit_range_includes_both_days(first: date, last: date, days: int) -> None:
    period = period_between(first, last)
    assert period.days == days
    assert period.start == first and period.last_day == last


@pytest.mark.parametrize(
    ("text", "ok"),
    [("2026-03-01", True), ("2026-3-1", False), ("2026-02-29", False), ("01/03/2026", False)],
)
def test_parse_date_is_strict(text: str, ok: bool) -> None:
    if ok:
        assert parse_date(text) == D(2026, 3, 1)
    else:
        with pytest.raises(PeriodError):
            parse_date(text)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 11, 25), "2026-Q3"),
        (D(2026, 10, 1), "2026-Q3"),
        (D(2026, 9, 30), "2026-Q2"),
        (D(2026, 1, 1), "2025-Q4"),
        (D(2026, 3, 31), "2025-Q4"),
        (D(2026, 4, 1), "2026-Q1"),
    ],
)
def test_latest_complete_quarter(today: date, expected: str) -> None:
    assert latest_complete_quarter(today).label == expected


def test_bounds_are_local_midnights_in_the_deployment_zone() -> None:
    start, end = parse_period("2026-Q1").bounds(ZoneInfo("Asia/Jayapura"))
    # 00:00 WIT is 15:00 UTC the day before.
    assert start.astimezone(UTC) == datetime(2025, 12, 31, 15, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 3, 31, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("2026-W14", "Minggu ke-14 2026 (30 Maret 2026 s.d. 5 April 2026)"),
        ("2026-03", "Maret 2026"),
        ("2026-Q3", "Triwulan III 2026"),
        ("2026-S2", "Semester II 2026"),
        ("2026", "Tahun 2026"),
        ("2026-01-05..2026-01-20", "5 Januari 2026 s.d. 20 Januari 2026"),
    ],
)
def test_indonesian_titles(text: str, title: str) -> None:
    assert parse_period(text).title_id == title


def test_empty_period_is_refused() -> None:
    with pytest.raises(PeriodError):
        Period(PeriodKind.RANGE, "x", D(2026, 1, 2), D(2026, 1, 2))


@pytest.mark.parametrize(
    ("configured", "report", "expected"),
    [
        ({"2026": 24000}, "2026-Q1", ("2026", 24000)),
        ({"2026": 24000, "2026-Q1": 5000}, "2026-Q1", ("2026-Q1", 5000)),
        ({"2026": 24000, "2026-S1": 9000}, "2026-03", ("2026-S1", 9000)),
        ({"2026": 24000, "2026-Q2": 5000}, "2026-Q1", ("2026", 24000)),
        ({"2026-Q1": 5000}, "2026", None),  # a quarter's population says nothing of the year
        ({"2025": 100}, "2026-Q1", None),
        ({"2026-03": 800}, "2026-03-01..2026-03-15", ("2026-03", 800)),
        ({"2026": 24000}, "2025-12-20..2026-01-10", None),  # straddles two years
        ({"not-a-period": 5}, "2026", None),
    ],
)
def test_population_of_the_smallest_covering_period(
    configured: dict[str, int], report: str, expected: tuple[str, int] | None
) -> None:
    assert population_for(configured.items(), parse_period(report)) == expected
