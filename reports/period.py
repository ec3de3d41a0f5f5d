"""Report periods: ``2026-W14``, ``2026-03``, ``2026-Q1``, ``2026-S1``, ``2026`` or dates.

A period is a half-open range of *local* dates ``[start, end)`` in the deployment's time zone:
every survey response carries the local date it was submitted on (``local_date``), so a period
selects responses by that date and never by UTC instants. :meth:`Period.bounds` gives the same
range as aware datetimes for callers that need instants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = [
    "Period",
    "PeriodError",
    "PeriodKind",
    "latest_complete_quarter",
    "parse_date",
    "parse_period",
    "period_between",
]

MONTHS_ID: tuple[str, ...] = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
_ROMAN = ("I", "II", "III", "IV")

_YEAR = r"(?P<year>\d{4})"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("week", re.compile(rf"{_YEAR}-W(?P<n>\d{{2}})")),
    ("month", re.compile(rf"{_YEAR}-(?P<n>\d{{2}})")),
    ("quarter", re.compile(rf"{_YEAR}-Q(?P<n>\d)")),
    ("semester", re.compile(rf"{_YEAR}-S(?P<n>\d)")),
    ("year", re.compile(_YEAR)),
    ("range", re.compile(r"(?P<start>\d{4}-\d{2}-\d{2})\.\.(?P<end>\d{4}-\d{2}-\d{2})")),
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class PeriodError(ValueError):
    """A period or date that cannot be read; the message says what is expected."""


class PeriodKind(StrEnum):
    """What kind of calendar span a period is."""

    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    SEMESTER = "semester"
    YEAR = "year"
    RANGE = "range"


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open range of local dates ``[start, end)``.

    Attributes:
        kind: the calendar span (``range`` for explicit dates).
        label: canonical label (``2026-Q1``; ``2026-01-05..2026-01-20`` for a range, both
            dates inclusive).
        start: first local date in the period.
        end: first local date after the period (exclusive).
    """

    kind: PeriodKind
    label: str
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise PeriodError(f"period {self.label!r} is empty: it must end after it starts")

    @property
    def last_day(self) -> date:
        """The last local date in the period (inclusive)."""
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def covers(self, other: Period) -> bool:
        """True when every day of ``other`` lies in this period."""
        return self.start <= other.start and other.end <= self.end

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as aware instants ``[start 00:00, end 00:00)`` in ``zone``."""
        return (
            datetime.combine(self.start, time(0), tzinfo=zone),
            datetime.combine(self.end, time(0), tzinfo=zone),
        )

    @property
    def title_id(self) -> str:
        """The period in Indonesian, as printed on reports and posters."""
        year = self.start.year
        if self.kind is PeriodKind.WEEK:
            iso_year, week, _ = self.start.isocalendar()
            return (
                f"Minggu ke-{week} {iso_year} ({_day_id(self.start)} s.d. {_day_id(self.last_day)})"
            )
        if self.kind is PeriodKind.MONTH:
            return f"{MONTHS_ID[self.start.month - 1]} {year}"
        if self.kind is PeriodKind.QUARTER:
            return f"Triwulan {_ROMAN[(self.start.month - 1) // 3]} {year}"
        if self.kind is PeriodKind.SEMESTER:
            return f"Semester {_ROMAN[(self.start.month - 1) // 6]} {year}"
        if self.kind is PeriodKind.YEAR:
            return f"Tahun {year}"
        return f"{_day_id(self.start)} s.d. {_day_id(self.last_day)}"


def _day_id(day: date) -> str:
    return f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}"


def parse_date(text: str) -> date:
    """A ``YYYY-MM-DD`` date, strictly.

    Raises:
        PeriodError: not of that shape, or not a real date.
    """
    value = text.strip()
    if not _DATE.fullmatch(value):
        raise PeriodError(f"{text!r} is not a date of the form YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodError(f"{text!r} is not a real date") from None


def period_between(first: date, last: date) -> Period:
    """The explicit range from ``first`` to ``last``, both inclusive.

    Raises:
        PeriodError: ``last`` is before ``first``.
    """
    if last < first:
        raise PeriodError(f"the range ends ({last}) before it starts ({first})")
    return Period(PeriodKind.RANGE, f"{first}..{last}", first, last + timedelta(days=1))


def parse_period(text: str) -> Period:
    """Read a period label.

    Accepted: ``2026-W14`` (ISO week, Monday to Sunday), ``2026-03`` (month), ``2026-Q1``
    (quarter), ``2026-S1`` (semester), ``2026`` (year), ``2026-01-05..2026-01-20`` (dates,
    both inclusive). Letters may be lower case.

    Raises:
        PeriodError: anything else, or an impossible week, month, quarter or semester.
    """
    value = text.strip().upper()
    for kind, pattern in _PATTERNS:
        match = pattern.fullmatch(value)
        if match is None:
            continue
        if kind == "range":
            return period_between(parse_date(match["start"]), parse_date(match["end"]))
        year = int(match["year"])
        if year < 1:
            raise PeriodError(f"{text!r}: year 0000 does not exist")
        if kind == "year":
            return Period(PeriodKind.YEAR, f"{year:04d}", date(year, 1, 1), _year_end(year))
        n = int(match["n"])
        if kind == "week":
            return _week(text, year, n)
        if kind == "month":
            if not 1 <= n <= 12:
                raise PeriodError(f"{text!r}: month must be 01 to 12")
            return Period(
                PeriodKind.MONTH, f"{year:04d}-{n:02d}", date(year, n, 1), _month_start(year, n + 1)
            )
        if kind == "quarter":
            if not 1 <= n <= 4:
                raise PeriodError(f"{text!r}: quarter must be Q1 to Q4")
            first = 3 * (n - 1) + 1
            return Period(
                PeriodKind.QUARTER,
                f"{year:04d}-Q{n}",
                date(year, first, 1),
                _month_start(year, first + 3),
            )
        if not 1 <= n <= 2:
            raise PeriodError(f"{text!r}: semester must be S1 or S2")
        first = 6 * (n - 1) + 1
        return Period(
            PeriodKind.SEMESTER,
            f"{year:04d}-S{n}",
            date(year, first, 1),
            _month_start(year, first + 6),
        )
    raise PeriodError(
        f"{text!r} is not a period: use 2026-W14, 2026-03, 2026-Q1, 2026-S1, 2026 "
        "or 2026-01-05..2026-01-20"
    )


def _week(text: str, year: int, week: int) -> Period:
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise PeriodError(f"{text!r}: ISO year {year} has no week {week}") from None
    return Period(PeriodKind.WEEK, f"{year:04d}-W{week:02d}", monday, monday + timedelta(days=7))


def _month_start(year: int, month: int) -> date:
    """First day of ``month`` (13 means January of the next year)."""
    if month > 12:
        return _year_end(year)
    return date(year, month, 1)


def _year_end(year: int) -> date:
    if year >= 9999:
        raise PeriodError("year 9999 is out of range")
    return date(year + 1, 1, 1)


def latest_complete_quarter(today: date) -> Period:
    """The last quarter that ended before ``today`` (a local date)."""
    quarter = (today.month - 1) // 3 + 1
    year = today.year
    quarter -= 1
    if quarter == 0:
        year, quarter = year - 1, 4
    return parse_period(f"{year:04d}-Q{quarter}")


def quarter_of(day: date) -> Period:
    """The quarter containing ``day``."""
    return parse_period(f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}")


def month_of(day: date) -> Period:
    return parse_period(f"{day.year:04d}-{day.month:02d}")


def quarters_up_to(day: date, count: int) -> list[Period]:
    """The ``count`` quarters ending with the one containing ``day``, oldest first."""
    quarters = [quarter_of(day)]
    while len(quarters) < count:
        quarters.append(quarter_of(quarters[-1].start - timedelta(days=1)))
    return quarters[::-1]


def recent_periods(today: date) -> list[Period]:
    """The periods a picker offers: this and the last 7 quarters, 12 months, 4 semesters and
    3 years, newest first within each kind."""
    quarters = quarters_up_to(today, 8)[::-1]
    months = [month_of(today)]
    while len(months) < 12:
        months.append(month_of(months[-1].start - timedelta(days=1)))
    semesters = [parse_period(f"{today.year:04d}-S{1 if today.month <= 6 else 2}")]
    while len(semesters) < 4:
        before = semesters[-1].start - timedelta(days=1)
        semesters.append(parse_period(f"{before.year:04d}-S{1 if before.month <= 6 else 2}"))
    years = [parse_period(f"{today.year - n:04d}") for n in range(3)]
    return quarters + months + semesters + years
