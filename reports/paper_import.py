"""Read and validate a CSV file of paper questionnaires (``skm-bot responses import``).

One row per questionnaire. Columns (header row required, any order, case-insensitive; the
Indonesian names in brackets are accepted too):

``unit`` [kode_unit] and ``date`` [tanggal] (``YYYY-MM-DD``) are required; ``U1`` .. ``U9``
(1-4, blank = skipped) are required columns; ``service_type`` [jenis_layanan], ``age`` [umur],
``gender`` [jenis_kelamin], ``education`` [pendidikan], ``occupation`` [pekerjaan] and
``suggestion`` [saran] are optional. Profile values use the survey's codes
(``survey_flows.skm.PROFILE_ITEMS``); an age may also be written as a number of years.

Validation is complete before anything is stored: every bad row is reported with its line
number and every problem on it. The file is UTF-8 (with or without BOM) or Windows-1252,
separated by commas, semicolons or tabs.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from reports.period import PeriodError, parse_date
from storage.reports import PaperResponse
from survey_flows.directory import Directory, UnitInfo
from survey_flows.ikm import MAX_SCORE, MIN_SCORE, STANDARD_ELEMENTS
from survey_flows.personal_data import mask_optional
from survey_flows.plain_text import without_controls
from survey_flows.skm import PROFILE_ITEMS

__all__ = ["PaperFileError", "PaperImport", "RowError", "parse_paper_csv", "read_paper_file"]

_ALIASES: Mapping[str, tuple[str, ...]] = {
    "unit": ("unit", "unit_code", "kode_unit"),
    "date": ("date", "tanggal"),
    "service_type": ("service_type", "jenis_layanan", "layanan"),
    "age": ("age", "umur"),
    "gender": ("gender", "jenis_kelamin"),
    "education": ("education", "pendidikan"),
    "occupation": ("occupation", "pekerjaan"),
    "suggestion": ("suggestion", "saran"),
    **{code: (code.lower(),) for code in STANDARD_ELEMENTS},
}
_BY_ALIAS = {alias: column for column, aliases in _ALIASES.items() for alias in aliases}
_REQUIRED = ("unit", "date", *STANDARD_ELEMENTS)
_PROFILE = dict(PROFILE_ITEMS)
_GENDER_WORDS = {"LAKI-LAKI": "L", "LAKI": "L", "PEREMPUAN": "P"}
_EDUCATION_WORDS = {"D1": "D1-D3", "D2": "D1-D3", "D3": "D1-D3", "D4": "D4-S1", "S1": "D4-S1"}
_AGE_BRACKETS = ((17, 25, "17-25"), (26, 35, "26-35"), (36, 45, "36-45"), (46, 55, "46-55"))
_OLDEST = 120


class PaperFileError(Exception):
    """The file as a whole cannot be read (encoding, header); nothing was imported."""


@dataclass(frozen=True, slots=True)
class RowError:
    """Everything wrong with one row."""

    line: int
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"line {self.line}: " + "; ".join(self.problems)


@dataclass(frozen=True)
class PaperImport:
    """The outcome of validation: good rows (with their line numbers) and bad ones."""

    valid: tuple[tuple[int, PaperResponse], ...]
    errors: tuple[RowError, ...] = field(default=())

    @property
    def responses(self) -> tuple[PaperResponse, ...]:
        return tuple(response for _, response in self.valid)


def read_paper_file(data: bytes, directory: Directory, today: date) -> PaperImport:
    """Decode and validate a CSV file's bytes. See :func:`parse_paper_csv`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise PaperFileError("the file is neither UTF-8 nor Windows-1252 text") from None
    return parse_paper_csv(text, directory, today)


def parse_paper_csv(text: str, directory: Directory, today: date) -> PaperImport:
    """Validate every row of a CSV text against the directory.

    Args:
        text: the whole file.
        directory: the known units (an unknown unit code is an error).
        today: the local date; a questionnaire dated later is an error.

    Raises:
        PaperFileError: no header, an unknown, duplicate or missing column.
    """
    # NUL cannot be stored and other control characters break the XLSX report: people never
    # mean them (a spreadsheet's export, a copy-paste). Line ends survive as newlines.
    text = without_controls(text.replace("\r\n", "\n").replace("\r", "\n"))
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise PaperFileError("the file is empty: the first line must name the columns")
    columns = _columns(header)
    valid: list[tuple[int, PaperResponse]] = []
    errors: list[RowError] = []
    previous_end = reader.line_num
    for cells in reader:
        line = previous_end + 1
        previous_end = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(columns):
            errors.append(
                RowError(line, (f"has {len(cells)} fields but the header has {len(columns)}",))
            )
            continue
        row = {name: cell.strip() for name, cell in zip(columns, cells, strict=True)}
        response, problems = _validate(row, directory, today)
        if problems:
            errors.append(RowError(line, tuple(problems)))
        else:
            assert response is not None
            valid.append((line, response))
    return PaperImport(tuple(valid), tuple(errors))


