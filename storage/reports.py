"""The SQL of the SKM reports: grouped aggregates, profile breakdowns, suggestions, paper import.

Every aggregate is one grouped statement evaluated by the database; Python never loops over
responses. A report's statements run in one snapshot (``REPEATABLE READ`` on PostgreSQL, one
read transaction on SQLite) so respondent counts and element tallies always agree.

Profile fields live in the ``survey_responses.profile`` JSON document; they are read with the
dialect's own JSON functions (``jsonb_to_record(profile)`` or ``profile ->> 'age'`` on
PostgreSQL, ``json_extract(profile, '$.age')`` on SQLite). The statements are otherwise the
same on both databases and return the same rows (tests run every report on both). On
PostgreSQL the report reads on two connections sharing one exported snapshot.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    String,
    Table,
    Text,
    and_,
    column,
    exists,
    func,
    insert,
    literal_column,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import Storage
from storage.errors import translated
from storage.models import Opd, ResponseScore, SurveyResponse, Unit, UnitPopulation
from survey_flows.skm import PROFILE_ITEMS
from survey_flows.types import Channel

__all__ = [
    "BREAKDOWN_DIMENSIONS",
    "PROFILE_FIELDS",
    "CountRow",
    "DirectoryUnit",
    "Level",
    "PaperResponse",
    "ReportData",
    "ReportScope",
    "ReportStore",
    "ScoreRow",
    "SuggestionRow",
]

PROFILE_FIELDS: tuple[str, ...] = tuple(name for name, _ in PROFILE_ITEMS)
"""Profile items kept in ``survey_responses.profile`` (age, gender, education, occupation)."""

COLUMN_DIMENSIONS: tuple[str, ...] = ("service_type", "channel")
"""Breakdown dimensions that are plain columns of ``survey_responses``."""

BREAKDOWN_DIMENSIONS: tuple[str, ...] = PROFILE_FIELDS + COLUMN_DIMENSIONS
"""Every dimension a report breaks respondents down by, in display order."""

CHANNELS: tuple[str, ...] = (*(channel.value for channel in Channel), "paper")
"""Every channel a response can come from (``paper``: imported questionnaires)."""

CODE_LISTS: tuple[tuple[str, tuple[str, ...]], ...] = (*PROFILE_ITEMS, ("channel", CHANNELS))
"""The breakdown dimensions whose values come from a closed list of codes."""


_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f-]{1,64}$")
_FIELD_NAME = re.compile(r"^[a-z][a-z_]{0,30}$")
_PAPER = "paper"
_INSERT_CHUNK = 500

RESPONSES: Table = SurveyResponse.__table__  # type: ignore[assignment]
SCORES: Table = ResponseScore.__table__  # type: ignore[assignment]
UNITS: Table = Unit.__table__  # type: ignore[assignment]
OPDS: Table = Opd.__table__  # type: ignore[assignment]
POPULATIONS: Table = UnitPopulation.__table__  # type: ignore[assignment]


class Level(StrEnum):
    """The grouping of an aggregate: per unit, per OPD, or the whole regency."""

    UNIT = "unit"
    OPD = "opd"
    REGENCY = "regency"


@dataclass(frozen=True, slots=True)
class ReportScope:
    """Which responses a report counts.

    Attributes:
        start: first local date (inclusive).
        end: first local date after the range (exclusive).
        unit_codes: only these units (empty: no unit filter).
        opd_codes: only the units of these OPDs (empty: no OPD filter).
        service_type: only this service type (exact match).
        channel: only this channel (``telegram``, ``whatsapp``, ``console``, ``paper``).
        profile: ``(field, value)`` pairs the respondent's profile must all match.
    """

    start: date
    end: date
    unit_codes: tuple[str, ...] = ()
    opd_codes: tuple[str, ...] = ()
    service_type: str | None = None
    channel: str | None = None
    profile: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for name, _ in self.profile:
            if name not in PROFILE_FIELDS:
                raise ValueError(
                    f"unknown profile field {name!r}; use one of {', '.join(PROFILE_FIELDS)}"
                )


@dataclass(frozen=True, slots=True)
class DirectoryUnit:
    """A unit with its OPD and configured populations, as reports need it."""

    id: int
    code: str
    name: str
    opd_code: str
    opd_name: str
    active: bool
    populations: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """``SUM(score)`` and ``COUNT(*)`` of one element in one group.

    ``group`` is the unit code, the OPD code, or ``None`` for the regency.
    """

    group: str | None
    element_code: str
    score_sum: int
    answered: int


@dataclass(frozen=True, slots=True)
class CountRow:
    """Respondents of one unit, in total (``dimension`` None) or with one dimension's value.

    ``value`` None means the respondent skipped that item.
    """

    unit_code: str
    dimension: str | None
    value: str | None
    count: int


@dataclass(frozen=True, slots=True)
class SuggestionRow:
    """One suggestion (saran) received."""

    unit_code: str
    local_date: date
    text: str


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything a report reads, from one snapshot. Sizes depend on the directory, not on
    the number of responses (suggestions are capped per unit by the caller)."""

    units: tuple[DirectoryUnit, ...]
    scores: tuple[ScoreRow, ...]
    counts: tuple[CountRow, ...]
    suggestions: tuple[SuggestionRow, ...]
    suggestion_totals: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PaperResponse:
    """A validated paper questionnaire, ready to store."""

    unit_code: str
    local_date: date
    service_type: str | None
    profile: Mapping[str, str]
    scores: Mapping[str, int]
    suggestion: str | None


