"""Counter posters: the links, the QR codes drawn on the page, A4 files, the IKM line."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import segno
from PIL import Image
from pypdf import PdfReader

from bot.cli_reports import dispatch, register
from bot.settings import Settings
from reports.build import build_report
from reports.model import ReportRequest, id_decimal
from reports.period import parse_period
from reports.poster import (
    PNG_DPI,
    PosterContent,
    PosterError,
    complaint_telegram_link,
    complaint_whatsapp_link,
    poster_content,
    poster_figure,
    qr_pixels,
    result_line,
    telegram_link,
    whatsapp_link,
    write_poster,
)
from storage import Storage, db
from tests.support.directory import load_small_directory
from tests.support.paper_reports import import_paper

TELEGRAM = "https://t.me/SkmMimikaBot?start=u_dukcapil-mpp"
WHATSAPP = "https://wa.me/6281148001234?text=SKM%20dukcapil-mpp"
COMPLAINT_WA = "https://wa.me/6281148001234?text=PENGADUAN%20dukcapil-mpp"
COMPLAINT_TG = "https://t.me/SkmMimikaBot?start=c_dukcapil-mpp"


@pytest.mark.parametrize("username", ["SkmMimikaBot", "@SkmMimikaBot", " SkmMimikaBot "])
def test_telegram_deep_link(username: str) -> None:
    assert telegram_link(username, "dukcapil-mpp") == TELEGRAM


@pytest.mark.parametrize("number", ["6281148001234", "+62 811-4800-1234", "+62 (811) 48001234"])
def test_whatsapp_link(number: str) -> None:
    assert whatsapp_link(number, "dukcapil-mpp") == WHATSAPP


def test_complaint_links_open_the_units_complaint_form() -> None:
    assert complaint_whatsapp_link("+62 811-4800-1234", "dukcapil-mpp") == COMPLAINT_WA
    assert complaint_telegram_link("@SkmMimikaBot", "dukcapil-mpp") == COMPLAINT_TG
    # WhatsApp first; Telegram's when the poster has no WhatsApp number.
    assert content().complaint_url == COMPLAINT_WA
    assert content(whatsapp=None).complaint_url == COMPLAINT_TG


@pytest.mark.parametrize(
    ("username", "number"),
    [("bad name", None), ("ab", None), (None, "081148001234"), (None, "62 811"), (None, None)],
)
def test_bad_or_missing_channels_are_refused(username: str | None, number: str | None) -> None:
    with pytest.raises(PosterError):
        poster_content(
            organisation="Mimika",
            unit_code="dukcapil-mpp",
            unit_name="Loket",
            opd_name="Disdukcapil",
            telegram_bot_username=username,
            whatsapp_number=number,
            result="-",
        )


def content(
    telegram: str | None = "SkmMimikaBot", whatsapp: str | None = "6281148001234"
) -> PosterContent:
    return poster_content(
        organisation="Pemerintah Kabupaten Mimika",
        unit_code="dukcapil-mpp",
        unit_name="Loket Disdukcapil Mal Pelayanan Publik",
        opd_name="Dinas Kependudukan dan Pencatatan Sipil",
        telegram_bot_username=telegram,
        whatsapp_number=whatsapp,
        result="Hasil survei Triwulan I 2026: IKM 84,26, mutu B (Baik), 40 responden.",
    )


def test_the_qr_codes_drawn_encode_the_links() -> None:
    figure, telegram_qr, whatsapp_qr, complaint_qr = poster_figure(content())
    assert telegram_qr is not None and whatsapp_qr is not None and complaint_qr is not None
    # segno is deterministic: the same URL and settings give the same modules.
    assert telegram_qr.matrix == segno.make(TELEGRAM, error="m", micro=False).matrix
    assert whatsapp_qr.matrix == segno.make(WHATSAPP, error="m", micro=False).matrix
    assert complaint_qr.matrix == segno.make(COMPLAINT_WA, error="m", micro=False).matrix
    drawn = [axes.images[0].get_array() for axes in figure.axes if axes.images]
    assert len(drawn) == 3
    for image, qr in zip(drawn, (telegram_qr, whatsapp_qr, complaint_qr), strict=True):
        assert np.array_equal(np.asarray(image), np.array(qr_pixels(qr)))
        # Quiet zone of four light modules on every side, then the finder pattern's corner.
        assert not np.asarray(image)[:4].any() and np.asarray(image)[4, 4] == 1


def test_only_configured_channels_appear() -> None:
    figure, telegram_qr, whatsapp_qr, complaint_qr = poster_figure(content(whatsapp=None))
    assert telegram_qr is not None and whatsapp_qr is None and complaint_qr is not None
    assert sum(1 for axes in figure.axes if axes.images) == 2  # the survey's, the complaint's


def test_files_are_a4(tmp_path: Path) -> None:
    files = write_poster(content(), tmp_path / "out")
    assert (
        files.pdf.name == "poster-dukcapil-mpp.pdf" and files.png.name == "poster-dukcapil-mpp.png"
    )
    with Image.open(files.png) as image:
        width, height = image.size
    assert width == round(8.27 * PNG_DPI)
    assert abs(height / width - 297 / 210) < 0.002
    page = PdfReader(files.pdf).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    text = page.extract_text()
    assert "Loket Disdukcapil Mal Pelayanan" in text
    assert TELEGRAM in text and WHATSAPP in text
    assert 'kirim "SKM dukcapil-mpp" ke +6281148001234' in text
    assert 'kirim "PENGADUAN dukcapil-mpp" ke +6281148001234' in text and COMPLAINT_WA in text


async def test_result_line_needs_enough_respondents(sqlite_storage: Storage) -> None:
    await load_small_directory(sqlite_storage)
    await import_paper(sqlite_storage)
    q1 = parse_period("2026-Q1")
    report = await build_report(sqlite_storage, ReportRequest(q1), organisation="M")
    units = {u.code: u for u in report.units}
    assert result_line(units["dukcapil-mpp"], q1, 4) == (
        "Hasil survei Triwulan I 2026: IKM 84,26, mutu B (Baik), 4 responden."
    )
    assert result_line(units["dukcapil-mpp"], q1, 5) == (
        "Hasil IKM ditampilkan setelah minimal 5 responden dalam satu triwulan "
        "(Triwulan I 2026: 4 responden)."
    )
    assert units["dukcapil-kantor"].ikm is None
    assert "0 responden" in result_line(units["dukcapil-kantor"], q1, 1)
    assert "0 responden" in result_line(None, q1, 30)


async def run(argv: list[str], settings: Settings) -> int | None:
    parser = argparse.ArgumentParser(prog="skm-bot")
    register(parser.add_subparsers(dest="command", required=True))
    return await dispatch(parser.parse_args(argv), settings)


async def test_poster_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'skm.sqlite3'}"
    storage = Storage(db.create_engine(url))
    await db.upgrade(storage.engine)
    await load_small_directory(storage)
    await import_paper(storage)
    await storage.dispose()
    settings = Settings(
        database_url=url,
        organisation_name="Pemerintah Kabupaten Mimika",
        telegram_bot_username="SkmMimikaBot",
        whatsapp_number="+62 811 4800 1234",
        report_min_respondents=4,
    )
    out = tmp_path / "posters"

    # As of mid-April 2026 the latest complete quarter is 2026-Q1.
    argv = ["poster", "--all", "--output", str(out), "--as-of", "2026-04-15"]
    assert await run(argv, settings) == 0
    written = capsys.readouterr().out.split()
    # The inactive OPD's unit gets no poster.
    assert sorted(Path(p).name for p in written) == sorted(
        f"poster-{code}.{ext}"
        for code in ("dukcapil-mpp", "dukcapil-kantor", "rsud-igd")
        for ext in ("pdf", "png")
    )
    mpp = PdfReader(out / "poster-dukcapil-mpp.pdf").pages[0].extract_text()
    assert "IKM 84,26, mutu B (Baik), 4 responden" in mpp
    assert "https://t.me/SkmMimikaBot?start=u_dukcapil-mpp" in mpp
    igd = PdfReader(out / "poster-rsud-igd.pdf").pages[0].extract_text()
    assert "minimal 4 responden" in igd and "Triwulan I 2026: 2 responden" in igd

    assert await run(["poster", "--unit", "dukcapil-mpp", "--links"], settings) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"dukcapil-mpp\tsurvey telegram\t{TELEGRAM}",
        f"dukcapil-mpp\tsurvey whatsapp\t{WHATSAPP}",
        f"dukcapil-mpp\tcomplaint\t{COMPLAINT_WA}",
    ]
    public = settings.model_copy(update={"public_base_url": "https://skm.example.go.id"})
    assert await run(["poster", "--unit", "dukcapil-mpp", "--links"], public) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "dukcapil-mpp\tresults\thttps://skm.example.go.id/konsol/hasil/unit/dukcapil-mpp"
    )
    assert await run(["poster", "--unit", "nope", "--output", str(out)], settings) == 2
    assert "unknown unit code(s): nope" in capsys.readouterr().err
    unlinked = settings.model_copy(update={"telegram_bot_username": None, "whatsapp_number": None})
    assert await run(["poster", "--unit", "rsud-igd", "--output", str(out)], unlinked) == 2
    assert "TELEGRAM_BOT_USERNAME" in capsys.readouterr().err


def test_numbers_on_posters_are_written_the_indonesian_way() -> None:
    assert id_decimal(Decimal("84.26")) == "84,26" and id_decimal(None) == "-"
