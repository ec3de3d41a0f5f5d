"""The report as JSON for other systems.

Numbers are written exactly as displayed: ``"ikm": 88.89`` and ``"U1": 3.50`` are the
half-up rounded decimals (two places; ``nrr_detail`` has four), never binary floats, so a
reader using ``json.loads(..., parse_float=decimal.Decimal)`` gets the very same values.

Each entry of ``units`` has exactly the keys ``unit``, ``respondents``, ``nrr``, ``ikm``,
``mutu``, ``kinerja`` and ``sample_required`` (``null`` when no population is configured, and
``ikm``/``mutu``/``kinerja`` are ``null`` when some element has no answer). Names, breakdowns,
weakest elements and suggestions are under ``unit_details``; OPDs and the pooled regency index
have their own sections.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from reports.model import (
    ELEMENT_NAMES,
    NRR_DETAIL_PLACES,
    Figures,
    OpdReport,
    RegencyReport,
    UnitReport,
)

__all__ = ["UNIT_KEYS", "report_document", "report_json", "unit_entry"]

UNIT_KEYS: tuple[str, ...] = (
    "unit",
    "respondents",
    "nrr",
    "ikm",
    "mutu",
    "kinerja",
    "sample_required",
)
"""The keys of every entry of ``units``, in order."""


def unit_entry(unit: UnitReport) -> dict[str, Any]:
    """One unit's entry of ``units``: exactly :data:`UNIT_KEYS`."""
    return {
        "unit": unit.code,
        "respondents": unit.respondents,
        "nrr": unit.nrr_table(),
        "ikm": unit.ikm,
        "mutu": None if unit.mutu is None else unit.mutu.value,
        "kinerja": unit.kinerja,
        "sample_required": unit.sample_required,
    }


def _figures(figures: Figures) -> dict[str, Any]:
    return {
        "respondents": figures.respondents,
        "nrr": figures.nrr_table(),
        "ikm": figures.ikm,
        "mutu": None if figures.mutu is None else figures.mutu.value,
        "kinerja": figures.kinerja,
        "weakest": figures.weakest(),
        "profile": figures.breakdown,
    }


def _opd_entry(opd: OpdReport) -> dict[str, Any]:
    return {
        "opd": opd.code,
        "name": opd.name,
        **_figures(opd),
        "units": [u.code for u in opd.units],
    }


def _unit_detail(unit: UnitReport) -> dict[str, Any]:
    return {
        "name": unit.name,
        "opd": unit.opd_code,
        "active": unit.active,
        "nrr_detail": unit.nrr_table(NRR_DETAIL_PLACES),
        "answered": dict(unit.result.answered),
        "element_mutu": {
            code: None if (m := unit.element_mutu(code)) is None else m.value
            for code in unit.elements
        },
        "weakest": unit.weakest(),
        "population": unit.population,
        "population_period": unit.population_period,
        "sample_met": unit.sample_met,
        "profile": unit.breakdown,
        "suggestion_total": unit.suggestion_total,
        "suggestions": [
            {"date": s.local_date.isoformat(), "text": s.text} for s in unit.suggestions
        ],
    }


def report_document(report: RegencyReport) -> dict[str, Any]:
    """The report as plain data (``Decimal`` for every displayed number)."""
    period = report.period
    return {
        "organisation": report.organisation,
        "period": {
            "label": period.label,
            "kind": period.kind.value,
            "title": period.title_id,
            "from": period.start.isoformat(),
            "to": period.last_day.isoformat(),
        },
        "filters": report.request.filters(),
        "convention": report.convention,
        "elements": {code: ELEMENT_NAMES.get(code, code) for code in report.element_columns},
        "regency": {**_figures(report), "suggestion_total": report.suggestion_total},
        "opds": [_opd_entry(opd) for opd in report.opds],
        "units": [unit_entry(unit) for unit in report.units],
        "unit_details": {unit.code: _unit_detail(unit) for unit in report.units},
    }


def report_json(report: RegencyReport, *, indent: int = 2) -> str:
    """The report document as JSON text, with exact decimals, ending in a newline."""
    return dumps(report_document(report), indent=indent) + "\n"


def dumps(value: Any, *, indent: int = 2) -> str:
    """JSON text in which every :class:`~decimal.Decimal` is written digit for digit."""
    parts: list[str] = []
    _write(value, parts, indent, 0)
    return "".join(parts)


def _write(value: Any, out: list[str], indent: int, level: int) -> None:
    if value is None or isinstance(value, bool | int | str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write {value} as JSON")
        out.append(str(value))
    elif isinstance(value, float):
        raise TypeError("floats are not written to reports; use Decimal")
    elif isinstance(value, Mapping):
        _container(
            [(json.dumps(str(k), ensure_ascii=False) + ": ", v) for k, v in value.items()],
            "{}",
            out,
            indent,
            level,
        )
    elif isinstance(value, Sequence):
        _container([("", v) for v in value], "[]", out, indent, level)
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _container(
    items: list[tuple[str, Any]], brackets: str, out: list[str], indent: int, level: int
) -> None:
    if not items:
        out.append(brackets)
        return
    inner = "\n" + " " * (indent * (level + 1))
    out.append(brackets[0])
    for index, (prefix, item) in enumerate(items):
        out.append(inner + prefix)
        _write(item, out, indent, level + 1)
        if index < len(items) - 1:
            out.append(",")
    out.append("\n" + " " * (indent * level) + brackets[1])
