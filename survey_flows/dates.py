"""Dates and numbers as a person reads them: one pure formatter for every channel and report.

A deadline is stored as the moment a limit runs out: midnight at the close of its last
working day. People are shown that last day itself, in words and with its weekday ("Rabu,
9 Desember 2026"), never the midnight after it, which reads as one day late. Numbers use the
language's grouping ("1.000" in Bahasa Indonesia, "1,000" in English). Names of days and
months come from the catalogue (``date.day.<0-6>``, ``date.month.<1-12>``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from survey_flows.catalog import text

# A deadline at exactly midnight belongs to the day before it.
_JUST_BEFORE = timedelta(microseconds=1)


def date_words(day: date, language: str, *, weekday: bool = True) -> str:
    """``Rabu, 9 Desember 2026`` / ``Wednesday, 9 December 2026`` (``9 Desember 2026``
    without the weekday, where a span of days is named)."""
    plain = f"{day.day} {text(language, f'date.month.{day.month}')} {day.year}"
    if not weekday:
        return plain
    return f"{text(language, f'date.day.{day.weekday()}')}, {plain}"


def last_day(due: datetime, zone: tzinfo) -> date:
    """The last local day on which a limit running out at ``due`` is still met."""
    return (due.astimezone(zone) - _JUST_BEFORE).date()


def deadline_words(due: datetime, zone: tzinfo, language: str) -> str:
    """A limit's last day in words: what "Batas ..." shows to citizens and officers."""
    return date_words(last_day(due, zone), language)


def moment_words(moment: datetime, zone: tzinfo, language: str) -> str:
    """The local day of an event (a complaint received, a digest sent late) in words."""
    return date_words(moment.astimezone(zone).date(), language)


def number_text(value: int, language: str) -> str:
    """A whole number grouped by thousands: ``1.000`` (id) or ``1,000`` (en)."""
    grouped = f"{value:,}"
    return grouped if language == "en" else grouped.replace(",", ".")
