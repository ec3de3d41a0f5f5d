"""The figures pages in Chromium: the admin's overview, a head's OPD and unit pages, and the
refusals when a head asks for another OPD."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from reports.build import build_report
from reports.model import ReportRequest, id_decimal
from reports.period import quarter_of
from storage.web import audit_entries
from tests.support.browser import HEAD_CHAT, WIDTHS, Console, no_horizontal_scroll, shoot
from tests.support.figures import add_responses, local_today

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_admin_overview_shows_every_opd_as_the_report_does(
    console: Console, chromium: Browser, width: int
) -> None:
    await add_responses(console.storage)
    page = await console.page(chromium, width)
    await console.sign_in(page, await console.admin_link())
    assert page.url.endswith("/konsol/ikhtisar")  # the admin's first page
    await shoot(page, "admin-overview")
    assert await no_horizontal_scroll(page)
    report = await build_report(
        console.storage,
        ReportRequest(quarter_of(local_today().date()), suggestion_limit=0),
        organisation="x",
    )
    mpp = next(u for u in report.units if u.code == "dukcapil-mpp")
    row = page.get_by_role("row").filter(has_text="Loket Disdukcapil MPP").first
    assert id_decimal(mpp.ikm) in await row.inner_text()
    recap = page.get_by_role("row").filter(has_text="Loket Disdukcapil MPP").last
    assert (await recap.locator("td").all_inner_texts())[1:3] == ["1", "1"]  # received, overdue
    assert await page.get_by_role("heading", name="RSUD Mimika").count() == 1
    kantor = page.get_by_role("row").filter(has_text="Kantor Disdukcapil")
    assert "Belum ada responden bulan ini" in await kantor.inner_text()
    await page.select_option("#periode", label=f"Tahun {local_today().year} ({local_today().year})")
    await page.get_by_role("button", name="Tampilkan").click()
    await page.wait_for_load_state()
    assert f"periode={local_today().year}" in page.url
    await page.get_by_role("link", name="RSUD Mimika", exact=True).click()  # any OPD
    await page.wait_for_load_state()
    assert page.url.split("?")[0].endswith("/konsol/opd/rsud")
    assert await page.get_by_role("link", name="IGD RSUD Mimika").count() == 1


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_head_reads_their_opd_and_a_unit_but_no_other_opd(
    console: Console, chromium: Browser, width: int
) -> None:
    await add_responses(console.storage)
    page = await console.page(chromium, width)
    await console.sign_in(page, await console.login_link(HEAD_CHAT))
    assert page.url.endswith("/konsol/opd/disdukcapil")
    chart = page.locator("img.chart")
    await chart.wait_for()
    assert await chart.evaluate("img => img.complete && img.naturalWidth > 0")
    await shoot(page, "head-opd")
    assert await page.get_by_role("heading", name="RSUD Mimika").count() == 0
    await page.get_by_role("link", name="Loket Disdukcapil MPP").click()
    await page.wait_for_load_state()
    await shoot(page, "head-unit")
    assert await no_horizontal_scroll(page)
    text = await page.inner_text("main")
    for code in ("U1", "U5", "U9"):
        assert code in text
    assert "081298765432" not in text and "[disamarkan]" in text
    assert "Unsur terlemah" in text
    complaints = page.get_by_role("table").filter(has_text="Lewat tenggat")
    assert (await complaints.locator("td").all_inner_texts())[:2] == ["1", "1"]  # one, overdue
    await page.goto(page.url + "&lang=en" if "?" in page.url else page.url + "?lang=en")
    english = await page.inner_text("main")
    assert "Scores per element (NRR)" in english and "62.50" in english  # the reader's way
    await shoot(page, "head-unit-en")
    await page.goto(page.url.split("?")[0] + "?lang=id")
    for path in ("/opd/rsud", "/unit/rsud-igd", "/ikhtisar", "/audit"):
        response = await page.goto(console.url(path))
        assert response is not None and response.status == 403, path
        assert await page.get_by_role("heading", name="Akses ditolak").count() == 1
    await shoot(page, "refused")
    response = await page.goto(console.url("/opd/disdukcapil?periode=2026-Q9"))
    assert response is not None and response.status == 400
    async with console.storage.reading() as tx:
        refused = {e.target for e in await audit_entries(tx) if e.outcome == "refused"}
    assert {"/konsol/opd/rsud", "/konsol/unit/rsud-igd"} <= refused
