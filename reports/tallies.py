"""A period's report data as the sum of date blocks: closed months, and today onwards.

Every figure a report shows is a sum over responses: ``SUM(score)`` and ``COUNT(*)`` per unit
and element, respondents per unit and breakdown value, suggestions per unit. Sums over disjoint
date ranges add up, so a period's :class:`~storage.reports.ReportData` is the sum of the data of
its blocks (:func:`combine`); the newest suggestions of a unit are the newest block's first.
:func:`blocks` cuts a period at month starts and at today: the blocks before today are
*closed* (only a paper import dated in them, rare, changes them; :mod:`reports.cache` keeps
them), the one from today on is *live* (every chat response lands there; read each time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from storage.reports import CountRow, ReportData, ScoreRow, SuggestionRow

__all__ = ["Blocks", "blocks", "combine"]


@dataclass(frozen=True)
class Blocks:
    """``closed``: ``(start, end)`` ranges before today, newest first; ``live``: from today."""

    closed: tuple[tuple[date, date], ...]
    live: tuple[date, date] | None


def blocks(start: date, end: date, today: date) -> Blocks:
    """``[start, end)`` cut at each month's first day and at ``today``.

    The closed part of today's month is one block ``[first of month, today)``: it moves daily,
    the months before it never do.
    """
    closed: list[tuple[date, date]] = []
    cursor = start
    stop = min(end, today)
    while cursor < stop:
        following = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
        closed.append((cursor, min(following, stop)))
        cursor = following
    live = (max(start, today), end) if today < end else None
    return Blocks(tuple(reversed(closed)), live)


def combine(parts: Sequence[ReportData], suggestion_limit: int | None) -> ReportData:
    """The data of disjoint date blocks as one; ``parts`` newest first, none empty of units.

    Tallies and counts are added; each unit keeps its newest ``suggestion_limit`` suggestions
    (blocks are newest first, and each block's rows are newest first within a unit).
    """
    if len(parts) == 1:
        return parts[0]
    scores: dict[tuple[str | None, str], list[int]] = {}
    for part in parts:
        for row in part.scores:
            total = scores.setdefault((row.group, row.element_code), [0, 0])
            total[0] += row.score_sum
            total[1] += row.answered
    counts: dict[tuple[str, str | None, str | None], int] = {}
    for part in parts:
        for count in part.counts:
            key = (count.unit_code, count.dimension, count.value)
            counts[key] = counts.get(key, 0) + count.count
    suggestions: dict[str, list[SuggestionRow]] = {}
    for part in parts:
        for suggestion in part.suggestions:
            kept = suggestions.setdefault(suggestion.unit_code, [])
            if suggestion_limit is None or len(kept) < suggestion_limit:
                kept.append(suggestion)
    totals: dict[str, int] = {}
    for part in parts:
        for unit_code, n in part.suggestion_totals.items():
            totals[unit_code] = totals.get(unit_code, 0) + n
    return ReportData(
        units=parts[0].units,
        scores=tuple(ScoreRow(g, e, s, n) for (g, e), (s, n) in scores.items()),
        counts=tuple(CountRow(u, d, v, n) for (u, d, v), n in counts.items()),
        suggestions=tuple(row for rows in suggestions.values() for row in rows),
        suggestion_totals=totals,
    )
