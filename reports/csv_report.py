"""The report as CSV: one row per unit, the numbers exactly as displayed."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from reports.cells import safe_text
from reports.model import RegencyReport, UnitReport

__all__ = ["csv_header", "report_csv"]


def csv_header(report: RegencyReport) -> list[str]:
    """Column names: identity, respondents, NRR per element, index, grade, sample."""
    return [
        "unit",
        "unit_name",
        "opd",
        "respondents",
        *(f"nrr_{code}" for code in report.element_columns),
        "ikm",
        "mutu",
        "kinerja",
        "sample_required",
        "population",
        "population_period",
        "weakest",
        "period",
        "convention",
    ]


def _cell(value: Decimal | int | str | None) -> str:
    return "" if value is None else str(value)


def _row(report: RegencyReport, unit: UnitReport) -> list[str]:
    return [  # names come from people (the directory file): never a formula in a spreadsheet
        safe_text(unit.code),
        safe_text(unit.name),
        safe_text(unit.opd_code),
        str(unit.respondents),
        *(
            _cell(unit.nrr(code)) if code in unit.elements else ""
            for code in report.element_columns
        ),
        _cell(unit.ikm),
        _cell(None if unit.mutu is None else unit.mutu.value),
        _cell(unit.kinerja),
        _cell(unit.sample_required),
        _cell(unit.population),
        _cell(unit.population_period),
        " ".join(unit.weakest()),
        report.period.label,
        report.convention,
    ]


def report_csv(report: RegencyReport) -> str:
    """CSV text (comma-separated, ``\\r\\n`` line ends as RFC 4180 asks); blank = no value."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(csv_header(report))
    for unit in report.units:
        writer.writerow(_row(report, unit))
    return buffer.getvalue()