def _columns(header: Sequence[str]) -> list[str]:
    columns: list[str] = []
    problems: list[str] = []
    for cell in header:
        name = _BY_ALIAS.get(cell.strip().lower().replace(" ", "_"))
        if name is None:
            problems.append(f"unknown column {cell.strip()!r}")
        elif name in columns:
            problems.append(f"column {cell.strip()!r} appears twice")
        else:
            columns.append(name)
    missing = [name for name in _REQUIRED if name not in columns]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if problems:
        raise PaperFileError(
            "header (line 1): " + "; ".join(problems) + ". Expected: unit, date, service_type, "
            "age, gender, education, occupation, U1..U9, suggestion"
        )
    return columns


def _validate(
    row: Mapping[str, str], directory: Directory, today: date
) -> tuple[PaperResponse | None, list[str]]:
    problems: list[str] = []
    unit = directory.unit(row["unit"].lower()) if row["unit"] else None
    if not row["unit"]:
        problems.append("unit: empty")
    elif unit is None:
        problems.append(f"unit: unknown unit code {row['unit']!r}")

    local_date: date | None = None
    try:
        local_date = parse_date(row["date"])
    except PeriodError:
        problems.append(f"date: {row['date']!r} is not a date of the form YYYY-MM-DD")
    if local_date is not None and local_date > today:
        problems.append(f"date: {local_date} is in the future")

    service_type = _service_type(unit, row.get("service_type", ""), problems)
    profile = _profile(row, problems)

    scores: dict[str, int] = {}
    bad_scores = False
    for code in STANDARD_ELEMENTS:
        cell = row[code]
        if not cell:
            continue
        if re.fullmatch(r"\d", cell) and MIN_SCORE <= int(cell) <= MAX_SCORE:
            scores[code] = int(cell)
        else:
            bad_scores = True
            problems.append(f"{code}: {cell!r} is not a score from {MIN_SCORE} to {MAX_SCORE}")
    if not scores and not bad_scores:
        problems.append("no element answered (U1..U9 are all blank)")

    if problems or unit is None or local_date is None:
        return None, problems
    suggestion = row.get("suggestion", "")
    return (
        PaperResponse(
            unit_code=unit.code,
            local_date=local_date,
            service_type=service_type,
            profile=profile,
            scores=scores,
            suggestion=mask_optional(suggestion) or None,
        ),
        problems,
    )


def _service_type(unit: UnitInfo | None, cell: str, problems: list[str]) -> str | None:
    if unit is None:
        return None
    if not cell:
        # As in the chat survey: a unit with one service type records it without asking.
        return unit.service_types[0] if len(unit.service_types) == 1 else None
    for name in unit.service_types:
        if name.casefold() == cell.casefold():
            return name
    choices = ", ".join(unit.service_types) or "none configured"
    problems.append(f"service_type: {cell!r} is not a service of {unit.code} ({choices})")
    return None


def _profile(row: Mapping[str, str], problems: list[str]) -> dict[str, str]:
    profile: dict[str, str] = {}
    for name, options in PROFILE_ITEMS:
        cell = row.get(name, "")
        if not cell:
            continue
        value = _normalise(name, cell)
        if value in options:
            profile[name] = value
        else:
            problems.append(f"{name}: {cell!r} is not one of {', '.join(options)}")
    return profile


def _normalise(name: str, cell: str) -> str:
    value = re.sub(r"\s+", "", cell.upper()).replace("/", "-").replace("\u2013", "-")
    if name == "gender":
        return _GENDER_WORDS.get(value, value)
    if name == "education":
        return _EDUCATION_WORDS.get(value, value)
    if name == "age" and value.isdigit():
        years = int(value)
        for low, high, bracket in _AGE_BRACKETS:
            if low <= years <= high:
                return bracket
        if 56 <= years <= _OLDEST:
            return "56+"
    return value
