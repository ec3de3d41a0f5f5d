"""Build the SKM report from the database's grouped tallies.

The database returns one row per (unit, element) with ``SUM(score)`` and ``COUNT(*)``, one row
per (unit, dimension, value) with a respondent count, and the newest suggestions per unit
(:mod:`storage.reports`). Everything here works on those few rows: their number depends on the
directory, never on the number of responses. The arithmetic is
:func:`survey_flows.ikm.compute_ikm`'s, unchanged.

OPD and regency indices are computed from the *pooled* tallies of every response in scope:
per element, the sum of all scores over the number of all answers (the natural generalisation
of SKM.md's per-unit definition), over the nine standard elements. Each unit's own index is
listed beside them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from reports.model import (
    NOT_ANSWERED,
    OpdReport,
    RegencyReport,
    ReportRequest,
    Suggestion,
    UnitReport,
)
from reports.period import Period, PeriodError, parse_period
from storage import Storage
from storage.reports import (
    BREAKDOWN_DIMENSIONS,
    PROFILE_FIELDS,
    DirectoryUnit,
    ReportData,
    ReportScope,
    ReportStore,
)
from survey_flows.ikm import STANDARD_ELEMENTS, ElementTally, IkmResult, compute_ikm, sample_size
from survey_flows.personal_data import mask_personal_data
from survey_flows.skm import PROFILE_ITEMS

__all__ = [
    "ReportError",
    "assemble",
    "build_report",
    "checked_scope",
    "population_for",
    "request_scope",
]

_PROFILE_ORDER = {name: options for name, options in PROFILE_ITEMS}
_CODE = re.compile(r"(\D*)(\d*)(.*)", re.DOTALL)


class ReportError(Exception):
    """The request cannot be answered (unknown unit or OPD, impossible convention)."""


def request_scope(request: ReportRequest) -> ReportScope:
    """The storage filter for a request."""
    return ReportScope(
        start=request.period.start,
        end=request.period.end,
        unit_codes=request.unit_codes,
        opd_codes=request.opd_codes,
        service_type=request.service_type,
        channel=request.channel,
        profile=request.profile,
    )


async def build_report(
    storage: Storage, request: ReportRequest, *, organisation: str
) -> RegencyReport:
    """Query the database once (one snapshot) and assemble the report.

    Raises:
        ReportError: an unknown unit or OPD code, or the 0,111 convention with extra elements.
    """
    scope = checked_scope(request)
    data = await ReportStore(storage).report_data(scope, suggestion_limit=request.suggestion_limit)
    return assemble(data, request, organisation=organisation)


def checked_scope(request: ReportRequest) -> ReportScope:
    """:func:`request_scope`, with a bad filter as :class:`ReportError`."""
    try:
        return request_scope(request)
    except ValueError as exc:
        raise ReportError(str(exc)) from None


def assemble(data: ReportData, request: ReportRequest, *, organisation: str) -> RegencyReport:
    """The report from the grouped rows (pure).

    Raises:
        ReportError: see :func:`build_report`.
    """
    _check_codes(data.units, request)
    tallies: dict[str, dict[str, ElementTally]] = defaultdict(dict)
    for row in data.scores:
        assert row.group is not None
        tallies[row.group][row.element_code] = ElementTally(
            row.element_code, row.score_sum, row.answered
        )
    respondents: dict[str, int] = defaultdict(int)
    breakdowns: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for count in data.counts:
        if count.dimension is None:
            respondents[count.unit_code] += count.count
        else:
            value = NOT_ANSWERED if count.value is None else count.value
            unit_breakdown = breakdowns[count.unit_code][count.dimension]
            unit_breakdown[value] = unit_breakdown.get(value, 0) + count.count
    suggestions: dict[str, list[Suggestion]] = defaultdict(list)
    for suggestion in data.suggestions:
        suggestions[suggestion.unit_code].append(
            # Masked again on the way out: answers stored before masking at write time.
            Suggestion(
                suggestion.unit_code, suggestion.local_date, mask_personal_data(suggestion.text)
            )
        )

    selected = _selected_units(data.units, request, respondents)
    legacy = request.legacy_weight_0111
    unit_reports = {
        unit.code: _unit_report(
            unit,
            request.period,
            tallies.get(unit.code, {}),
            respondents.get(unit.code, 0),
            breakdowns.get(unit.code, {}),
            tuple(suggestions.get(unit.code, ())),
            data.suggestion_totals.get(unit.code, 0),
            legacy,
        )
        for unit in selected
    }

    opds: list[OpdReport] = []
    for opd_code, opd_name in _opds_in_order(selected):
        members = tuple(unit_reports[u.code] for u in selected if u.opd_code == opd_code)
        opds.append(
            OpdReport(
                respondents=sum(u.respondents for u in members),
                result=_pooled(members, [tallies.get(u.code, {}) for u in members], legacy),
                breakdown=_merge_breakdowns(u.breakdown for u in members),
                code=opd_code,
                name=opd_name,
                units=members,
            )
        )
    every_unit = tuple(unit_reports.values())
    return RegencyReport(
        respondents=sum(u.respondents for u in every_unit),
        result=_pooled(every_unit, [tallies.get(u.code, {}) for u in every_unit], legacy),
        breakdown=_merge_breakdowns(u.breakdown for u in every_unit),
        organisation=organisation,
        request=request,
        opds=tuple(opds),
        suggestion_total=sum(u.suggestion_total for u in every_unit),
    )


def _check_codes(units: Sequence[DirectoryUnit], request: ReportRequest) -> None:
    known_units = {u.code for u in units}
    known_opds = {u.opd_code for u in units}
    unknown = [code for code in request.unit_codes if code not in known_units]
    if unknown:
        raise ReportError(f"unknown unit code(s): {', '.join(unknown)}")
    unknown = [code for code in request.opd_codes if code not in known_opds]
    if unknown:
        raise ReportError(f"unknown OPD code(s) (or OPDs without units): {', '.join(unknown)}")
    for name, _ in request.profile:
        if name not in PROFILE_FIELDS:
            raise ReportError(f"unknown profile field {name!r}; use {', '.join(PROFILE_FIELDS)}")


def _selected_units(
    units: Sequence[DirectoryUnit], request: ReportRequest, respondents: Mapping[str, int]
) -> list[DirectoryUnit]:
    """Units in scope: active ones, and inactive ones that still have responses."""
    wanted_units = set(request.unit_codes)
    wanted_opds = set(request.opd_codes)
    return [
        u
        for u in units
        if (not wanted_units or u.code in wanted_units)
        and (not wanted_opds or u.opd_code in wanted_opds)
        and (u.active or respondents.get(u.code, 0) > 0 or u.code in wanted_units)
    ]


def _opds_in_order(units: Iterable[DirectoryUnit]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for unit in units:
        seen.setdefault(unit.opd_code, unit.opd_name)
    return list(seen.items())


def _code_order(code: str) -> tuple[str, int, str]:
    match = _CODE.fullmatch(code)
    assert match is not None
    prefix, number, rest = match.groups()
    return (prefix, int(number) if number else -1, rest)


def _compute(
    tallies: Mapping[str, ElementTally],
    respondents: int,
    elements: Sequence[str],
    legacy: bool,
    who: str,
) -> IkmResult:
    try:
        return compute_ikm(tallies, respondents, elements, legacy_weight_0111=legacy)
    except ValueError as exc:
        raise ReportError(f"{who}: {exc}") from None


def _unit_report(
    unit: DirectoryUnit,
    period: Period,
    tallies: Mapping[str, ElementTally],
    respondents: int,
    breakdown: Mapping[str, Mapping[str, int]],
    suggestions: tuple[Suggestion, ...],
    suggestion_total: int,
    legacy: bool,
) -> UnitReport:
    extras = sorted((code for code in tallies if code not in STANDARD_ELEMENTS), key=_code_order)
    elements = (*STANDARD_ELEMENTS, *extras)
    result = _compute(tallies, respondents, elements, legacy, f"unit {unit.code}")
    population = population_for(unit.populations, period)
    return UnitReport(
        respondents=respondents,
        result=result,
        breakdown=_ordered_breakdown(breakdown),
        code=unit.code,
        name=unit.name,
        opd_code=unit.opd_code,
        opd_name=unit.opd_name,
        active=unit.active,
        population=population[1] if population else None,
        population_period=population[0] if population else None,
        sample_required=sample_size(population[1]) if population else None,
        suggestions=suggestions,
        suggestion_total=suggestion_total,
    )


def _pooled(
    members: Sequence[UnitReport],
    member_tallies: Sequence[Mapping[str, ElementTally]],
    legacy: bool,
) -> IkmResult:
    """The index over every response of ``members``: per element, all scores / all answers."""
    sums: dict[str, int] = defaultdict(int)
    answered: dict[str, int] = defaultdict(int)
    for tallies in member_tallies:
        for code in STANDARD_ELEMENTS:
            tally = tallies.get(code)
            if tally is not None:
                sums[code] += tally.score_sum
                answered[code] += tally.answered
    pooled = {code: ElementTally(code, sums[code], answered[code]) for code in sums}
    return _compute(
        pooled, sum(m.respondents for m in members), STANDARD_ELEMENTS, legacy, "pooled index"
    )


def _merge_breakdowns(
    breakdowns: Iterable[Mapping[str, Mapping[str, int]]],
) -> dict[str, dict[str, int]]:
    merged: dict[str, dict[str, int]] = defaultdict(dict)
    for breakdown in breakdowns:
        for dimension, values in breakdown.items():
            target = merged[dimension]
            for value, count in values.items():
                target[value] = target.get(value, 0) + count
    return _ordered_breakdown(merged)


def _ordered_breakdown(
    breakdown: Mapping[str, Mapping[str, int]],
) -> dict[str, dict[str, int]]:
    """Dimensions in display order; values in questionnaire order, others by name, skips last."""
    ordered: dict[str, dict[str, int]] = {}
    for dimension in BREAKDOWN_DIMENSIONS:
        values = breakdown.get(dimension)
        if not values:
            continue
        known = _PROFILE_ORDER.get(dimension, ())

        def rank(value: str, known: tuple[str, ...] = known) -> tuple[int, int, str]:
            if value == NOT_ANSWERED:
                return (2, 0, value)
            if value in known:
                return (0, known.index(value), value)
            return (1, 0, value)

        ordered[dimension] = {value: values[value] for value in sorted(values, key=rank)}
    return ordered


def population_for(
    populations: Iterable[tuple[str, int]], period: Period
) -> tuple[str, int] | None:
    """The configured ``(period label, population)`` that applies to a report period.

    The smallest configured period that covers the whole report period wins (an exact match
    first): a quarter's report uses the quarter's population when one is set, else the
    semester's, else the year's. ``None`` when no configured period covers it.
    """
    best: tuple[int, str, int] | None = None
    for label, population in populations:
        try:
            configured = parse_period(label)
        except PeriodError:
            continue
        if configured.covers(period):
            candidate = (configured.days, label, population)
            if best is None or candidate < best:
                best = candidate
    return None if best is None else (best[1], best[2])