class ReportStore:
    """Report queries over a :class:`~storage.Storage`."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.dialect = storage.dialect

    # --- snapshot ----------------------------------------------------------------------------

    @asynccontextmanager
    async def snapshot(self, shared: str | None = None) -> AsyncIterator[AsyncConnection]:
        """One read transaction, so that every statement sees the same data.

        Args:
            shared: on PostgreSQL, the id of a snapshot exported by another open transaction
                (``pg_export_snapshot()``): this transaction then sees exactly what it sees.

        Raises:
            StorageUnavailable: the database cannot be reached.
        """
        async with translated(), self._snapshot(shared) as connection:
            yield connection

    @asynccontextmanager
    async def _snapshot(self, shared: str | None) -> AsyncIterator[AsyncConnection]:
        async with self.storage.engine.connect() as connection:
            if self.dialect == "postgresql":
                connection = await connection.execution_options(isolation_level="REPEATABLE READ")
                async with connection.begin():
                    if shared is not None:
                        if not _SNAPSHOT_ID.fullmatch(shared):
                            raise ValueError(f"not a snapshot id: {shared!r}")
                        await connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{shared}'")
                    yield connection
                return
            if shared is not None:
                raise ValueError("only PostgreSQL shares snapshots between connections")
            async with connection.begin():
                # pysqlite starts transactions only before writes; an explicit BEGIN makes the
                # reads below one snapshot (WAL) instead of one per statement.
                await connection.exec_driver_sql("BEGIN")
                yield connection

    # --- public reads ------------------------------------------------------------------------

    async def directory_units(self) -> tuple[DirectoryUnit, ...]:
        """Every unit with its OPD and populations, in directory order."""
        async with self.snapshot() as connection:
            return await self._directory(connection)

    async def data_version(
        self, watch: Sequence[int] = ()
    ) -> tuple[int, tuple[object, ...], tuple[int, ...]]:
        """What tells a cache that reports may have changed: the newest response id (chat or
        paper), the directory's state (last change of a unit or OPD, populations held), and for
        each id in ``watch`` how many responses have a greater id (a range of the primary key:
        a response committed after others with greater ids shows as a count that grew). One
        snapshot; index lookups and short index ranges only."""
        low = min(watch, default=None)
        async with self.snapshot() as connection:
            row = (
                await connection.execute(
                    select(
                        select(func.max(RESPONSES.c.id)).scalar_subquery(),
                        select(func.max(UNITS.c.updated_at)).scalar_subquery(),
                        select(func.max(OPDS.c.updated_at)).scalar_subquery(),
                        select(func.count()).select_from(POPULATIONS).scalar_subquery(),
                    )
                )
            ).one()
            counts: tuple[int, ...] = ()
            if low is not None:
                counted = (
                    await connection.execute(
                        select(
                            *(func.count().filter(RESPONSES.c.id > after) for after in watch)
                        ).where(RESPONSES.c.id > low)
                    )
                ).one()
                counts = tuple(int(n) for n in counted)
        return int(row[0] or 0), tuple(row[1:4]), counts

    async def dates_between(self, after: int, up_to: int) -> frozenset[date]:
        """The local dates of the responses with ids in ``(after, up_to]``."""
        async with self.snapshot() as connection:
            rows = await connection.execute(
                select(RESPONSES.c.local_date)
                .where(RESPONSES.c.id > after, RESPONSES.c.id <= up_to)
                .distinct()
            )
            return frozenset(day for (day,) in rows)

    async def units_answered_since(self, day: date) -> frozenset[str]:
        """Codes of the units with at least one response dated ``day`` or later."""
        async with self.snapshot() as connection:
            rows = await connection.execute(
                select(UNITS.c.code).where(
                    exists().where(RESPONSES.c.unit_id == UNITS.c.id, RESPONSES.c.local_date >= day)
                )
            )
            return frozenset(code for (code,) in rows)

    async def dates_after(self, response_id: int) -> frozenset[date]:
        """The local dates of the responses stored after ``response_id`` (a range scan of the
        primary key: cheap for the few new ones)."""
        async with self.snapshot() as connection:
            rows = await connection.execute(
                select(RESPONSES.c.local_date).where(RESPONSES.c.id > response_id).distinct()
            )
            return frozenset(day for (day,) in rows)

    async def report_data(
        self,
        scope: ReportScope,
        *,
        suggestion_limit: int | None = 100,
        narrow: bool = False,
    ) -> ReportData:
        """The unit-level aggregates of ``scope``: tallies, counts, breakdowns, suggestions.

        Args:
            scope: the responses to count.
            suggestion_limit: keep the newest this many suggestions per unit (``None``: all);
                the total per unit is always counted.
            narrow: the scope's dates hold few responses (today's): read them through the
                ``(unit_id, local_date)`` index, naming every unit, rather than scanning.
        """
        async with self.snapshot() as connection:
            units = await self._directory(connection)
            ids = _unit_ids(units, scope)
            if narrow and ids is None:
                ids = [u.id for u in units]
            by_id = {u.id: u.code for u in units}
            conditions = self._conditions(scope, ids)

            async def responses_side(
                on: AsyncConnection,
            ) -> tuple[tuple[CountRow, ...], dict[str, int], tuple[SuggestionRow, ...]]:
                counts, totals = await self._counts(on, conditions, by_id)
                suggestions = await self._suggestions(on, conditions, by_id, suggestion_limit)
                return counts, totals, suggestions

            if self.dialect == "postgresql":
                # The score tallies and the scans of survey_responses run side by side on two
                # connections that share one exported snapshot: the same data, less waiting.
                exported = (
                    await connection.exec_driver_sql("SELECT pg_export_snapshot()")
                ).scalar_one()
                async with self.snapshot(shared=str(exported)) as second:
                    scores, (counts, totals, suggestions) = await asyncio.gather(
                        self._scores(connection, conditions, Level.UNIT, by_id, {}),
                        responses_side(second),
                    )
            else:
                scores = await self._scores(connection, conditions, Level.UNIT, by_id, {})
                counts, totals, suggestions = await responses_side(connection)
        return ReportData(units, scores, counts, suggestions, totals)

    async def score_tallies(self, scope: ReportScope, level: Level) -> tuple[ScoreRow, ...]:
        """One ``GROUP BY`` of ``(group, element_code)`` at ``level`` over ``scope``."""
        async with self.snapshot() as connection:
            units = await self._directory(connection)
            conditions = self._conditions(scope, _unit_ids(units, scope))
            opd_codes = (await connection.execute(select(OPDS.c.id, OPDS.c.code))).all()
            return await self._scores(
                connection,
                conditions,
                level,
                {u.id: u.code for u in units},
                {row_id: code for row_id, code in opd_codes},
            )

    # --- statements --------------------------------------------------------------------------

    async def _directory(self, connection: AsyncConnection) -> tuple[DirectoryUnit, ...]:
        rows = (
            await connection.execute(
                select(
                    UNITS.c.id,
                    UNITS.c.code,
                    UNITS.c.name,
                    OPDS.c.code,
                    OPDS.c.name,
                    UNITS.c.active & OPDS.c.active,
                )
                .join(OPDS, OPDS.c.id == UNITS.c.opd_id)
                .order_by(OPDS.c.position, OPDS.c.id, UNITS.c.position, UNITS.c.id)
            )
        ).all()
        populations: dict[int, list[tuple[str, int]]] = {}
        for unit_id, period, population in (
            await connection.execute(
                select(
                    POPULATIONS.c.unit_id, POPULATIONS.c.period, POPULATIONS.c.population
                ).order_by(POPULATIONS.c.unit_id, POPULATIONS.c.period)
            )
        ).all():
            populations.setdefault(unit_id, []).append((period, population))
        return tuple(
            DirectoryUnit(
                id=unit_id,
                code=code,
                name=name,
                opd_code=opd_code,
                opd_name=opd_name,
                active=bool(active),
                populations=tuple(populations.get(unit_id, ())),
            )
            for unit_id, code, name, opd_code, opd_name, active in rows
        )

    def _profile_value(self, name: str) -> ColumnElement[str]:
        """The text value of one profile item, with the dialect's JSON operator."""
        if not _FIELD_NAME.fullmatch(name):
            raise ValueError(f"bad profile field name {name!r}")
        profile = RESPONSES.c.profile
        # Literal keys (not bind parameters): PostgreSQL matches GROUP BY expressions to the
        # select list textually, and two parameters never compare equal.
        if self.dialect == "postgresql":
            return profile.op("->>", return_type=String)(literal_column(f"'{name}'"))
        return func.json_extract(profile, literal_column(f"'$.{name}'"), type_=String)

    def _dimension(self, name: str) -> ColumnElement[Any]:
        if name in COLUMN_DIMENSIONS:
            return RESPONSES.c[name]
        return self._profile_value(name)

    def _conditions(
        self, scope: ReportScope, unit_ids: Sequence[int] | None
    ) -> list[ColumnElement[bool]]:
        r = RESPONSES.c
        conditions: list[ColumnElement[bool]] = [
            r.local_date >= scope.start,
            r.local_date < scope.end,
        ]
        if unit_ids is not None:
            conditions.append(r.unit_id.in_(list(unit_ids)))
        if scope.service_type is not None:
            conditions.append(r.service_type == scope.service_type)
        if scope.channel is not None:
            conditions.append(r.channel == scope.channel)
        for name, value in scope.profile:
            conditions.append(self._profile_value(name) == value)
        return conditions

    async def _scores(
        self,
        connection: AsyncConnection,
        conditions: Sequence[ColumnElement[bool]],
        level: Level,
        unit_codes: Mapping[int, str],
        opd_codes: Mapping[int, str],
    ) -> tuple[ScoreRow, ...]:
        r, s = RESPONSES.c, SCORES.c
        source = SCORES.join(RESPONSES, r.id == s.response_id)
        groups: list[ColumnElement[Any]] = []
        if level is Level.UNIT:
            groups = [r.unit_id]
        elif level is Level.OPD:
            source = source.join(UNITS, UNITS.c.id == r.unit_id)
            groups = [UNITS.c.opd_id]
        statement = (
            select(*groups, s.element_code, func.sum(s.score), func.count())
            .select_from(source)
            .where(*conditions)
            .group_by(*groups, s.element_code)
        )
        rows: Sequence[Any] = (await connection.execute(statement)).all()
        if level is Level.REGENCY:
            return tuple(ScoreRow(None, code, int(total), int(n)) for code, total, n in rows)
        names = unit_codes if level is Level.UNIT else opd_codes
        return tuple(
            ScoreRow(names[group_id], code, int(total), int(n)) for group_id, code, total, n in rows
        )

    async def _counts(
        self,
        connection: AsyncConnection,
        conditions: Sequence[ColumnElement[bool]],
        unit_codes: Mapping[int, str],
    ) -> tuple[tuple[CountRow, ...], dict[str, int]]:
        """Respondents per unit, in total and by every breakdown dimension, and the number of
        suggestions per unit: one scan of ``survey_responses``.

        Profile items and the channel take their values from closed code lists, so they are
        counted with conditional aggregates (``count(*) FILTER (WHERE age = '17-25')``) in a
        statement grouped by unit and service type only: a small hash table, parallel on
        PostgreSQL, where a ``GROUP BY`` per item (or ``GROUPING SETS``, which PostgreSQL cannot
        parallelise) costs several times more. PostgreSQL unpacks the JSON profile once per row
        with ``jsonb_to_record``. A value outside the lists (an old or hand-edited row) is still
        counted exactly, by a follow-up ``GROUP BY`` of that item, run only when the first scan
        shows such values.
        """
        r = RESPONSES.c
        source: FromClause = RESPONSES
        if self.dialect == "postgresql":
            record = (
                func.jsonb_to_record(r.profile)
                .table_valued(*(column(name, Text) for name in PROFILE_FIELDS))
                .render_derived(name="profile_items", with_types=True)
            )
            source = RESPONSES.join(record, true())
            values: dict[str, ColumnElement[Any]] = {n: record.c[n] for n in PROFILE_FIELDS}
        else:
            values = {name: self._profile_value(name) for name in PROFILE_FIELDS}
        values["channel"] = r.channel
        has_suggestion = and_(r.suggestion.is_not(None), func.trim(r.suggestion) != "")
        columns: list[ColumnElement[Any]] = [
            r.unit_id,
            r.service_type,
            func.count(),
            func.count().filter(has_suggestion),
        ]
        for name, codes in CODE_LISTS:
            columns.append(func.count(values[name]))
            columns.extend(
                func.count().filter(values[name] == literal_column(_quoted(code))) for code in codes
            )
        statement = (
            select(*columns)
            .select_from(source)
            .where(*conditions)
            .group_by(r.unit_id, r.service_type)
        )

        sums: dict[tuple[str, str | None, str | None], int] = {}
        suggestion_totals: dict[str, int] = {}
        stray: set[str] = set()

        def add(key: tuple[str, str | None, str | None], n: int) -> None:
            if n:
                sums[key] = sums.get(key, 0) + n

        rows: Sequence[Any] = (await connection.execute(statement)).all()
        for unit_id, service_type, respondents, with_suggestion, *counts in rows:
            code = unit_codes[unit_id]
            add((code, None, None), respondents)
            add((code, "service_type", service_type), respondents)
            if with_suggestion:
                suggestion_totals[code] = suggestion_totals.get(code, 0) + with_suggestion
            position = 0
            for name, codes in CODE_LISTS:
                answered = int(counts[position])
                known = [int(n) for n in counts[position + 1 : position + 1 + len(codes)]]
                position += 1 + len(codes)
                for value, n in zip(codes, known, strict=True):
                    add((code, name, value), n)
                add((code, name, None), int(respondents) - answered)
                if answered != sum(known):
                    stray.add(name)

        for name, codes in CODE_LISTS:
            if name not in stray:
                continue
            expression: ColumnElement[Any] = (
                r.channel if name == "channel" else self._profile_value(name)
            )
            outside = (
                select(r.unit_id, expression, func.count())
                .where(*conditions, expression.is_not(None), expression.not_in(codes))
                .group_by(r.unit_id, expression)
            )
            for unit_id, found, n in (await connection.execute(outside)).all():
                add((unit_codes[unit_id], name, found), int(n))
        counted = tuple(CountRow(u, d, v, n) for (u, d, v), n in sums.items())
        return counted, suggestion_totals

    async def _suggestions(
        self,
        connection: AsyncConnection,
        conditions: Sequence[ColumnElement[bool]],
        unit_codes: Mapping[int, str],
        limit: int | None,
    ) -> tuple[SuggestionRow, ...]:
        """The newest ``limit`` suggestions of each unit (all with ``None``), newest first."""
        if limit == 0:
            return ()
        r = RESPONSES.c
        ranked = (
            select(
                r.unit_id,
                r.local_date,
                r.suggestion,
                func.row_number()
                .over(partition_by=r.unit_id, order_by=(r.local_date.desc(), r.id.desc()))
                .label("rank"),
            )
            .where(*conditions, r.suggestion.is_not(None), func.trim(r.suggestion) != "")
            .subquery()
        )
        statement = select(ranked.c.unit_id, ranked.c.local_date, ranked.c.suggestion).order_by(
            ranked.c.unit_id, ranked.c.rank
        )
        if limit is not None:
            statement = statement.where(ranked.c.rank <= limit)
        return tuple(
            SuggestionRow(unit_codes[unit_id], local_date, text)
            for unit_id, local_date, text in (await connection.execute(statement)).all()
        )

    # --- paper questionnaires ----------------------------------------------------------------

    async def insert_paper_responses(
        self, responses: Sequence[PaperResponse], submitted_at: datetime
    ) -> int:
        """Store paper questionnaires in one transaction; returns how many were stored.

        Each gets ``source = channel = 'paper'``, no respondent key, ``submitted_at`` = the time
        of the import and ``local_date`` = the date written on the form.

        Raises:
            KeyError: a unit code is not in the directory (validate first).
        """
        if not responses:
            return 0
        async with self.storage.transaction() as tx:
            connection = await tx.session.connection()
            ids = dict((await connection.execute(select(UNITS.c.code, UNITS.c.id))).all())
            for first in range(0, len(responses), _INSERT_CHUNK):
                chunk = responses[first : first + _INSERT_CHUNK]
                rows = [
                    {
                        "unit_id": ids[p.unit_code],
                        "service_type": p.service_type,
                        "channel": _PAPER,
                        "source": _PAPER,
                        "respondent_key": None,
                        "profile": dict(p.profile),
                        "suggestion": p.suggestion,
                        "language": "id",
                        "started_at": None,
                        "submitted_at": submitted_at,
                        "local_date": p.local_date,
                    }
                    for p in chunk
                ]
                inserted = await connection.execute(
                    insert(RESPONSES).returning(RESPONSES.c.id, sort_by_parameter_order=True),
                    rows,
                )
                new_ids = [row_id for (row_id,) in inserted.all()]
                scores = [
                    {"response_id": response_id, "element_code": code, "score": score}
                    for response_id, p in zip(new_ids, chunk, strict=True)
                    for code, score in p.scores.items()
                ]
                if scores:
                    await connection.execute(insert(SCORES), scores)
        return len(responses)


def _quoted(code: str) -> str:
    """A code from the questionnaire as an SQL string literal (codes never hold quotes)."""
    if "'" in code:
        raise ValueError(f"bad code {code!r}")
    return f"'{code}'"


def _unit_ids(units: Sequence[DirectoryUnit], scope: ReportScope) -> list[int] | None:
    """Ids of the units ``scope`` selects, or ``None`` when it selects every unit."""
    if not scope.unit_codes and not scope.opd_codes:
        return None
    wanted_units = set(scope.unit_codes)
    wanted_opds = set(scope.opd_codes)
    return [
        u.id
        for u in units
        if (not wanted_units or u.code in wanted_units)
        and (not wanted_opds or u.opd_code in wanted_opds)
    ]
