"""``skm-bot responses import``: every bad row reported with its line, nothing stored unless
``--skip-invalid``."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import pytest

from bot.cli_reports import dispatch, register
from bot.settings import Settings
from reports.paper_import import PaperFileError, parse_paper_csv, read_paper_file
from storage import Storage, db
from tests.support.directory import load_small_directory
from tests.support.paper_import import DIRECTORY, HEADER, TODAY
from tests.support.paper_reports import PAPER_CSV

GOOD = "dukcapil-mpp,2026-01-05,KTP-el,17-25,L,SMA,PNS,4,4,4,4,4,4,4,4,4,"

BAD_FILE = "\n".join(
    [
        HEADER,  # line 1
        GOOD,  # line 2
        "nowhere,2026-01-05,,,,,,4,4,4,4,4,4,4,4,4,",  # 3: unknown unit
        "dukcapil-mpp,2026-01-05,,,,,,4,5,4,0,4,4,4,4,x,",  # 4: three bad scores
        "dukcapil-mpp,05/01/2026,,,,,,4,4,4,4,4,4,4,4,4,",  # 5: bad date
        '"dukcapil-mpp",2026-01-05,,,,,,4,4,4,4,4,4,4,4,4,"a suggestion',  # 6-7: one record
        'over two lines"',
        "dukcapil-mpp,2026-01-05,,17,X,S9,PETANI,4,4,4,4,4,4,4,4,4,",  # 8: profile codes
        "",  # 9: blank lines are ignored
        "dukcapil-mpp,2026-01-05,Paspor,,,,,4,4,4,4,4,4,4,4,4,",  # 10: unknown service
        "dukcapil-mpp,2026-12-01,,,,,,4,4,4,4,4,4,4,4,4,",  # 11: in the future
        "dukcapil-mpp,2026-01-05,,,,,,,,,,,,,,,nothing answered",  # 12
        "dukcapil-mpp,2026-01-05,,,,,,4,4,4",  # 13: short row
        GOOD,  # 14
    ]
)


def test_every_bad_row_is_reported_with_its_line_and_every_problem() -> None:
    checked = parse_paper_csv(BAD_FILE, DIRECTORY, TODAY)
    assert [line for line, _ in checked.valid] == [2, 6, 14]
    errors = {error.line: error.problems for error in checked.errors}
    assert sorted(errors) == [3, 4, 5, 8, 10, 11, 12, 13]
    assert errors[3] == ("unit: unknown unit code 'nowhere'",)
    assert errors[4] == (
        "U2: '5' is not a score from 1 to 4",
        "U4: '0' is not a score from 1 to 4",
        "U9: 'x' is not a score from 1 to 4",
    )
    assert errors[5] == ("date: '05/01/2026' is not a date of the form YYYY-MM-DD",)
    # Line 8's numeric age 17 is read as the bracket 17-25; its other items are wrong.
    assert errors[8] == (
        "gender: 'X' is not one of L, P",
        "education: 'S9' is not one of SD, SMP, SMA, D1-D3, D4-S1, S2, S3",
        "occupation: 'PETANI' is not one of PNS, TNI, POLRI, SWASTA, WIRAUSAHA, PELAJAR, LAINNYA",
    )
    assert errors[10] == (
        "service_type: 'Paspor' is not a service of dukcapil-mpp (KTP-el, Kartu Keluarga)",
    )
    assert errors[11] == ("date: 2026-12-01 is in the future",)
    assert errors[12] == ("no element answered (U1..U9 are all blank)",)
    assert errors[13] == ("has 10 fields but the header has 17",)
    assert str(checked.errors[0]) == "line 3: unit: unknown unit code 'nowhere'"
    # Line 6's quoted suggestion spans two physical lines and stays one value.
    assert checked.valid[1][1].suggestion == "a suggestion\nover two lines"


def test_values_are_normalised_to_the_survey_codes() -> None:
    text = "\n".join(
        [
            HEADER,
            "DUKCAPIL-MPP,2026-01-05,ktp-EL,30,Perempuan,s1,pns,1,2,3,4,,2,3,4,1,  Terima kasih  ",
            "dukcapil-kantor,2026-01-06,,61,laki-laki,D3,Pelajar,4,4,4,4,4,4,4,4,4,",
        ]
    )
    checked = parse_paper_csv(text, DIRECTORY, TODAY)
    assert checked.errors == ()
    first, second = checked.responses
    assert first.unit_code == "dukcapil-mpp" and first.service_type == "KTP-el"
    assert first.profile == {
        "age": "26-35",
        "gender": "P",
        "education": "D4-S1",
        "occupation": "PNS",
    }
    assert first.scores == {"U1": 1, "U2": 2, "U3": 3, "U4": 4, "U6": 2, "U7": 3, "U8": 4, "U9": 1}
    assert first.suggestion == "Terima kasih"
    assert second.service_type == "KTP-el"  # the unit's only service type
    assert second.profile == {
        "age": "56+",
        "gender": "L",
        "education": "D1-D3",
        "occupation": "PELAJAR",
    }


def test_indonesian_headers_semicolons_and_a_bom_are_accepted() -> None:
    text = (
        "\ufeffkode_unit;tanggal;jenis_layanan;umur;jenis_kelamin;pendidikan;pekerjaan;"
        "u1;u2;u3;u4;u5;u6;u7;u8;u9;saran\n"
        "dukcapil-mpp;2026-01-05;;;P;;;4;4;4;4;4;4;4;4;4;Baik\n"
    )
    checked = read_paper_file(text.encode("utf-8"), DIRECTORY, TODAY)
    assert checked.errors == ()
    assert checked.responses[0].suggestion == "Baik"
    # Windows-1252 (an Excel export) decodes too.
    latin_text = text.removeprefix("\ufeff").replace("Baik", "Caf\u00e9")
    latin = read_paper_file(latin_text.encode("cp1252"), DIRECTORY, TODAY)
    assert latin.responses[0].suggestion == "Caf\u00e9"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", "the file is empty"),
        ("unit,date,U1,U2,U3,U4,U5,U6,U7,U8", "missing column(s): U9"),
        ("unit,date,U1,U2,U3,U4,U5,U6,U7,U8,U9,colour", "unknown column 'colour'"),
        ("unit,date,tanggal,U1,U2,U3,U4,U5,U6,U7,U8,U9", "column 'tanggal' appears twice"),
    ],
)
def test_a_bad_header_rejects_the_file(header: str, message: str) -> None:
    with pytest.raises(PaperFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_paper_csv(header + "\n", DIRECTORY, TODAY)


# --- through the command ------------------------------------------------------------------


async def run(argv: list[str], settings: Settings) -> int | None:
    parser = argparse.ArgumentParser(prog="skm-bot")
    register(parser.add_subparsers(dest="command", required=True))
    return await dispatch(parser.parse_args(argv), settings)


@pytest.fixture
async def sqlite_settings(sqlite_url: str) -> Settings:
    url = sqlite_url
    storage = Storage(db.create_engine(url))
    await load_small_directory(storage)
    await storage.dispose()
    return Settings(database_url=url)


async def stored(settings: Settings) -> int:
    storage = Storage(db.create_engine(settings.database_url))
    try:
        return len(await storage.responses())
    finally:
        await storage.dispose()


async def test_command_imports_nothing_when_a_row_is_bad(
    sqlite_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = (
        PAPER_CSV
        + "rsud-igd,2026-02-30,,,,,,1,1,1,1,1,1,1,1,1,\nnope,2026-01-01,,,,,,1,1,1,1,1,1,1,1,1,\n"
    )
    path = tmp_path / "paper.csv"
    path.write_text(bad, encoding="utf-8")
    assert await run(["responses", "import", str(path)], sqlite_settings) == 1
    err = capsys.readouterr().err
    assert f"{path}: line 11: date: '2026-02-30' is not a date of the form YYYY-MM-DD" in err
    assert f"{path}: line 12: unit: unknown unit code 'nope'" in err
    assert "2 bad row(s), 8 good: nothing imported" in err
    assert await stored(sqlite_settings) == 0

    assert (
        await run(
            ["responses", "import", str(path), "--dry-run", "--skip-invalid"], sqlite_settings
        )
        == 0
    )
    assert "8 row(s) would be imported, 2 skipped (dry run)" in capsys.readouterr().out
    assert await stored(sqlite_settings) == 0

    assert await run(["responses", "import", str(path), "--skip-invalid"], sqlite_settings) == 0
    assert "8 paper response(s) imported" in capsys.readouterr().out
    assert await stored(sqlite_settings) == 8


async def test_imported_rows_are_paper_without_respondent_key(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "paper.csv"
    path.write_text(PAPER_CSV, encoding="utf-8")
    assert await run(["responses", "import", str(path)], sqlite_settings) == 0
    storage = Storage(db.create_engine(sqlite_settings.database_url))
    try:
        responses = await storage.responses("rsud-igd")
    finally:
        await storage.dispose()
    assert [(r.channel, r.respondent_key, r.local_date) for r in responses] == [
        ("paper", None, date(2026, 2, 1)),
        ("paper", None, date(2026, 3, 15)),
    ]
    assert responses[0].scores == {
        "U1": 2,
        "U2": 2,
        "U3": 1,
        "U4": 4,
        "U5": 2,
        "U6": 2,
        "U7": 3,
        "U8": 2,
        "U9": 2,
    }
    assert responses[0].profile == {
        "age": "36-45",
        "gender": "P",
        "education": "SMP",
        "occupation": "WIRAUSAHA",
    }


async def test_command_reports_an_unreadable_file(
    sqlite_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(["responses", "import", str(tmp_path / "missing.csv")], sqlite_settings) == 2
    assert "cannot read" in capsys.readouterr().err
    header_only = tmp_path / "bad.csv"
    header_only.write_text("unit,date\n", encoding="utf-8")
    assert await run(["responses", "import", str(header_only)], sqlite_settings) == 2
    assert "missing column(s)" in capsys.readouterr().err
