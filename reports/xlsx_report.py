"""The report as a spreadsheet (openpyxl), in the layout of the regencies' SKM workbooks.

Sheets:

* ``Ringkasan``: per unit respondents, IKM, mutu, kinerja, sample; then per OPD; then the
  regency (pooled).
* ``Unsur``: per element detail for the regency, each OPD and each unit: total score, answers,
  NRR (4 and 2 decimals), element grade.
* ``Profil``: respondents by age, gender, education, occupation, service type and channel.
* ``Saran``: the suggestions received.
* one ``Olah <unit>`` sheet per unit ("pengolahan data"): per element the total score, the
  number of answers, the NRR and the weighted NRR, then the nilai indeks, the IKM, mutu and
  kinerja.

Cells hold the displayed (half-up rounded) decimals as numbers, with a matching number format.
The exact arithmetic is :mod:`survey_flows.ikm`'s; rounded cells are for reading, so a sum of
rounded weighted NRRs may differ from the nilai indeks in the last digit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reports.cells import put_text
from reports.model import (
    DIMENSION_TITLES,
    ELEMENT_NAMES,
    NOT_ANSWERED,
    NRR_DETAIL_PLACES,
    Figures,
    RegencyReport,
    UnitReport,
)
from reports.progress import Progress, no_progress

__all__ = [
    "ELEMENT_HEADER",
    "OPD_HEADER",
    "PROCESSING_ROWS",
    "SUMMARY_HEADER",
    "processing_sheet_name",
    "write_xlsx",
]

SUMMARY_HEADER = (
    "No",
    "OPD",
    "Kode unit",
    "Unit pelayanan",
    "Responden",
    "IKM",
    "Mutu",
    "Kinerja",
    "Sampel minimum",
    "Populasi",
    "Unsur terlemah",
)
OPD_HEADER = ("No", "Kode OPD", "OPD", "Responden", "IKM", "Mutu", "Kinerja")
ELEMENT_HEADER = (
    "Tingkat",
    "Kode",
    "Nama",
    "Unsur",
    "Nama unsur",
    "Jumlah nilai",
    "Jumlah jawaban",
    "NRR (4 desimal)",
    "NRR",
    "Mutu unsur",
)
PROFILE_HEADER = ("Tingkat", "Kode", "Dimensi", "Nilai", "Responden")
SUGGESTION_HEADER = ("Kode unit", "Unit pelayanan", "Tanggal", "Saran")
PROCESSING_ROWS = (
    "Jumlah nilai per unsur",
    "Jumlah jawaban per unsur",
    "NRR per unsur",
    "NRR tertimbang per unsur",
    "Mutu per unsur",
)
"""Row labels of the per-element block of a processing sheet (column A, rows 7 to 11)."""

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=13)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_FORMAT_2 = "0.00"
_FORMAT_4 = "0.0000"
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def processing_sheet_name(code: str, taken: set[str]) -> str:
    """``Olah <code>``, cut to Excel's 31 characters and made unique."""
    base = _SHEET_BAD.sub("-", f"Olah {code}")[:31]
    name, n = base, 2
    while name.lower() in taken:
        suffix = f"~{n}"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def write_xlsx(report: RegencyReport, path: Path, progress: Progress = no_progress) -> None:
    """Write the workbook to ``path``."""
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    summary.title = "Ringkasan"
    _summary(summary, report)
    _elements(workbook.create_sheet("Unsur"), report)
    _profile(workbook.create_sheet("Profil"), report)
    _suggestions(workbook.create_sheet("Saran"), report)
    taken = {name.lower() for name in workbook.sheetnames}
    units = report.units
    for index, unit in enumerate(units, start=1):
        _processing(workbook.create_sheet(processing_sheet_name(unit.code, taken)), report, unit)
        progress("xlsx: processing sheets", index, len(units))
    workbook.save(path)


def _title(sheet: Worksheet, report: RegencyReport, heading: str) -> int:
    """Title block; returns the next free row."""
    sheet["A1"] = heading
    sheet["A1"].font = _TITLE
    sheet["A2"] = report.organisation
    sheet["A3"] = f"Periode: {report.period.title_id} ({report.period.label})"
    filters = report.request.filters()
    sheet["A4"] = "Filter: " + (
        ", ".join(f"{k}={v}" for k, v in filters.items()) if filters else "tidak ada"
    )
    sheet["A5"] = _convention_note(report)
    return 7


