"""The public results pages in Chromium, at a phone's and a desktop's width: no sign-in, a unit
below the minimum shows no grade, and the page fits the phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser

from reports.build import build_report
from reports.model import ReportRequest, id_decimal
from reports.period import Period, latest_complete_quarter
from storage import Storage
from storage.reports import ReportStore
from tests.support.browser import WIDTHS, Console, no_horizontal_scroll, shoot
from tests.support.web_public import quarter_rows

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

SUGGESTION = "Petugas loket ramah, terima kasih (saran-rahasia-42)"


def quarter() -> Period:
    local = (datetime.now(UTC) + timedelta(hours=9)).date()  # Asia/Jayapura, the tests' zone
    return latest_complete_quarter(local)


async def add_responses(storage: Storage) -> None:
    """The latest complete quarter: 30 in the MPP desk (the minimum), 3 in the IGD."""
    rows = quarter_rows(quarter().start, 30, 3, SUGGESTION, low=2)
    await ReportStore(storage).insert_paper_responses(rows, datetime.now(UTC))


@pytest.mark.parametrize("width", WIDTHS)
async def test_anyone_reads_the_results_and_a_unit_page(
    console: Console, chromium: Browser, width: int
) -> None:
    await add_responses(console.storage)
    report = await build_report(console.storage,
                                ReportRequest(quarter(), unit_codes=("dukcapil-mpp",)),
                                organisation="x")  # fmt: skip
    [mpp] = report.units
    page = await console.page(chromium, width)
    response = await page.goto(console.url("/hasil"))
    assert response is not None and response.status == 200
    assert "public" in response.headers["cache-control"]
    await shoot(page, "public-list")
    assert await no_horizontal_scroll(page)
    row = page.get_by_role("row").filter(has_text="Loket Disdukcapil MPP")
    assert id_decimal(mpp.ikm) in await row.inner_text()
    igd = await page.get_by_role("row").filter(has_text="IGD RSUD Mimika").inner_text()
    assert "belum cukup responden" in igd
    assert "saran-rahasia-42" not in await page.content()

    await row.get_by_role("link").click()
    await page.wait_for_load_state()
    assert page.url.endswith("/konsol/hasil/unit/dukcapil-mpp")
    await shoot(page, "public-unit")
    assert await no_horizontal_scroll(page)
    text = await page.locator("main").inner_text()
    assert id_decimal(mpp.ikm) in text and "30 responden" in text
    assert "U9" in text and "saran-rahasia-42" not in await page.content()

    await page.get_by_role("link", name="English").click()
    await page.wait_for_load_state()
    await shoot(page, "public-unit-en")
    assert "Scores of the nine service elements" in await page.locator("main").inner_text()


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_unit_below_the_minimum_shows_no_grade(
    console: Console, chromium: Browser, width: int
) -> None:
    await add_responses(console.storage)
    page = await console.page(chromium, width)
    await page.goto(console.url("/hasil/unit/rsud-igd"))
    await shoot(page, "public-unit-below-minimum")
    main = page.locator("main")
    assert "minimal 30 responden" in await main.inner_text()
    assert await main.locator(".grade").count() == 0
    assert await no_horizontal_scroll(page)
