"""Working-day arithmetic for complaint deadlines (hari kerja).

Government working days are Monday to Friday, except national holidays and cuti bersama, which
are data (a calendar per year). A limit of N working days from a moment ends when the N-th
working day after the day it started ends, in the deployment's timezone: a complaint filed on
Friday 13 March 2026 with 3 working days is due at the end of Wednesday 25 March, because 16 and
17 March count and 18-24 March are holidays.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo


@dataclass(frozen=True, slots=True)
class Holiday:
    """A national holiday or cuti bersama day."""

    day: date
    name: str


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Which days government offices work."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    weekend: frozenset[int] = frozenset({5, 6})  # Saturday, Sunday (date.weekday())

    @classmethod
    def of(cls, holidays: Iterable[date]) -> WorkCalendar:
        return cls(frozenset(holidays))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself never counts)."""
        if days < 0:
            raise ValueError("days must not be negative")
        current = start
        counted = 0
        while counted < days:
            current += timedelta(days=1)
            if self.is_working_day(current):
                counted += 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
        count = 0
        current = start
        while current < end:
            current += timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count

    def due_at(self, moment: datetime, days: int, zone: tzinfo) -> datetime:
        """When a limit of ``days`` working days, started at ``moment``, runs out.

        The end of the last working day, i.e. midnight at its close, in ``zone``.
        """
        local_day = moment.astimezone(zone).date()
        last = self.add_working_days(local_day, days)
        return datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=zone)