def _convention_note(report: RegencyReport) -> str:
    if report.convention == "exact":
        return (
            "Perhitungan: bobot tepat 1/k, aritmetika eksak, pembulatan di akhir "
            "(PermenPANRB 14/2017)."
        )
    return (
        "Perhitungan: KONVENSI LAMA bobot 0,111 (untuk rekonsiliasi dengan laporan lama; "
        "nilai maksimum 99,90)."
    )


def _header(sheet: Worksheet, row: int, names: Sequence[str]) -> None:
    for column, name in enumerate(names, start=1):
        cell = sheet.cell(row=row, column=column, value=name)
        cell.font = _BOLD
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")


def _put(
    sheet: Worksheet, row: int, values: Iterable[Any], formats: dict[int, str] | None = None
) -> None:
    for column, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=column)
        put_text(cell, value)  # names and suggestions were typed by people: never formulas
        if formats and column in formats and value is not None:
            cell.number_format = formats[column]


def _mutu(figures: Figures) -> str | None:
    return None if figures.mutu is None else figures.mutu.value


def _summary(sheet: Worksheet, report: RegencyReport) -> None:
    row = _title(sheet, report, "LAPORAN SURVEI KEPUASAN MASYARAKAT (SKM)")
    _header(sheet, row, SUMMARY_HEADER)
    for number, unit in enumerate(report.units, start=1):
        row += 1
        _put(
            sheet,
            row,
            (
                number,
                unit.opd_name,
                unit.code,
                unit.name,
                unit.respondents,
                unit.ikm,
                _mutu(unit),
                unit.kinerja,
                unit.sample_required,
                unit.population,
                ", ".join(unit.weakest()),
            ),
            {6: _FORMAT_2},
        )
    row += 2
    _header(sheet, row, OPD_HEADER)
    for number, opd in enumerate(report.opds, start=1):
        row += 1
        _put(
            sheet,
            row,
            (number, opd.code, opd.name, opd.respondents, opd.ikm, _mutu(opd), opd.kinerja),
            {5: _FORMAT_2},
        )
    row += 2
    _header(sheet, row, ("", "Cakupan", "", "Responden", "IKM", "Mutu", "Kinerja"))
    row += 1
    _put(
        sheet,
        row,
        (
            "",
            "Gabungan (semua responden dalam cakupan)",
            "",
            report.respondents,
            report.ikm,
            _mutu(report),
            report.kinerja,
        ),
        {5: _FORMAT_2},
    )
    for column, width in enumerate((5, 36, 22, 40, 11, 9, 7, 13, 10, 10, 18), start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def _element_rows(level: str, code: str, name: str, figures: Figures) -> Iterable[tuple[Any, ...]]:
    for element in figures.elements:
        answered = figures.result.answered.get(element, 0)
        nrr = figures.result.nrr.get(element)
        score_sum = None if nrr is None else nrr * answered
        yield (
            level,
            code,
            name,
            element,
            ELEMENT_NAMES.get(element, element),
            None if score_sum is None else int(score_sum),
            answered,
            figures.nrr(element, NRR_DETAIL_PLACES),
            figures.nrr(element),
            None if (m := figures.element_mutu(element)) is None else m.value,
        )


def _elements(sheet: Worksheet, report: RegencyReport) -> None:
    row = _title(sheet, report, "NILAI PER UNSUR PELAYANAN")
    _header(sheet, row, ELEMENT_HEADER)
    groups: list[tuple[str, str, str, Figures]] = [("Kabupaten", "", "Gabungan", report)]
    groups += [("OPD", opd.code, opd.name, opd) for opd in report.opds]
    groups += [("Unit", unit.code, unit.name, unit) for unit in report.units]
    for level, code, name, figures in groups:
        for values in _element_rows(level, code, name, figures):
            row += 1
            _put(sheet, row, values, {8: _FORMAT_4, 9: _FORMAT_2})
    for column, width in enumerate((10, 22, 36, 7, 38, 12, 14, 15, 8, 10), start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def _profile(sheet: Worksheet, report: RegencyReport) -> None:
    row = _title(sheet, report, "PROFIL RESPONDEN")
    _header(sheet, row, PROFILE_HEADER)
    groups: list[tuple[str, str, Figures]] = [("Kabupaten", "", report)]
    groups += [("Unit", unit.code, unit) for unit in report.units]
    for level, code, figures in groups:
        for dimension, values in figures.breakdown.items():
            for value, count in values.items():
                row += 1
                shown = "(tidak diisi)" if value == NOT_ANSWERED else value
                _put(
                    sheet,
                    row,
                    (level, code, DIMENSION_TITLES.get(dimension, dimension), shown, count),
                )
    for column, width in enumerate((10, 22, 16, 22, 11), start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def _suggestions(sheet: Worksheet, report: RegencyReport) -> None:
    row = _title(sheet, report, "SARAN DAN MASUKAN")
    limit = report.request.suggestion_limit
    sheet.cell(
        row=6,
        column=1,
        value=(
            f"{report.suggestion_total} saran diterima"
            + (
                f"; paling banyak {limit} terbaru per unit ditampilkan."
                if limit is not None
                else "."
            )
        ),
    )
    _header(sheet, row, SUGGESTION_HEADER)
    for unit in report.units:
        for suggestion in unit.suggestions:
            row += 1
            _put(sheet, row, (unit.code, unit.name, suggestion.local_date, suggestion.text))
            sheet.cell(row=row, column=3).number_format = "yyyy-mm-dd"
            sheet.cell(row=row, column=4).alignment = Alignment(wrap_text=True)
    for column, width in enumerate((22, 36, 12, 90), start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def _processing(sheet: Worksheet, report: RegencyReport, unit: UnitReport) -> None:
    """Pengolahan data: the per-element block, then the index (rows fixed, see module doc)."""
    sheet["A1"] = "PENGOLAHAN DATA SURVEI KEPUASAN MASYARAKAT PER UNSUR PELAYANAN"
    sheet["A1"].font = _TITLE
    sheet["A2"] = f"Unit pelayanan: {unit.name} ({unit.code})"
    sheet["A3"] = f"OPD: {unit.opd_name}"
    sheet["A4"] = f"Periode: {report.period.title_id} ({report.period.label})"
    sheet["A5"] = f"Jumlah responden: {unit.respondents}"
    elements = unit.elements
    _header(sheet, 6, ("Unsur", *elements))
    for offset, label in enumerate(PROCESSING_ROWS):
        sheet.cell(row=7 + offset, column=1, value=label).font = _BOLD
    for column, code in enumerate(elements, start=2):
        nrr = unit.result.nrr.get(code)
        answered = unit.result.answered.get(code, 0)
        values: tuple[Any, ...] = (
            None if nrr is None else int(nrr * answered),
            answered,
            unit.nrr(code, NRR_DETAIL_PLACES),
            unit.weighted_nrr(code),
            None if (m := unit.element_mutu(code)) is None else m.value,
        )
        for offset, value in enumerate(values):
            cell = sheet.cell(row=7 + offset, column=column, value=value)
            if offset in (2, 3) and value is not None:
                cell.number_format = _FORMAT_4
    weight = unit.weight
    results: tuple[tuple[str, Any, str | None], ...] = (
        ("Bobot per unsur", _weight_text(weight, report.convention), None),
        ("Nilai indeks (Σ NRR tertimbang)", unit.result.nilai_indeks_display(), _FORMAT_4),
        ("IKM unit pelayanan (nilai indeks × 25)", unit.ikm, _FORMAT_2),
        ("Mutu pelayanan", _mutu(unit), None),
        ("Kinerja unit pelayanan", unit.kinerja, None),
    )
    for offset, (label, value, number_format) in enumerate(results):
        sheet.cell(row=13 + offset, column=1, value=label).font = _BOLD
        cell = sheet.cell(row=13 + offset, column=2, value=value)
        if number_format and value is not None:
            cell.number_format = number_format
    if not unit.result.computable:
        missing = ", ".join(unit.result.unanswered)
        sheet.cell(
            row=18, column=1, value=f"IKM tidak dapat dihitung: belum ada jawaban untuk {missing}."
        )
    sheet.cell(row=20, column=1, value="Keterangan unsur").font = _BOLD
    for offset, code in enumerate(elements):
        sheet.cell(row=21 + offset, column=1, value=code)
        sheet.cell(row=21 + offset, column=2, value=ELEMENT_NAMES.get(code, code))
    sheet.column_dimensions["A"].width = 40
    for column in range(2, len(elements) + 2):
        sheet.column_dimensions[get_column_letter(column)].width = 11


def _weight_text(weight: Fraction, convention: str) -> str:
    if convention == "exact":
        return f"1/{weight.denominator} (tepat)"
    return f"{Decimal(weight.numerator) / Decimal(weight.denominator)} (konvensi lama)"
