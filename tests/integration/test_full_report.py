"""``skm-bot report --format pdf --full``: the Laporan SKM in the regulation's structure,
opened with pypdf: its sections in order, the table of contents, page numbers, and figures
equal to ``--format json``'s; suggestions grouped and masked; the RTL hook."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pypdf import PdfReader

from bot.settings import Settings
from handlers.web import ConsoleConfig, build_console
from handlers.web.core import SESSION_COOKIE
from handlers.web.downloads import RENDERER_KEY
from reports.build import build_report
from reports.full_report import SECTIONS, RtlRow, group_suggestions, write_full_pdf
from reports.model import ReportRequest
from reports.period import parse_period
from storage import Storage, db
from storage.web import ensure_admin, start_session
from survey_flows.web_access import new_token, sign, token_digest
from tests.support import full_report
from tests.support.directory import load_small_directory
from tests.support.full_report import pages_text
from tests.support.report_commands import run

settings = full_report.settings  # the fixture, kept under its name for this module's tests


async def test_the_full_report_has_the_regulation_s_sections_and_the_json_figures(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "laporan.pdf"
    argv = ["report", "--period", "2026-Q1", "--format", "pdf", "--full", "-o", str(path)]
    assert await run(argv, settings) == 0
    capsys.readouterr()
    pages = pages_text(path)
    total = len(pages)
    # Every page after the cover says its number out of the total.
    for number, text in enumerate(pages[1:], start=2):
        assert f"halaman {number} dari {total}" in text, number
    # The table of contents names each section with the page it starts on.
    toc = pages[1]
    assert "DAFTAR ISI" in toc
    starts = []
    for section in SECTIONS:
        line = next(line for line in toc.splitlines() if line.startswith(section))
        page = int(line.rsplit(maxsplit=1)[-1])
        assert pages[page - 1].lstrip().startswith(section) or section in pages[page - 1]
        starts.append(page)
    assert starts == sorted(starts)
    whole = "\n".join(pages)
    for needed in ("PermenPANRB", "Krejcie", "Undang-Undang Nomor 25 Tahun 2009",
                   "Profil responden", "Belum ada rencana tindak lanjut"):  # fmt: skip
        assert needed in whole, needed

    # The figures are --format json's, written the Indonesian way.
    assert await run(["report", "--period", "2026-Q1", "--format", "json"], settings) == 0
    document = json.loads(capsys.readouterr().out, parse_float=str)  # digit for digit
    for unit in document["units"]:
        if unit["respondents"]:
            assert f"IKM {unit['ikm'].replace('.', ',')}" in whole, unit["unit"]
    hasil = pages[starts[2] - 1 : starts[3] - 1]
    mpp = "\n".join(hasil)
    assert f"IKM {document['regency']['ikm'].replace('.', ',')}" in mpp

    # Suggestions grouped and masked; the complaint recap counts the one complaint.
    analysis = "\n".join(pages[starts[3] - 1 : starts[4] - 1])
    assert "081234567890" not in whole
    assert "Antrean cepat" in analysis
    assert "hubungi [disamarkan] 2" in analysis  # the two identical suggestions, counted once
    recap = "\n".join(pages[starts[5] - 1 :])
    assert "Pengaduan diterima: 1" in recap and "Loket Disdukcapil MPP" in recap


async def test_full_is_only_a_pdf(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["report", "--period", "2026-Q1", "--format", "json", "--full"]
    assert await run(argv, settings) == 2
    assert "--full is the PDF report" in capsys.readouterr().err


def test_suggestions_are_grouped_and_masked() -> None:
    groups = group_suggestions(
        ["Tolong hubungi 081234567890!", "tolong  hubungi 081234567890", "Ruang panas", " "]
    )
    assert [n for _, n in groups] == [2, 1]
    assert "081234567890" not in groups[0][0] and groups[0][0].startswith("Tolong hubungi")


async def test_rtl_rows_fill_their_table(sqlite_storage: Storage, tmp_path: Path) -> None:
    await load_small_directory(sqlite_storage)
    report = await build_report(sqlite_storage, ReportRequest(parse_period("2026-Q1")),
                                organisation="Pemkab")  # fmt: skip
    path = tmp_path / "rtl.pdf"
    row = RtlRow("dukcapil-mpp", "U3", "Tambah loket perekaman $x$", "Kabid Dafduk",
                 date(2026, 6, 30), "direncanakan")  # fmt: skip
    write_full_pdf(report, path, rtl=[row])
    whole = "\n".join(pages_text(path))
    assert "Tambah loket perekaman $x$" in whole and "2026-06-30" in whole
    assert "Belum ada rencana tindak lanjut" not in whole


async def test_the_console_answers_while_it_draws_the_full_report_elsewhere(
    settings: Settings,
) -> None:
    """The console's full report is drawn in a worker process (handlers.web.downloads.
    Renderer): the download arrives whole, and a page asked for meanwhile is answered before
    it. (How long the event loop stalls either way is measured, not tested:
    bench/console_full_report.py.)"""
    storage = Storage(db.create_engine(settings.database_url))
    config = ConsoleConfig(secret=b"s" * 32, clock=lambda: datetime(2026, 4, 2, 1, tzinfo=UTC))
    token = new_token()
    async with storage.transaction() as tx:
        admin, _ = await ensure_admin(tx, "Admin", config.clock())
        await start_session(tx, token_digest(token), "admin", admin, config.clock())
    app = web.Application()
    console = build_console(storage, config)
    app.add_subapp(config.prefix, console)
    cookies = {SESSION_COOKIE: sign(config.secret, token)}
    try:
        async with TestClient(TestServer(app)) as client:
            url = "/konsol/unduh/laporan?periode=2026-Q1&format=lengkap"
            full = asyncio.create_task(client.get(url, cookies=cookies))
            renderer = console[RENDERER_KEY]
            while renderer._pool is None:  # until the drawing is handed to the worker
                await asyncio.sleep(0.01)
            meanwhile = await client.get("/konsol/unduh", cookies=cookies)
            assert meanwhile.status == 200 and not full.done()
            response = await full
            body = await response.read()
            assert response.status == 200 and body.startswith(b"%PDF-")
            assert "DAFTAR ISI" in PdfReader(io.BytesIO(body)).pages[1].extract_text()
    finally:
        await storage.dispose()
