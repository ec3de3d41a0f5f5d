"""Downloads in Chromium: a report opened with openpyxl, a poster, bad input beside its field,
and a head refused another OPD's report."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from playwright.async_api import Browser
from pypdf import PdfReader

from storage.web import audit_entries
from tests.support.browser import HEAD_CHAT, Console, shoot
from tests.support.figures import add_responses, local_today

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


async def test_the_admin_downloads_a_report_and_opens_it(
    console: Console, chromium: Browser
) -> None:
    await add_responses(console.storage)
    page = await console.page(chromium, 1280)
    await console.sign_in(page, await console.admin_link())
    await page.get_by_role("link", name="Unduh").click()
    await page.wait_for_load_state()
    await shoot(page, "downloads")
    await page.select_option("#format", "xlsx")
    async with page.expect_download() as waiting:
        await page.get_by_role("button", name="Unduh laporan").click()
    download = await waiting.value
    assert download.suggested_filename.startswith("skm-report-")
    workbook = openpyxl.load_workbook(io.BytesIO((await download.path()).read_bytes()))
    text = " ".join(
        str(cell.value) for sheet in workbook for row in sheet.iter_rows() for cell in row
        if cell.value is not None
    )  # fmt: skip
    assert "Loket Disdukcapil MPP" in text and "IGD RSUD Mimika" in text
    year = local_today().year
    response = await page.request.get(console.url(f"/unduh/laporan?periode={year}&format=json"))
    document = json.loads(await response.body())
    assert response.status == 200 and document["regency"]["respondents"] == 16
    async with console.storage.reading() as tx:
        done = [e.target for e in await audit_entries(tx) if e.action == "downloads.report"]
    assert f"skm-report-{year}.json" in done and any(t.endswith(".xlsx") for t in done)


async def test_bad_input_is_answered_beside_its_field(console: Console, chromium: Browser) -> None:
    page = await console.page(chromium, 390)
    await console.sign_in(page, await console.admin_link())
    response = await page.goto(
        console.url("/unduh/laporan?periode=kemarin&format=doc&opd=x&unit=nowhere")
    )
    assert response is not None and response.status == 400
    assert await page.locator("#periode-error").inner_text() == (
        "Periode tidak dikenali. Pilih dari daftar."
    )
    assert "XLSX, PDF, CSV" in await page.locator("#format-error").inner_text()
    assert "OPD tidak dikenal" in await page.locator("#opd-error").inner_text()
    assert "Unit tidak dikenal" in await page.locator("#unit-error").inner_text()
    await shoot(page, "downloads-bad-input")


async def test_a_head_gets_their_opd_only(console: Console, chromium: Browser) -> None:
    await add_responses(console.storage)
    page = await console.page(chromium, 390)
    await console.sign_in(page, await console.login_link(HEAD_CHAT))
    ok = await page.request.get(console.url("/unduh/laporan?opd=disdukcapil&format=csv"))
    assert ok.status == 200 and "Loket Disdukcapil MPP" in await ok.text()
    assert "IGD RSUD" not in await ok.text()
    for path in ("/unduh/laporan?opd=rsud&format=csv", "/unduh/laporan?format=csv",
                 "/unduh/poster/rsud-igd"):  # fmt: skip
        refused = await page.request.get(console.url(path))
        assert refused.status == 403, path
        assert "Akses ditolak" in await refused.text()
    one_unit = await page.request.get(console.url("/unduh/laporan?unit=dukcapil-mpp&format=csv"))
    assert one_unit.status == 200 and "Kantor Disdukcapil" not in await one_unit.text()
    other = await page.request.get(console.url("/unduh/laporan?unit=rsud-igd&format=csv"))
    assert other.status == 403
    poster = await page.request.get(console.url("/unduh/poster/dukcapil-mpp"))
    assert poster.status == 200 and (await poster.body()).startswith(b"%PDF")


async def test_a_head_downloads_the_full_laporan_skm_of_their_opd(
    console: Console, chromium: Browser
) -> None:
    await add_responses(console.storage)
    page = await console.page(chromium, 390)
    await console.sign_in(page, await console.login_link(HEAD_CHAT))
    await page.goto(console.url("/unduh"))
    await page.select_option("#format", "lengkap")
    async with page.expect_download() as waiting:
        await page.get_by_role("button", name="Unduh laporan").click()
    download = await waiting.value
    assert download.suggested_filename.startswith("laporan-skm-")
    assert download.suggested_filename.endswith("-disdukcapil.pdf")
    reader = PdfReader(io.BytesIO((await download.path()).read_bytes()))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "DAFTAR ISI" in text and "VI. Rekapitulasi Pengaduan" in text
    assert "Loket Disdukcapil MPP" in text and "IGD RSUD Mimika" not in text
    assert "Pengaduan diterima: 1" in text  # the overdue complaint about the MPP desk
