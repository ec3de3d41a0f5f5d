"""The public results pages over HTTP (no browser): no sign-in, figures only from the minimum
respondents, cacheable, never a suggestion's text; and the poster's link to them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from handlers.web import build_console
from reports.build import build_report
from reports.model import ReportRequest, id_decimal
from reports.period import parse_period
from reports.poster import poster_content, poster_figure, poster_links, results_link
from storage import Storage
from tests.support.directory import load_small_directory
from tests.support.web_public import CONFIG, Client, add_responses

Q3 = parse_period("2026-Q3")


@pytest_asyncio.fixture
async def client(
    sqlite_storage: Storage,
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    await load_small_directory(sqlite_storage)
    await add_responses(sqlite_storage)
    app = web.Application()
    app.add_subapp(CONFIG.prefix, build_console(sqlite_storage, CONFIG))
    async with TestClient(TestServer(app)) as client:
        yield client


async def mpp_q3(storage: Storage) -> str:
    report = await build_report(storage, ReportRequest(Q3, unit_codes=("dukcapil-mpp",)),
                                organisation="x")  # fmt: skip
    [unit] = report.units
    return id_decimal(unit.ikm)


async def test_the_list_needs_no_sign_in_and_shows_figures_from_the_minimum(
    client: Client, sqlite_storage: Storage
) -> None:
    response = await client.get("/konsol/hasil")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    html = await response.text()
    assert Q3.title_id in html
    assert "Loket Disdukcapil MPP" in html
    assert await mpp_q3(sqlite_storage) in html
    assert 'href="/konsol/hasil/unit/dukcapil-mpp"' in html
    igd = html.split("IGD RSUD Mimika", 1)[1].split("</tr>", 1)[0]
    assert "belum cukup responden" in igd and "grade-" not in igd
    assert "Uji KIR" not in html  # an inactive OPD's unit with no response is not listed


async def test_a_unit_page_has_the_trend_and_the_nine_elements(
    client: Client, sqlite_storage: Storage
) -> None:
    response = await client.get("/konsol/hasil/unit/dukcapil-mpp?lang=en")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    html = await response.text()
    assert "Scores of the nine service elements" in html
    for k in range(1, 10):
        assert f"<td>U{k} · " in html
    assert (await mpp_q3(sqlite_storage)).replace(",", ".") in html
    assert "100.00" in html  # 2026-Q2: five respondents, all 4: IKM 100
    assert "<h2>2026-Q3</h2>" in html and "Triwulan" not in html  # periods the reader's way
    assert "Sign out" not in html and "nav" not in html.split("<main", 1)[0].lower()


async def test_no_suggestion_text_ever_reaches_a_public_page(
    client: Client,
) -> None:
    for path in ("/konsol/hasil", "/konsol/hasil/unit/dukcapil-mpp",
                 "/konsol/hasil/unit/dukcapil-mpp?lang=en"):  # fmt: skip
        html = await (await client.get(path)).text()
        assert "rahasia-unik" not in html
        assert "081298765432" not in html and "Budi" not in html


async def test_a_unit_below_the_minimum_shows_no_grade(
    client: Client,
) -> None:
    html = await (await client.get("/konsol/hasil/unit/rsud-igd")).text()
    main = html.split("<main", 1)[1]
    assert "minimal 5 responden" in main and "2 responden" in main
    assert "grade-" not in main and "NRR" not in main


async def test_an_unknown_unit_is_a_clean_404(
    client: Client,
) -> None:
    response = await client.get("/konsol/hasil/unit/tidak-ada")
    assert response.status == 404
    assert response.headers["Cache-Control"] == "no-store"
    assert "Halaman tidak ditemukan" in await response.text()


def test_the_poster_prints_the_unit_page_when_a_public_address_is_set() -> None:
    url = results_link("https://skm.example.go.id/konsol/", "dukcapil-mpp")
    assert url == "https://skm.example.go.id/konsol/hasil/unit/dukcapil-mpp"
    content = poster_content(organisation="Pemkab", unit_code="dukcapil-mpp", unit_name="MPP",
                             opd_name="Disdukcapil", telegram_bot_username="skm_bot",
                             whatsapp_number=None, result="-", results_url=url)  # fmt: skip
    assert ("results", url) in poster_links(content)
    figure, *_ = poster_figure(content)
    assert any(url in text.get_text() for text in figure.texts)
    plain = poster_content(organisation="Pemkab", unit_code="dukcapil-mpp", unit_name="MPP",
                           opd_name="Disdukcapil", telegram_bot_username="skm_bot",
                           whatsapp_number=None, result="-")  # fmt: skip
    figure, *_ = poster_figure(plain)
    assert not any("/hasil/" in text.get_text() for text in figure.texts)
