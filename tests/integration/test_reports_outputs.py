"""``skm-bot report`` over imported paper questionnaires, in every format, on both databases.

Every number is checked against the IKM arithmetic (``survey_flows.ikm``) of the same answers
and against the values worked by hand in ``test_reports_build``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from openpyxl import load_workbook
from pypdf import PdfReader

from bot.cli_reports import dispatch
from bot.settings import Settings
from reports.build import build_report
from reports.json_report import UNIT_KEYS
from reports.model import ReportRequest
from reports.pdf_report import UNITS_PER_CHART_PAGE, page_count, write_pdf
from reports.period import parse_period
from reports.xlsx_report import PROCESSING_ROWS, SUMMARY_HEADER
from storage import Storage, db
from storage.directory_import import OpdSpec, UnitSpec, apply_directory
from survey_flows.ikm import STANDARD_ELEMENTS, compute_ikm, round_half_up, tally
from tests.support.directory import load_small_directory
from tests.support.dispatcher import T0
from tests.support.paper_reports import (
    MPP_IKM,
    PAPER_CSV,
    POOLED_IKM,
    Q1_ANSWERS,
    RSUD_IKM,
)
from tests.support.report_commands import run

EXPECTED_IKM = {"dukcapil-mpp": Decimal("84.26"), "rsud-igd": Decimal("54.17")}


def expected(unit: str) -> dict[str, Decimal]:
    """NRR (2 places) and IKM of a unit, from survey_flows.ikm over the raw answers."""
    result = compute_ikm(tally(Q1_ANSWERS[unit]), len(Q1_ANSWERS[unit]))
    assert result.ikm is not None
    values = {code: result.nrr_display(code) for code in STANDARD_ELEMENTS}
    values["ikm"] = round_half_up(result.ikm, 2)
    return values


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        request.getfixturevalue("pg_storage")  # empties the tables
        return str(request.getfixturevalue("pg_url"))
    return str(request.getfixturevalue("sqlite_url"))


@pytest_asyncio.fixture
async def settings(database_url: str, tmp_path: Path) -> AsyncIterator[Settings]:
    """A database with the small directory and the paper questionnaires, imported by command."""
    storage = Storage(db.create_engine(database_url))
    try:  # both databases are migrated already
        await load_small_directory(storage)
    finally:
        await storage.dispose()
    configured = Settings(
        database_url=database_url, organisation_name="Pemerintah Kabupaten Mimika"
    )
    paper = tmp_path / "paper.csv"
    paper.write_text(PAPER_CSV, encoding="utf-8")
    assert await run(["responses", "import", str(paper)], configured) == 0
    yield configured


def test_expected_values_are_the_hand_computed_ones() -> None:
    assert expected("dukcapil-mpp")["ikm"] == round_half_up(MPP_IKM, 2) == Decimal("84.26")
    assert expected("rsud-igd")["ikm"] == round_half_up(RSUD_IKM, 2) == Decimal("54.17")


async def test_json(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert await run(["report", "--period", "2026-Q1", "--format", "json"], settings) == 0
    text = capsys.readouterr().out
    document = json.loads(text, parse_float=Decimal)

    units = {entry["unit"]: entry for entry in document["units"]}
    assert list(units) == ["dukcapil-mpp", "dukcapil-kantor", "rsud-igd"]
    for entry in document["units"]:
        assert tuple(entry) == UNIT_KEYS
    for code, ikm in EXPECTED_IKM.items():
        values = expected(code)
        assert units[code]["ikm"] == ikm == values["ikm"]
        assert units[code]["nrr"] == {c: values[c] for c in STANDARD_ELEMENTS}
    # Two decimals exactly as written, never a binary float's digits.
    assert '"U1": 3.50' in text and '"ikm": 84.26' in text and '"U8": 3.33' in text
    assert units["dukcapil-mpp"] | {"nrr": None} == {
        "unit": "dukcapil-mpp",
        "respondents": 4,
        "nrr": None,
        "ikm": Decimal("84.26"),
        "mutu": "B",
        "kinerja": "Baik",
        "sample_required": 378,
    }
    assert units["rsud-igd"]["mutu"] == "D" and units["rsud-igd"]["kinerja"] == "Tidak Baik"
    assert units["rsud-igd"]["sample_required"] is None
    assert units["dukcapil-kantor"]["respondents"] == 0
    assert units["dukcapil-kantor"]["ikm"] is None and units["dukcapil-kantor"]["mutu"] is None

    regency = document["regency"]
    assert regency["respondents"] == 6
    assert regency["ikm"] == round_half_up(POOLED_IKM, 2) == Decimal("73.98")
    assert (regency["mutu"], regency["kinerja"]) == ("C", "Kurang Baik")
    assert regency["nrr"]["U8"] == Decimal("2.80")
    opds = {entry["opd"]: entry for entry in document["opds"]}
    assert opds["disdukcapil"]["ikm"] == Decimal("84.26")
    assert opds["rsud"]["units"] == ["rsud-igd"]
    details = document["unit_details"]["dukcapil-mpp"]
    assert details["nrr_detail"]["U8"] == Decimal("3.3333")
    assert details["answered"]["U8"] == 3
    assert details["weakest"] == ["U2", "U9", "U3"]
    assert details["profile"]["gender"] == {"L": 2, "P": 2}
    assert document["period"] == {
        "label": "2026-Q1",
        "kind": "quarter",
        "title": "Triwulan I 2026",
        "from": "2026-01-01",
        "to": "2026-03-31",
    }


async def test_csv(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    assert (
        await run(
            ["report", "--from", "2026-01-01", "--to", "2026-03-31", "-o", str(path)], settings
        )
        == 0
    )
    rows = {row["unit"]: row for row in csv.DictReader(io.StringIO(path.read_text("utf-8")))}
    assert list(rows) == ["dukcapil-mpp", "dukcapil-kantor", "rsud-igd"]
    for code, ikm in EXPECTED_IKM.items():
        values = expected(code)
        row = rows[code]
        assert row["ikm"] == str(ikm)
        assert {c: row[f"nrr_{c}"] for c in STANDARD_ELEMENTS} == {
            c: str(values[c]) for c in STANDARD_ELEMENTS
        }
    assert rows["dukcapil-mpp"]["nrr_U8"] == "3.33"
    assert (rows["dukcapil-mpp"]["mutu"], rows["dukcapil-mpp"]["sample_required"]) == ("B", "378")
    assert rows["dukcapil-kantor"]["ikm"] == "" and rows["dukcapil-kantor"]["respondents"] == "0"
    assert rows["rsud-igd"]["period"] == "2026-01-01..2026-03-31"


async def test_xlsx(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    assert await run(["report", "--period", "2026-Q1", "--output", str(path)], settings) == 0
    workbook = load_workbook(path)
    assert workbook.sheetnames[:4] == ["Ringkasan", "Unsur", "Profil", "Saran"]
    assert workbook.sheetnames[4:] == ["Olah dukcapil-mpp", "Olah dukcapil-kantor", "Olah rsud-igd"]

    summary = workbook["Ringkasan"]
    rows = [list(r) for r in summary.iter_rows(values_only=True)]
    header = rows.index(list(SUMMARY_HEADER))
    by_code = {r[2]: r for r in rows[header + 1 : header + 4]}
    for code, ikm in EXPECTED_IKM.items():
        assert by_code[code][5] == pytest.approx(float(ikm), abs=0)
    assert by_code["dukcapil-mpp"][4:9] == [4, 84.26, "B", "Baik", 378]
    assert by_code["dukcapil-kantor"][4:8] == [0, None, None, None]
    pooled = next(r for r in rows if r[1] == "Gabungan (semua responden dalam cakupan)")
    assert pooled[3:7] == [6, 73.98, "C", "Kurang Baik"]

    sheet = workbook["Olah dukcapil-mpp"]
    assert [sheet.cell(row=6, column=c).value for c in range(1, 11)] == [
        "Unsur",
        *STANDARD_ELEMENTS,
    ]
    assert [sheet.cell(row=r, column=1).value for r in range(7, 12)] == list(PROCESSING_ROWS)
    sums = [sheet.cell(row=7, column=c).value for c in range(2, 11)]
    answered = [sheet.cell(row=8, column=c).value for c in range(2, 11)]
    assert sums == [14, 12, 13, 15, 14, 13, 15, 10, 12]
    assert answered == [4, 4, 4, 4, 4, 4, 4, 3, 4]
    nrr = [sheet.cell(row=9, column=c).value for c in range(2, 11)]
    assert nrr == [3.5, 3.0, 3.25, 3.75, 3.5, 3.25, 3.75, 3.3333, 3.0]
    assert sheet.cell(row=9, column=9).number_format == "0.0000"
    weighted = [sheet.cell(row=10, column=c).value for c in range(2, 11)]
    assert weighted[7] == 0.3704  # (10/3) / 9 = 0.37037...
    assert sheet.cell(row=11, column=3).value == "C"  # U2's NRR 3.00 is below 3.0644
    assert [sheet.cell(row=r, column=2).value for r in range(13, 18)] == [
        "1/9 (tepat)",
        3.3704,  # 91/27
        84.26,
        "B",
        "Baik",
    ]

    elements = [list(r) for r in workbook["Unsur"].iter_rows(values_only=True)]
    u8 = next(r for r in elements if r[0] == "Unit" and r[1] == "dukcapil-mpp" and r[3] == "U8")
    assert u8[5:10] == [10, 3, 3.3333, 3.33, "B"]
    regency_u8 = next(r for r in elements if r[0] == "Kabupaten" and r[3] == "U8")
    assert regency_u8[5:9] == [14, 5, 2.8, 2.8]

    profile = [list(r) for r in workbook["Profil"].iter_rows(values_only=True)]
    assert ["Unit", "dukcapil-mpp", "Umur", "(tidak diisi)", 1] in profile
    suggestions = [list(r) for r in workbook["Saran"].iter_rows(values_only=True)]
    texts = [r[3] for r in suggestions if r[0] in ("dukcapil-mpp", "rsud-igd")]
    assert texts == [
        "Ruang tunggu panas,\nkipas angin rusak",
        "Antrean cepat",
        "Dokter jaga kurang",
    ]


async def test_pdf(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    assert (
        await run(["report", "--period", "2026-Q1", "--format", "pdf", "-o", str(path)], settings)
        == 0
    )
    reader = PdfReader(path)
    # Summary, one page of IKM bars (3 units), the pooled NRR chart, then one page for each
    # unit with answers: dukcapil-mpp and rsud-igd (dukcapil-kantor has none).
    assert len(reader.pages) == 5
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    assert reader.metadata is not None and reader.metadata.title == "Laporan SKM 2026-Q1"


async def test_usage_errors(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        (["report"], "give --period"),
        (["report", "--period", "2026-Q5"], "quarter must be Q1 to Q4"),
        (["report", "--period", "2026", "--from", "2026-01-01"], "not both"),
        (["report", "--from", "2026-01-01"], "both --from and --to"),
        (["report", "--period", "2026", "--unit", "nope"], "unknown unit code(s): nope"),
        (["report", "--period", "2026", "--profile", "colour=red"], "FIELD=CODE"),
        (["report", "--period", "2026", "--suggestions", "many"], "'all'"),
    ]
    for argv, message in cases:
        assert await run(argv, settings) == 2, argv
        assert message in capsys.readouterr().err, argv


async def test_dispatch_ignores_other_commands() -> None:
    assert await dispatch(argparse.Namespace(command="units"), Settings()) is None


async def test_pdf_splits_the_ikm_chart_over_pages(sqlite_storage: Storage, tmp_path: Path) -> None:
    units = tuple(
        UnitSpec(code=f"unit-{n:02d}", name=f"Unit {n}", service_types=("Layanan",))
        for n in range(UNITS_PER_CHART_PAGE + 5)
    )
    async with sqlite_storage.transaction() as tx:
        await apply_directory(tx, (OpdSpec("opd", "OPD", units),), T0)
    report = await build_report(
        sqlite_storage, ReportRequest(parse_period("2026")), organisation="M"
    )
    path = tmp_path / "many.pdf"
    write_pdf(report, path)
    # Summary, two pages of bars (40 + 5 units), the pooled chart; no unit has answers.
    assert len(PdfReader(path).pages) == page_count(report) == 4
